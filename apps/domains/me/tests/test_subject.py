"""Whose data a student or parent asks for (apps/domains/me/subject.py)."""

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from apps.core.exceptions import DomainError, ForbiddenError, NotFoundError
from apps.core.models import Role, User
from apps.domains.accounts.models import ParentStudent
from apps.domains.me.subject import me_subject

pytestmark = pytest.mark.django_db


def _request(user, query=""):
    request = Request(RequestFactory().get(f"/api/v1/me/lectures/{query}"))
    request.user = User.objects.get(pk=user.pk)  # as authentication loads it: student and parent joined
    return request


@pytest.fixture
def parent_of(make_parent):
    def make(*students):
        return make_parent(students[0].tenant, *students).user
    return make


def test_a_student_is_their_own_subject(tenant, make_user, make_student):
    user = make_user(tenant, role=Role.STUDENT, username="s1")
    student = make_student(tenant, user=user)
    subject = me_subject(_request(user))
    assert (subject.student.id, subject.is_parent) == (student.id, False)


def test_a_student_naming_another_student_gets_404(tenant, make_user, make_student):
    user = make_user(tenant, role=Role.STUDENT, username="s1")
    make_student(tenant, user=user)
    other = make_student(tenant, name="다른학생")
    with pytest.raises(NotFoundError):
        me_subject(_request(user, f"?student={other.id}"))


def test_a_deleted_student_has_no_subject(tenant, make_user, make_student):
    from django.utils import timezone

    user = make_user(tenant, role=Role.STUDENT, username="s1")
    make_student(tenant, user=user, deleted_at=timezone.now())
    with pytest.raises(NotFoundError) as raised:
        me_subject(_request(user))
    assert raised.value.code == "ME_STUDENT_NOT_FOUND"


def test_a_parent_of_one_child_needs_no_parameter(tenant, make_student, parent_of):
    child = make_student(tenant)
    subject = me_subject(_request(parent_of(child)))
    assert subject.student.id == child.id and subject.is_parent


def test_a_parent_of_two_must_choose_and_sees_only_their_own(tenant, make_student, parent_of):
    first, second = make_student(tenant, name="첫째"), make_student(tenant, name="둘째")
    stranger = make_student(tenant, name="남의아이")
    user = parent_of(first, second)
    with pytest.raises(DomainError) as raised:
        me_subject(_request(user))
    assert raised.value.code == "ME_STUDENT_REQUIRED"
    assert me_subject(_request(user, f"?student={second.id}")).student.id == second.id
    for bad in (stranger.id, "abc", "-1", "9" * 30):
        with pytest.raises(NotFoundError):
            me_subject(_request(user, f"?student={bad}"))


def test_a_child_who_left_disappears_from_the_parents_view(tenant, make_student, parent_of):
    from django.utils import timezone

    first, second = make_student(tenant, name="첫째"), make_student(tenant, name="둘째")
    user = parent_of(first, second)
    second.deleted_at = timezone.now()
    second.save(update_fields=["deleted_at"])
    assert me_subject(_request(user)).student.id == first.id
    with pytest.raises(NotFoundError):
        me_subject(_request(user, f"?student={second.id}"))
    assert ParentStudent.objects.filter(student=second).exists()  # the history stays


def test_staff_have_no_me(tenant, make_user):
    with pytest.raises(ForbiddenError) as raised:
        me_subject(_request(make_user(tenant, role=Role.TEACHER, username="t1")))
    assert raised.value.code == "ME_STUDENTS_AND_PARENTS_ONLY"
