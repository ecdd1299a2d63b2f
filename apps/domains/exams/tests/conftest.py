import datetime

import pytest


@pytest.fixture
def make_exam(db):
    from apps.domains.exams.models import Exam

    def make(lecture, title: str = "3월 단원평가", question_count: int = 5, choice_count: int = 5, **fields) -> Exam:
        fields.setdefault("date", datetime.date(2026, 3, 14))
        fields.setdefault("answer_key", [1, 2, 3, 4, 5][:question_count] + [1] * max(0, question_count - 5))
        return Exam.objects.create(tenant_id=lecture.tenant_id, lecture=lecture, title=title,
                                   question_count=question_count, choice_count=choice_count, **fields)

    return make


# ---------------------------------------------------------------------------------------------------- scans
from apps.jobs.tests.conftest import fake_queues  # noqa: E402, F401

ANSWER_KEY = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
PARENT_PHONES = {"kim": "01011112222", "lee": "01033334444", "park": "01055556666"}


@pytest.fixture
def scan_class(tenant, make_lecture, make_student, make_enrollment, make_exam):
    """An OPEN 10-question exam of a lecture with three students; two more share Park's parent phone elsewhere."""
    from django.utils import timezone

    from apps.domains.exams.models import ExamState

    lecture = make_lecture(tenant)
    students = {}
    for name, phone in PARENT_PHONES.items():
        students[name] = make_student(tenant, name=name, parent_phone=phone)
        make_enrollment(lecture, students[name])
    exam = make_exam(lecture, question_count=10, answer_key=ANSWER_KEY, points="10",
                     state=ExamState.OPEN, opened_at=timezone.now())
    return {"exam": exam, "lecture": lecture, "students": students}
