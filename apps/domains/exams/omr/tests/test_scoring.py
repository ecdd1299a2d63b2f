"""Scoring a read page: keys with several accepted choices and void questions, decimal points, students, statuses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.domains.exams.omr import grading, scoring
from apps.domains.exams.omr.grading import DigitReading, MarkState, PageReading, PageStatus, QuestionReading
from apps.domains.exams.omr.scoring import SheetStatus, decide_sheet, score_answers


def _reading(answers: list[tuple[MarkState, list[int]]], identifier: str = "12345678", reasons=()) -> PageReading:
    digits = [DigitReading(column=i, value=int(d), state=MarkState.ONE, fills=[]) for i, d in enumerate(identifier)]
    questions = [QuestionReading(number=n, choices_marked=m, state=s, fills=[]) for n, (s, m) in enumerate(answers, 1)]
    return PageReading(status=PageStatus.READ, alignment_quality=1.0, identifier=digits, answers=questions,
                       review_reasons=list(reasons))


ONE, BLANK, MULTIPLE, UNCERTAIN = MarkState.ONE, MarkState.BLANK, MarkState.MULTIPLE, MarkState.UNCERTAIN


def test_decimal_points_add_up_exactly():
    reading = _reading([(ONE, [1]), (ONE, [2]), (ONE, [3])])
    outcome = decide_sheet(reading, [1, 2, 3], 3.3, {"12345678": 7})
    assert outcome.status == SheetStatus.GRADED
    assert outcome.score == Decimal("9.9")
    assert outcome.student == 7


def test_per_question_points_several_accepted_choices_and_a_void_question():
    reading = _reading([(ONE, [2]), (ONE, [4]), (BLANK, []), (MULTIPLE, [1, 2]), (ONE, [5])])
    key = [[1, 2], 4, None, 1, 3]
    outcome = decide_sheet(reading, key, [2, "3.5", 4, 5, 1], {"12345678": 7})
    assert [q.correct for q in outcome.questions] == [True, True, scoring.VOID_QUESTION_IS_CORRECT, False, False]
    assert outcome.score == Decimal("9.5")
    assert outcome.correct_count == 3


def test_an_uncertain_mark_is_neither_right_nor_wrong_and_sends_the_sheet_to_review():
    reading = _reading([(ONE, [1]), (UNCERTAIN, [])], reasons=[grading.REASON_AMBIGUOUS_MARK])
    outcome = decide_sheet(reading, [1, 2], 1, {"12345678": 7})
    assert outcome.status == SheetStatus.REVIEW
    assert outcome.reasons == [grading.REASON_AMBIGUOUS_MARK]
    assert outcome.questions[1].correct is None
    assert outcome.score == Decimal(1)


@pytest.mark.parametrize(
    ("students", "status", "student", "reasons"),
    [
        ({"12345678": 7}, SheetStatus.GRADED, 7, []),
        ({"12345678": [7]}, SheetStatus.GRADED, 7, []),
        ({"12345678": [7, 8]}, SheetStatus.REVIEW, None, [scoring.REASON_AMBIGUOUS_STUDENT]),
        ({"12345678": []}, SheetStatus.REVIEW, None, [scoring.REASON_UNKNOWN_STUDENT]),
        ({}, SheetStatus.REVIEW, None, [scoring.REASON_UNKNOWN_STUDENT]),
    ],
)
def test_exactly_one_student(students, status, student, reasons):
    outcome = decide_sheet(_reading([(ONE, [1])]), [1], 1, students)
    assert (outcome.status, outcome.student, outcome.reasons) == (status, student, reasons)


def test_an_unreadable_page_stays_unreadable():
    reading = PageReading(status=PageStatus.UNREADABLE, reason=grading.UNREADABLE_NO_MARKERS)
    outcome = decide_sheet(reading, [1], 1, {})
    assert (outcome.status, outcome.reasons, outcome.score) == (SheetStatus.UNREADABLE, ["MARKERS_NOT_FOUND"], 0)


def test_score_answers_is_what_a_regrade_calls():
    score, right, questions = score_answers({1: [3], 2: [1, 4], 3: []}, [3, 4, 2], "2.5")
    assert (score, right) == (Decimal("2.5"), 1)
    assert [q.correct for q in questions] == [True, False, False]


@pytest.mark.parametrize("points", [-1, "abc", float("nan"), True, None])
def test_bad_points_are_refused(points):
    with pytest.raises(ValueError):
        score_answers({1: [1]}, [1], points)
