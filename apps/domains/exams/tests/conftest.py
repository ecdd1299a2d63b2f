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
