import pytest
from django.utils import timezone

from apps.core.exceptions import DomainError, NotFoundError
from apps.domains.enrollment.models import Attendance, Enrollment
from apps.domains.enrollment.services import (
    EnrollmentExistsError,
    attendance_bulk_update,
    enrollment_create,
    enrollment_update_status,
)


def test_create_enrollment(tenant, make_lecture, make_student):
    lecture, student = make_lecture(tenant), make_student(tenant)

    enrollment = enrollment_create(tenant=tenant, lecture_id=lecture.id, student_id=student.id)

    assert (enrollment.tenant_id, enrollment.status) == (tenant.id, "ACTIVE")


def test_duplicate_enrollment_is_409(tenant, make_lecture, make_student, make_enrollment):
    lecture, student = make_lecture(tenant), make_student(tenant)
    make_enrollment(lecture, student)

    with pytest.raises(EnrollmentExistsError) as caught:
        enrollment_create(tenant=tenant, lecture_id=lecture.id, student_id=student.id)

    assert caught.value.code == "ENROLLMENT_EXISTS"
    assert Enrollment.objects.count() == 1


@pytest.mark.parametrize("foreign", ["lecture", "student", "deleted_student"])
def test_foreign_or_deleted_reference_is_not_found(tenant, other_tenant, make_lecture, make_student, foreign):
    lecture = make_lecture(other_tenant if foreign == "lecture" else tenant)
    student = make_student(
        other_tenant if foreign == "student" else tenant,
        deleted_at=timezone.now() if foreign == "deleted_student" else None,
    )

    with pytest.raises(NotFoundError) as caught:
        enrollment_create(tenant=tenant, lecture_id=lecture.id, student_id=student.id)

    assert caught.value.code == ("LECTURE_NOT_FOUND" if foreign == "lecture" else "STUDENT_NOT_FOUND")
    assert Enrollment.objects.count() == 0


def test_update_status(tenant, make_lecture, make_student, make_enrollment):
    enrollment = make_enrollment(make_lecture(tenant), make_student(tenant))

    enrollment_update_status(enrollment=enrollment, status="PAUSED")

    enrollment.refresh_from_db()
    assert enrollment.status == "PAUSED"


@pytest.fixture
def classroom(tenant, make_lecture, make_session, make_student, make_enrollment):
    lecture = make_lecture(tenant)
    session = make_session(lecture)
    enrollments = [make_enrollment(lecture, make_student(tenant)) for _ in range(2)]
    return session, enrollments


def test_attendance_bulk_update_upserts(classroom):
    session, (first, second) = classroom

    attendance_bulk_update(session=session, items=[{"enrollment_id": first.id, "status": "PRESENT"},
                                                   {"enrollment_id": second.id, "status": "ABSENT"}])
    rows = attendance_bulk_update(session=session, items=[{"enrollment_id": second.id, "status": "LATE",
                                                           "memo": "10분"}])

    assert [(r.enrollment_id, r.status, r.memo) for r in rows] == [(second.id, "LATE", "10분")]
    assert sorted(Attendance.objects.values_list("enrollment_id", "status")) == [(first.id, "PRESENT"),
                                                                                   (second.id, "LATE")]


def test_attendance_with_an_enrollment_of_another_lecture_refuses_the_whole_batch(
        classroom, tenant, make_lecture, make_student, make_enrollment):
    session, (first, _) = classroom
    elsewhere = make_enrollment(make_lecture(tenant), make_student(tenant))

    with pytest.raises(NotFoundError) as caught:
        attendance_bulk_update(session=session, items=[{"enrollment_id": first.id, "status": "PRESENT"},
                                                       {"enrollment_id": elsewhere.id, "status": "PRESENT"}])

    assert caught.value.details == {"enrollment_ids": [elsewhere.id]}
    assert Attendance.objects.count() == 0


def test_attendance_repeated_enrollment_is_refused(classroom):
    session, (first, _) = classroom

    with pytest.raises(DomainError) as caught:
        attendance_bulk_update(session=session, items=[{"enrollment_id": first.id, "status": "PRESENT"},
                                                       {"enrollment_id": first.id, "status": "ABSENT"}])

    assert caught.value.code == "DUPLICATE_ENROLLMENT_ID"
    assert Attendance.objects.count() == 0
