"""One way for tests (fixtures, the me matrix, the fuzz world) to make a parent login linked to children."""

from apps.core.models import Role, Tenant, User
from apps.domains.accounts.models import Parent, ParentStudent

PASSWORD = "pw-12345678"


def parent_with_children(tenant: Tenant, *students, phone: str = "01055556666", name: str = "",
                         password: str = PASSWORD) -> Parent:
    """An activated parent of `tenant` (username `<phone>@<code>`), linked to `students`."""
    user = User.objects.create_user(username=f"{phone}@{tenant.code}", password=password, tenant=tenant,
                                    role=Role.PARENT)
    parent = Parent.objects.create(tenant=tenant, user=user, phone=phone, name=name)
    ParentStudent.objects.bulk_create(ParentStudent(tenant=tenant, parent=parent, student=student)
                                      for student in students)
    return parent
