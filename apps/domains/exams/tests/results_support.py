"""Fixtures for the review and results tests: an OPEN exam of five questions (2 points each, key 1-2-3-4-5), four
enrolled students and sheets written straight into the table as the grading job would leave them."""

import datetime

import pytest

from apps.domains.exams.models import Exam, ExamScan, ExamSheet, ExamState, SheetStatus

KEY = [1, 2, 3, 4, 5]
# name → answers; scores 10, 8, 8, 4 with points 2
ANSWERS = {
    "가윤": [[1], [2], [3], [4], [5]],
    "나래": [[1], [2], [3], [4], [1]],
    "다온": [[1], [2], [3], [1, 4], [5]],
    "라희": [[1], [2], [], [], []],
}


def state_of(choices):
    return "BLANK" if not choices else ("ONE" if len(choices) == 1 else "MULTIPLE")


def open_exam(lecture, **fields) -> Exam:
    fields = {"title": "3월 단원평가", "date": datetime.date(2026, 3, 14), "question_count": 5, "choice_count": 5,
              "answer_key": KEY, "points": "2", "state": ExamState.OPEN, **fields}
    return Exam.objects.create(tenant_id=lecture.tenant_id, lecture=lecture, **fields)


class SheetMaker:
    def __init__(self, exam: Exam):
        self.exam = exam
        self.scan = ExamScan.objects.create(tenant_id=exam.tenant_id, exam=exam, page_count=0)
        self.page = 0

    def __call__(self, student=None, answers=None, *, status=SheetStatus.GRADED, states=None, reasons=(),
                 **fields) -> ExamSheet:
        self.page += 1
        answers = answers if answers is not None else [[1]] * self.exam.question_count
        return ExamSheet.objects.create(
            tenant_id=self.exam.tenant_id, exam=self.exam, scan=self.scan, page_number=self.page, status=status,
            review_reasons=list(reasons), student=student, identifier="12345678" if student else "",
            answers=answers, states=states if states is not None else [state_of(a) for a in answers],
            fills={"q1": [0.9, 0.1, 0.1, 0.1, 0.1]}, alignment_quality=0.97, **fields)


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, title="고2 수학 A반")


@pytest.fixture
def students(tenant, lecture, make_student, make_enrollment):
    made = {}
    for name in ANSWERS:
        made[name] = make_student(tenant, name=name)
        make_enrollment(lecture, made[name])
    return made


@pytest.fixture
def exam(lecture):
    return open_exam(lecture)


@pytest.fixture
def make_sheet(exam):
    return SheetMaker(exam)


@pytest.fixture
def graded(students, make_sheet):
    """The four students' sheets, GRADED (scores as stored are stale on purpose: reads recompute)."""
    return {name: make_sheet(students[name], ANSWERS[name]) for name in ANSWERS}
