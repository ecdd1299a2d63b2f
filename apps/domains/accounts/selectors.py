"""Reads of parent accounts (issue 14, docs/parents.md) for staff: parents with their children and open invite."""

from django.db.models import Prefetch, QuerySet

from apps.core.models import Tenant
from apps.domains.accounts.models import Parent, ParentInvite, ParentStudent


def parent_list(*, tenant: Tenant | None) -> QuerySet[Parent]:
    """Every parent of the tenant with their user, their links (children who left included, marked by the
    student's deleted_at) and their open invite: three queries for any page."""
    links = ParentStudent.objects.select_related("student").order_by("student__name", "student_id")
    invites = ParentInvite.objects.filter(used_at__isnull=True, voided_at__isnull=True)
    return (Parent.objects.filter(tenant=tenant).select_related("user")
            .prefetch_related(Prefetch("links", queryset=links, to_attr="child_links"),
                              Prefetch("invites", queryset=invites, to_attr="open_invites"))
            .order_by("id"))
