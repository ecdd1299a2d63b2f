from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from apps.core.models import Role, User
from apps.core.phone import InvalidPhoneError
from apps.domains.enrollment.models import Attendance, Enrollment
from apps.domains.students import services
from apps.domains.students.grades import InvalidGradeError
from apps.domains.students.models import Student
from apps.domains.students.services import (
    StudentDuplicateError,
    StudentRestoreConflictError,
    student_create,
    student_hard_delete,
    student_restore,
    student_soft_delete,
    student_update,
)


def test_create_normalises_both_phones(tenant):
    student = student_create(tenant=tenant, name=" 김철수 ", parent_phone="+82 10-1234-5678", phone="010 9876 5432")

    student.refresh_from_db()
    assert (student.name, student.parent_phone, student.phone) == ("김철수", "01012345678", "01098765432")


def test_create_keeps_blank_optional_phone(tenant):
    student = student_create(tenant=tenant, name="김철수", parent_phone="01012345678", phone="")

    assert student.phone == ""


@pytest.mark.parametrize(("field", "kwargs"), [
    ("parent_phone", {"parent_phone": "02-123-4567"}),
    ("phone", {"parent_phone": "01012345678", "phone": "abc"}),
])
def test_create_refuses_invalid_phone_and_names_the_field(tenant, field, kwargs):
    with pytest.raises(InvalidPhoneError) as caught:
        student_create(tenant=tenant, name="김철수", **kwargs)

    assert caught.value.code == "INVALID_PHONE"
    assert caught.value.details == {"field": field}
    assert Student.objects.count() == 0


def test_create_refuses_a_live_twin_with_korean_message(tenant, make_student):
    make_student(tenant, name="김철수", parent_phone="01012345678")

    with pytest.raises(StudentDuplicateError) as caught:
        student_create(tenant=tenant, name="김철수", parent_phone="010-1234-5678")

    assert caught.value.code == "STUDENT_DUPLICATE"
    assert caught.value.status_code == 409
    assert caught.value.message == "같은 이름과 학부모 전화번호로 등록된 학생이 이미 있습니다."
    assert Student.objects.count() == 1


def test_constraint_refuses_a_twin_the_precheck_missed(tenant, make_student):
    # Given a twin committed by a concurrent request after the pre-check ran
    make_student(tenant, name="김철수", parent_phone="01012345678")

    with mock.patch.object(services, "student_live_twin_exists", return_value=False):
        with pytest.raises(StudentDuplicateError):
            student_create(tenant=tenant, name="김철수", parent_phone="01012345678")

    assert Student.objects.count() == 1


def test_deleted_twin_does_not_block_a_new_student(tenant, make_student):
    make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=timezone.now())

    student = student_create(tenant=tenant, name="김철수", parent_phone="01012345678")

    assert Student.objects.alive().get().id == student.id
    assert Student.objects.count() == 2


def test_twin_in_another_tenant_is_allowed(tenant, other_tenant, make_student):
    make_student(other_tenant, name="김철수", parent_phone="01012345678")

    student = student_create(tenant=tenant, name="김철수", parent_phone="01012345678")

    assert student.tenant_id == tenant.id


def test_update_into_a_live_twin_is_refused(tenant, make_student):
    make_student(tenant, name="김철수", parent_phone="01012345678")
    other = make_student(tenant, name="김영희", parent_phone="01012345678")

    with pytest.raises(StudentDuplicateError):
        student_update(student=other, data={"name": "김철수"})

    other.refresh_from_db()
    assert other.name == "김영희"


def test_update_normalises_phone(tenant, make_student):
    student = make_student(tenant, parent_phone="01011112222")

    student_update(student=student, data={"parent_phone": "010.3333.4444", "grade": 3})

    student.refresh_from_db()
    assert (student.parent_phone, student.grade) == ("01033334444", 3)


def test_soft_delete_keeps_the_row_and_the_first_deletion_time(tenant, make_student):
    first = timezone.now() - timedelta(days=3)
    student = make_student(tenant, deleted_at=first)
    live = make_student(tenant)

    student_soft_delete(student=student)
    student_soft_delete(student=live)

    student.refresh_from_db()
    live.refresh_from_db()
    assert student.deleted_at == first
    assert live.deleted_at is not None
    assert Student.objects.count() == 2


def test_restore_brings_the_student_back(tenant, make_student):
    student = make_student(tenant, deleted_at=timezone.now())

    student_restore(student=student)

    student.refresh_from_db()
    assert student.deleted_at is None


def test_restore_refused_when_a_live_twin_exists(tenant, make_student):
    deleted_at = timezone.now()
    deleted = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=deleted_at)
    make_student(tenant, name="김철수", parent_phone="01012345678")

    with pytest.raises(StudentRestoreConflictError) as caught:
        student_restore(student=deleted)

    assert caught.value.status_code == 409
    assert caught.value.code == "STUDENT_RESTORE_CONFLICT"
    deleted.refresh_from_db()
    assert deleted.deleted_at == deleted_at


def test_restore_race_is_refused_by_the_constraint(tenant, make_student):
    deleted = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=timezone.now())
    make_student(tenant, name="김철수", parent_phone="01012345678")

    with mock.patch.object(services, "student_live_twin_exists", return_value=False):
        with pytest.raises(StudentRestoreConflictError):
            student_restore(student=deleted)

    assert Student.objects.alive().count() == 1


def test_hard_delete_removes_dependents_and_student_login_only(tenant, make_student, make_user, make_lecture,
                                                                make_session, make_enrollment, make_attendance):
    # Given a student with a login, an enrollment and attendance, and another linked to a staff account
    login = make_user(tenant, Role.STUDENT)
    staff = make_user(tenant, Role.TEACHER)
    student = make_student(tenant, user=login)
    linked_staff = make_student(tenant, user=staff)
    lecture = make_lecture(tenant)
    enrollment = make_enrollment(lecture, student)
    make_attendance(make_session(lecture), enrollment)

    counts = student_hard_delete(student_ids=[student.id, linked_staff.id])

    assert counts["students.Student"] == 2
    assert counts["enrollment.Enrollment"] == 1
    assert counts["enrollment.Attendance"] == 1
    assert counts["core.User"] == 1
    assert not User.objects.filter(id=login.id).exists()
    assert User.objects.filter(id=staff.id).exists()
    assert Enrollment.objects.count() == 0
    assert Attendance.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_of_the_same_student_leave_exactly_one(make_tenant):
    # Given two requests that both pass the pre-check before either commits
    import threading

    from django.db import connection

    tenant = make_tenant("race")
    barrier = threading.Barrier(2)
    outcomes = []

    def passes_precheck(**kwargs):
        barrier.wait(timeout=10)
        return False

    def create():
        try:
            student_create(tenant=tenant, name="김철수", parent_phone="01012345678")
            outcomes.append("created")
        except StudentDuplicateError:
            outcomes.append("duplicate")
        finally:
            connection.close()

    with mock.patch.object(services, "student_live_twin_exists", side_effect=passes_precheck):
        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(outcomes) == ["created", "duplicate"]
    assert Student.objects.filter(tenant=tenant).count() == 1



@pytest.mark.parametrize(("school_type", "grade"), [("ELEMENTARY", 9), ("MIDDLE", 7), ("HIGH", 4), ("", 7)])
def test_create_refuses_a_grade_beyond_the_school_type(tenant, school_type, grade):
    with pytest.raises(InvalidGradeError) as caught:
        student_create(tenant=tenant, name="김철수", parent_phone="01012345678", school_type=school_type, grade=grade)

    assert caught.value.code == "INVALID_GRADE"
    assert Student.objects.count() == 0


def test_create_reads_a_notation_and_takes_its_school_type(tenant):
    student = student_create(tenant=tenant, name="김철수", parent_phone="01012345678", grade="중2")

    student.refresh_from_db()
    assert (student.school_type, student.grade, student.grade_starts_on) == ("MIDDLE", 2, None)


@time_machine.travel(datetime(2026, 12, 15, 10, tzinfo=UTC), tick=False)
def test_create_with_an_upcoming_grade_starts_it_on_the_coming_first_of_march(tenant):
    student = student_create(tenant=tenant, name="김철수", parent_phone="01012345678", grade="예비 고2")

    student.refresh_from_db()
    assert (student.school_type, student.grade, student.grade_starts_on) == ("HIGH", 2, date(2027, 3, 1))


def test_update_of_the_school_type_alone_is_checked_against_the_stored_grade(tenant, make_student):
    student = make_student(tenant, school_type="ELEMENTARY", grade=5)

    with pytest.raises(InvalidGradeError):
        student_update(student=student, data={"school_type": "MIDDLE"})

    student.refresh_from_db()
    assert (student.school_type, student.grade) == ("ELEMENTARY", 5)


def test_update_of_the_grade_alone_is_checked_against_the_stored_school_type(tenant, make_student):
    student = make_student(tenant, school_type="HIGH", grade=1)

    with pytest.raises(InvalidGradeError):
        student_update(student=student, data={"grade": 4})

    student.refresh_from_db()
    assert student.grade == 1


def test_update_to_a_plain_grade_ends_the_upcoming_one(tenant, make_student):
    student = make_student(tenant, school_type="HIGH", grade=2, grade_starts_on=date(2027, 3, 1))

    student_update(student=student, data={"grade": 1})

    student.refresh_from_db()
    assert (student.school_type, student.grade, student.grade_starts_on) == ("HIGH", 1, None)


def test_update_without_grade_fields_keeps_a_stored_grade_as_it_is(tenant, make_student):
    # A row written before the rule (the old API took any grade up to 12) can still get a memo.
    student = make_student(tenant, school_type="MIDDLE", grade=7)

    student_update(student=student, data={"memo": "상담 완료"})

    student.refresh_from_db()
    assert (student.grade, student.memo) == (7, "상담 완료")
