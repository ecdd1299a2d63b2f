from datetime import date

import pytest
from django.db.models import ProtectedError

from apps.core.exceptions import DomainError, NotFoundError
from apps.core.models import Role
from apps.domains.enrollment.models import Enrollment, SessionEnrollment
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.selectors import LectureArchivedError, lecture_get, lecture_scope
from apps.domains.lectures.services import (
    LectureHasHistoryError,
    SessionOrderTakenError,
    lecture_archive,
    lecture_create,
    lecture_purge,
    lecture_update,
    session_create,
    session_update,
)
from apps.domains.video.models import Video


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


# ---------------------------------------------------------------------------
# Archive and purge (docs/decisions/0005)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dependent", ["session", "enrollment", "video"])
def test_a_stray_lecture_delete_is_refused_by_the_database_while_records_hang_off_it(
    tenant, make_lecture, make_session, make_student, make_enrollment, dependent
):
    lecture = make_lecture(tenant)
    if dependent == "session":
        make_session(lecture)
    elif dependent == "enrollment":
        make_enrollment(lecture, make_student(tenant))
    else:
        Video.objects.create(tenant=tenant, lecture=lecture, title="1강", filename="a.mp4", safe_filename="a.mp4",
                             size=10, content_type="video/mp4")

    with pytest.raises(ProtectedError):
        lecture.delete()

    assert Lecture.objects.filter(id=lecture.id).exists()
    assert (Session.objects.count(), Enrollment.objects.count(), Video.objects.count()) == (
        int(dependent == "session"), int(dependent == "enrollment"), int(dependent == "video"))


def test_lecture_scope_refuses_a_session_of_an_archived_lecture_unless_reading(tenant, make_lecture, make_session):
    lecture = make_lecture(tenant)
    session = make_session(lecture)
    lecture_archive(lecture=lecture)

    with pytest.raises(LectureArchivedError) as caught:
        lecture_scope(tenant=tenant, lecture_id=None, session_id=session.id)
    read_lecture, read_session = lecture_scope(tenant=tenant, lecture_id=lecture.id, session_id=session.id,
                                               archived_ok=True)

    assert (caught.value.code, caught.value.details) == ("LECTURE_ARCHIVED", {"lecture_id": lecture.id})
    assert (read_lecture.id, read_session.id) == (lecture.id, session.id)


def test_purge_counts_a_session_enrollment_as_history(tenant, make_lecture, make_session, make_student,
                                                      make_enrollment):
    lecture, other = make_lecture(tenant), make_lecture(tenant, title="영어")
    session = make_session(lecture)
    enrollment = make_enrollment(other, make_student(tenant))
    SessionEnrollment.objects.create(tenant=tenant, session=session, enrollment=enrollment)
    lecture_archive(lecture=lecture)

    with pytest.raises(LectureHasHistoryError) as caught:
        lecture_purge(lecture=lecture)

    assert caught.value.details == {"lecture_id": lecture.id, "enrollments": 0, "attendance": 0,
                                    "sessions_with_records": 1, "videos": 0}
    assert (Lecture.objects.filter(id=lecture.id).count(), Session.objects.count()) == (1, 1)


def test_a_purged_lecture_id_is_not_found_for_later_writes(tenant, make_lecture):
    lecture = make_lecture(tenant)
    lecture_archive(lecture=lecture)
    lecture_purge(lecture=lecture)

    with pytest.raises(NotFoundError) as caught:
        lecture_get(tenant=tenant, lecture_id=lecture.id)

    assert caught.value.code == "LECTURE_NOT_FOUND"
