"""Student reads (ARCHITECTURE §6 domains/students): live and deleted lists, duplicate groups, purge candidates."""

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter

from django.db.models import Exists, OuterRef, QuerySet

from apps.core.models import Tenant
from apps.domains.students.models import Student


def student_list(*, tenant: Tenant) -> QuerySet[Student]:
    # The login is shown with every student (its username and state): joined, not one query per student.
    return Student.objects.for_tenant(tenant).alive().select_related("user")


def student_deleted_list(*, tenant: Tenant) -> QuerySet[Student]:
    return Student.objects.for_tenant(tenant).deleted().select_related("user")


def student_number_taken(*, tenant_id: int, number: str, exclude_id: int | None = None) -> bool:
    """Whether a live student of the tenant other than `exclude_id` holds `number` (never for a blank number)."""
    if not number:
        return False
    holders = Student.objects.alive().filter(tenant_id=tenant_id, student_number=number)
    if exclude_id is not None:
        holders = holders.exclude(id=exclude_id)
    return holders.exists()


@dataclass
class DeletedDuplicateGroup:
    """Deleted students sharing (tenant, name, parent_phone); `students` is ordered oldest deletion first."""

    tenant_id: int
    name: str
    parent_phone: str
    students: list[Student] = field(default_factory=list)

    @property
    def keep(self) -> Student:
        return self.students[0]

    @property
    def remove(self) -> list[Student]:
        return self.students[1:]


def student_deleted_duplicates(*, tenant: Tenant | None = None, lock: bool = False) -> list[DeletedDuplicateGroup]:
    """Groups of soft-deleted students that share tenant, name and parent phone ("중복 검사").

    With `lock`, the member rows are locked (SELECT ... FOR UPDATE) so a concurrent fix or restore waits.
    """
    deleted = Student.objects.deleted()
    if tenant is not None:
        deleted = deleted.filter(tenant=tenant)
    # One query for every member of every group (an EXISTS, not a window: Postgres refuses FOR UPDATE with windows).
    twin = Student.objects.deleted().filter(
        tenant_id=OuterRef("tenant_id"), name=OuterRef("name"), parent_phone=OuterRef("parent_phone")
    ).exclude(id=OuterRef("id"))
    members = deleted.filter(Exists(twin)).order_by("tenant_id", "name", "parent_phone", "deleted_at", "id")
    if lock:
        members = members.select_for_update()
    identity = attrgetter("tenant_id", "name", "parent_phone")
    return [
        DeletedDuplicateGroup(*key, list(students))
        for key, students in groupby(members, key=identity)
    ]


def student_purge_candidates(*, cutoff: datetime) -> QuerySet[Student]:
    """Students soft-deleted strictly before `cutoff`, every tenant."""
    return Student.objects.filter(deleted_at__lt=cutoff).order_by("deleted_at", "id")


def student_live_twin_exists(*, tenant_id: int, name: str, parent_phone: str, exclude_id: int | None = None) -> bool:
    twins = Student.objects.alive().filter(tenant_id=tenant_id, name=name, parent_phone=parent_phone)
    if exclude_id is not None:
        twins = twins.exclude(id=exclude_id)
    return twins.exists()
