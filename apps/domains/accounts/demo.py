"""The demo parent of `make run` (`manage.py seed_demo`, docs/parents.md): the parent of the demo student, with a
password already set, so the parent side can be tried without going through an invite text. Idempotent: the
account is looked up by its phone, linked to the live students with that parent phone, and its password reset."""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from apps.core.models import Role, Tenant, User
from apps.core.parent_login import parent_username
from apps.domains.accounts.models import Parent, ParentStudent
from apps.domains.students.models import Student

PARENT_PASSWORD = "parent-demo-1234"  # noqa: S105 (demo only; printed by seed_demo)


@dataclass(frozen=True)
class DemoParentLogin:
    academy: str
    phone: str
    children: list[str]


@transaction.atomic
def demo_parent_seed(*, tenant: Tenant, student: Student | None) -> DemoParentLogin | None:
    """The parent of `student` (by their parent phone), activated with PARENT_PASSWORD; None without a student or
    when the username is taken by someone else."""
    if student is None or student.deleted_at is not None:
        return None
    phone = student.parent_phone
    parent = Parent.objects.filter(tenant=tenant, phone=phone).select_related("user").first()
    if parent is None:
        user, _ = User.objects.get_or_create(username=parent_username(tenant_code=tenant.code, phone=phone),
                                             defaults={"tenant": tenant, "role": Role.PARENT})
        if user.tenant_id != tenant.id or user.role != Role.PARENT:
            return None
        parent = Parent.objects.create(tenant=tenant, user=user, phone=phone, name=f"{student.name} 학부모")
    children = list(Student.objects.filter(tenant=tenant, parent_phone=phone, deleted_at__isnull=True)
                    .order_by("id"))
    ParentStudent.objects.bulk_create([ParentStudent(tenant=tenant, parent=parent, student=child)
                                       for child in children], ignore_conflicts=True)
    user = parent.user
    # Reset like the other demo logins, so the printed login always works.
    user.password, user.is_active = make_password(PARENT_PASSWORD), True
    user.save(update_fields=["password", "is_active"])
    if parent.activated_at is None:
        parent.activated_at = timezone.now()
        parent.save(update_fields=["activated_at"])
    return DemoParentLogin(academy=tenant.code, phone=phone, children=[child.name for child in children])
