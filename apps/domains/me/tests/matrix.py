"""A reusable permission matrix for `/api/v1/me/…` endpoints (issue 14: "permission matrix for every me endpoint").

`me_world` builds, in one academy, a student with a login, a parent account linked to that child only, another
parent linked only to another child, a staff member, and a student of another academy; `me_caller(world, who)`
gives an API client authenticated the way a real request is (a JWT, so the user is loaded as authentication loads
it). Use it with `CALLERS` and `expected_status`:

    @pytest.mark.parametrize("who", CALLERS)
    def test_matrix(me_world, who):
        client, query = me_caller(me_world, who)
        response = client.get(f"/api/v1/me/videos/{query}")
        assert response.status_code == expected_status(who)

The fixture is registered for apps/domains/me/tests/ by its conftest.py.
The parents helper builds the real invite flow; these rows are written directly (Parent, ParentStudent).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role, Tenant, User
from apps.domains.accounts.tests.support import parent_with_children
from apps.domains.students.models import Student

PARENT_PHONE = "01055556666"
OTHER_PARENT_PHONE = "01077778888"

# Who calls, and how (the query string names the subject child where a parent must or may).
CALLERS = [
    "student",               # the child's own login, no ?student
    "student_naming_self",   # ?student=<own id>
    "parent",                # the child's parent, no ?student (they have one child)
    "parent_naming_child",   # ?student=<the child>
    "other_parent",          # a parent of another child of the same academy, ?student=<the child>
    "staff",                 # a teacher of the academy
    "foreign_student",       # a student of another academy, their own (empty) data
    "foreign_naming_child",  # a student of another academy, ?student=<the child>
    "anonymous",
]
# The callers that see the child's data, and must see the same data.
SEES_CHILD = ("student", "student_naming_self", "parent", "parent_naming_child")


def expected_status(who: str) -> int:
    if who == "anonymous":
        return 401
    if who == "staff":
        return 403
    if who in ("other_parent", "foreign_naming_child"):
        return 404
    return 200


@dataclass
class MeWorld:
    tenant: Tenant
    other_tenant: Tenant
    student: Student
    student_user: User
    parent_user: User
    other_child: Student
    other_parent_user: User
    staff_user: User
    foreign_student: Student
    foreign_user: User


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def make_parent_user(tenant: Tenant, *children: Student, phone: str, name: str = "") -> User:
    return parent_with_children(tenant, *children, phone=phone, name=name).user


def make_student_user(tenant: Tenant, student: Student) -> User:
    user = User.objects.create_user(username=f"{tenant.code}-{student.id}", password="x" * 12, tenant=tenant,
                                    role=Role.STUDENT)
    student.user = user
    student.save(update_fields=["user"])
    return user


@pytest.fixture
def me_world(tenant, other_tenant, make_student, make_user) -> MeWorld:
    student = make_student(tenant, name="김민준", parent_phone=PARENT_PHONE, school="한빛중", grade=2)
    other_child = make_student(tenant, name="이서연", parent_phone=OTHER_PARENT_PHONE)
    foreign_student = make_student(other_tenant, name="박지호")
    return MeWorld(
        tenant=tenant, other_tenant=other_tenant, student=student,
        student_user=make_student_user(tenant, student),
        parent_user=make_parent_user(tenant, student, phone=PARENT_PHONE, name="김부모"),
        other_child=other_child,
        other_parent_user=make_parent_user(tenant, other_child, phone=OTHER_PARENT_PHONE),
        staff_user=make_user(tenant, role=Role.TEACHER, username="teacher1"),
        foreign_student=foreign_student, foreign_user=make_student_user(other_tenant, foreign_student),
    )


def me_caller(world: MeWorld, who: str) -> tuple[APIClient, str]:
    """(client, query string starting with "?" or "") for one row of CALLERS."""
    child = f"student={world.student.id}"
    users = {
        "student": (world.student_user, ""), "student_naming_self": (world.student_user, child),
        "parent": (world.parent_user, ""), "parent_naming_child": (world.parent_user, child),
        "other_parent": (world.other_parent_user, child), "staff": (world.staff_user, ""),
        "foreign_student": (world.foreign_user, ""), "foreign_naming_child": (world.foreign_user, child),
    }
    if who == "anonymous":
        return APIClient(), ""
    user, query = users[who]
    return token_client(user), (f"?{query}" if query else "")


def with_query(url: str, query: str) -> str:
    """`url` with the caller's query added to any it has."""
    if not query:
        return url
    return f"{url}&{query[1:]}" if "?" in url else f"{url}{query}"
