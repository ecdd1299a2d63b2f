from datetime import date

import pytest

from apps.core.exceptions import DomainError, NotFoundError
from apps.core.models import Role
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.services import (
    SessionOrderTakenError,
    lecture_create,
    lecture_update,
    session_create,
    session_update,
)


def test_create_with_teacher_of_the_tenant(tenant, make_user):
    teacher = make_user(tenant, Role.TEACHER)

    lecture = lecture_create(tenant=tenant, title="수학 A반", teacher_id=teacher.id,
                             start_date=date(2026, 3, 2), end_date=date(2026, 6, 30))

    assert (lecture.tenant_id, lecture.teacher_id) == (tenant.id, teacher.id)


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT])
def test_foreign_or_non_staff_teacher_is_refused(tenant, other_tenant, make_user, role):
    # A teacher of another tenant, or a student account of this one, cannot teach the lecture
    teacher = make_user(other_tenant, Role.TEACHER) if role == Role.TEACHER else make_user(tenant, Role.STUDENT)

    with pytest.raises(NotFoundError) as caught:
        lecture_create(tenant=tenant, title="수학 A반", teacher_id=teacher.id)

    assert caught.value.code == "TEACHER_NOT_FOUND"
    assert Lecture.objects.count() == 0


def test_end_before_start_is_refused(tenant, make_lecture):
    lecture = make_lecture(tenant, start_date=date(2026, 3, 2))

    with pytest.raises(DomainError) as caught:
        lecture_update(lecture=lecture, data={"end_date": date(2026, 3, 1)})

    assert caught.value.code == "INVALID_DATE_RANGE"
    lecture.refresh_from_db()
    assert lecture.end_date is None


def test_session_order_defaults_to_after_the_last(tenant, make_lecture, make_session):
    lecture = make_lecture(tenant)
    make_session(lecture, order=4)

    session = session_create(lecture=lecture, title="5회차")

    assert (session.order, session.tenant_id) == (5, tenant.id)


def test_session_order_taken_is_409(tenant, make_lecture, make_session):
    lecture = make_lecture(tenant)
    make_session(lecture, order=1)
    second = make_session(lecture, order=2)

    with pytest.raises(SessionOrderTakenError) as caught:
        session_update(session=second, data={"order": 1})

    assert caught.value.status_code == 409
    assert sorted(Session.objects.values_list("order", flat=True)) == [1, 2]
