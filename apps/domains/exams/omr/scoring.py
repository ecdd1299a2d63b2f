"""A read OMR page → a sheet outcome (ARCHITECTURE §3 Exams and OMR): who it belongs to, what it scores, and whether a
teacher must look first.

Pure: no Django import. ``decide_sheet`` turns a ``grading.PageReading`` into GRADED, REVIEW (with reasons) or
UNREADABLE; ``score_answers`` scores marks against a key and is also what a regrade after a key change or a teacher's
correction calls. Scores are Decimals (3.3 points × 3 is 9.9, not 9.899999…).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .states import MarkState, PageStatus

if TYPE_CHECKING:
    from .grading import PageReading

# A void question (key entry null, e.g. annulled for a printing error) counts as right for every sheet: the usual
# 전원 정답 처리. Flip to False to drop its points for everyone instead.
VOID_QUESTION_IS_CORRECT = True

REASON_UNKNOWN_STUDENT = "UNKNOWN_STUDENT"
REASON_AMBIGUOUS_STUDENT = "AMBIGUOUS_STUDENT"


class SheetStatus(StrEnum):
    GRADED = "GRADED"
    REVIEW = "REVIEW"
    UNREADABLE = "UNREADABLE"


@dataclass(frozen=True)
class QuestionOutcome:
    number: int
    marked: list[int]  # the marks read (two or more: wrong, as on every Korean OMR card)
    correct: bool | None  # None while the mark is uncertain: a teacher decides
    points: Decimal  # points earned


@dataclass
class SheetOutcome:
    status: SheetStatus
    reasons: list[str] = field(default_factory=list)
    identifier: str | None = None
    student: Any = None
    # Earned so far; final only when GRADED (uncertain questions earn nothing until a teacher resolves them).
    score: Decimal = Decimal(0)
    correct_count: int = 0
    questions: list[QuestionOutcome] = field(default_factory=list)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("points must be numbers")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("points must be numbers")
    if not number.is_finite() or number < 0:
        raise ValueError("points must be finite and not negative")
    return number


def points_for(points: Any, number: int) -> Decimal:
    """The points of question ``number`` (1-based): one number for all, or a sequence with one per question."""
    if isinstance(points, Sequence) and not isinstance(points, str):
        return _decimal(points[number - 1])
    return _decimal(points)


def accepted_choices(answer_key: Sequence[Any], number: int) -> set[int] | None:
    """The right choices of question ``number``, or None for a void question."""
    entry = answer_key[number - 1]
    if entry is None:
        return None
    if isinstance(entry, (list, tuple, set, frozenset)):
        return {int(c) for c in entry}
    return {int(entry)}


def is_correct(marked: Sequence[int], accepted: set[int] | None) -> bool:
    """Exactly one mark, and a right one; a blank or a double mark is wrong; a void question is as configured."""
    if accepted is None:
        return VOID_QUESTION_IS_CORRECT
    return len(marked) == 1 and marked[0] in accepted


def score_answers(
    marked_by_question: Mapping[int, Sequence[int] | None], answer_key: Sequence[Any], points: Any
) -> tuple[Decimal, int, list[QuestionOutcome]]:
    """Score marks {question number: choices marked, or None while uncertain} for every question of the key."""
    total = Decimal(0)
    right = 0
    outcomes: list[QuestionOutcome] = []
    for number in range(1, len(answer_key) + 1):
        marked = marked_by_question.get(number, [])
        if marked is None:
            outcomes.append(QuestionOutcome(number=number, marked=[], correct=None, points=Decimal(0)))
            continue
        marked = sorted(int(c) for c in marked)
        correct = is_correct(marked, accepted_choices(answer_key, number))
        earned = points_for(points, number) if correct else Decimal(0)
        total += earned
        right += int(correct)
        outcomes.append(QuestionOutcome(number=number, marked=marked, correct=correct, points=earned))
    return total, right, outcomes


def match_student(identifier: str | None, students_by_identifier: Mapping[str, Any]) -> tuple[Any, str | None]:
    """(student, None) when the identifier names exactly one student, else (None, reason). A value may be one student
    or a sequence of them (siblings sharing a parent's phone)."""
    if identifier is None:
        return None, None  # the identifier's own digit reasons already say why
    found = students_by_identifier.get(identifier)
    if found is None:
        return None, REASON_UNKNOWN_STUDENT
    if isinstance(found, (list, tuple, set, frozenset)):
        found = list(found)
        if not found:
            return None, REASON_UNKNOWN_STUDENT
        if len(found) > 1:
            return None, REASON_AMBIGUOUS_STUDENT
        return found[0], None
    return found, None


def decide_sheet(
    reading: PageReading, answer_key: Sequence[Any], points: Any, students_by_identifier: Mapping[str, Any]
) -> SheetOutcome:
    """GRADED only when nothing is uncertain: every identifier digit one mark, exactly one student, every question
    one mark / blank / multiple, good alignment. Otherwise REVIEW with every reason, or UNREADABLE."""
    if reading.status != PageStatus.READ:
        return SheetOutcome(status=SheetStatus.UNREADABLE, reasons=[reading.reason] if reading.reason else [])
    reasons = list(reading.review_reasons)
    identifier = reading.identifier_text
    student, student_reason = match_student(identifier, students_by_identifier)
    if student_reason:
        reasons.append(student_reason)

    marked: dict[int, list[int] | None] = {}
    for answer in reading.answers:
        marked[answer.number] = None if answer.state == MarkState.UNCERTAIN else list(answer.choices_marked)
    score, right, questions = score_answers(marked, answer_key, points)
    reasons = list(dict.fromkeys(reasons))
    return SheetOutcome(
        status=SheetStatus.REVIEW if reasons else SheetStatus.GRADED,
        reasons=reasons,
        identifier=identifier,
        student=student,
        score=score,
        correct_count=right,
        questions=questions,
    )
