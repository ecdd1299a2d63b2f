"""Issue 14, `/api/v1/me/…`: whose data a student or parent is asking for (the "subject" student).

A student is their own subject. A parent names one of their children with `?student=<id>`, or may leave it out when
they have exactly one. A child who left the academy (soft-deleted) is no longer anyone's subject; their history
stays in the database. Staff have no "me": they use the staff API.

The user is loaded by authentication with its student and parent rows joined (apps/core/models.py UserManager), so a
student's subject costs no query and a parent's one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist

from apps.core.exceptions import DomainError, ForbiddenError, NotFoundError
from apps.core.models import Role
from apps.core.permissions import IsTenantMember
from apps.domains.students.models import Student

STUDENT_PARAM = "student"


@dataclass(frozen=True)
class Subject:
    student: Student
    # The parent's own row when a parent is asking (their messages about this child are theirs to see too).
    parent_id: int | None

    @property
    def is_parent(self) -> bool:
        return self.parent_id is not None


class IsStudentOrParent(IsTenantMember):
    """A tenant member whose role is student or parent; staff get 403 ME_STUDENTS_AND_PARENTS_ONLY."""

    message = "학생과 학부모 계정만 사용할 수 있습니다."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.role not in (Role.STUDENT, Role.PARENT):
            raise ForbiddenError("ME_STUDENTS_AND_PARENTS_ONLY", self.message)
        return True


def _reverse_one(user, name: str):
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:  # the user has no such row
        return None


def me_subject(request) -> Subject:
    """The student `request.user` may see, from `?student=` for a parent. Raises a DomainError otherwise.

    - student: their own live Student row (none, or deleted: 404 ME_STUDENT_NOT_FOUND);
    - parent: the child named by `?student=` among their live linked children (any other id: 404, the same answer
      as for an id that does not exist); without it, their only child, else 400 ME_STUDENT_REQUIRED.
    """
    user = request.user
    raw = request.query_params.get(STUDENT_PARAM) if hasattr(request, "query_params") else None
    if user.role == Role.STUDENT:
        student = _reverse_one(user, "student")
        if student is None or student.deleted_at is not None or student.tenant_id != user.tenant_id:
            raise NotFoundError("ME_STUDENT_NOT_FOUND", "이 계정에 연결된 학생이 없습니다.")
        if raw not in (None, "") and raw != str(student.id):
            raise NotFoundError()
        return Subject(student=student, parent_id=None)
    if user.role == Role.PARENT:
        parent = _reverse_one(user, "parent")
        if parent is None or parent.tenant_id != user.tenant_id:
            raise NotFoundError("ME_STUDENT_NOT_FOUND", "이 계정에 연결된 자녀가 없습니다.")
        children = Student.objects.filter(
            tenant_id=user.tenant_id, deleted_at__isnull=True, parent_links__parent_id=parent.id)
        if raw in (None, ""):
            found = list(children[:2])
            if len(found) == 1:
                return Subject(student=found[0], parent_id=parent.id)
            if not found:
                raise NotFoundError("ME_STUDENT_NOT_FOUND", "이 계정에 연결된 자녀가 없습니다.")
            raise DomainError("ME_STUDENT_REQUIRED", "자녀를 선택해 주세요 (`student` 파라미터).")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise NotFoundError()
        student = children.filter(id=int(raw)).first()
        if student is None:
            raise NotFoundError()
        return Subject(student=student, parent_id=parent.id)
    raise ForbiddenError("ME_STUDENTS_AND_PARENTS_ONLY", IsStudentOrParent.message)

