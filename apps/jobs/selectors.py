"""ARCHITECTURE §2, status: the reads behind the status API."""

from apps.core.models import Tenant
from apps.jobs.models import Job


def job_list(*, tenant: Tenant, kind: str | None = None, state: str | None = None):
    queryset = Job.objects.filter(tenant=tenant)
    if kind:
        queryset = queryset.filter(kind=kind)
    if state:
        queryset = queryset.filter(state=state)
    return queryset.order_by("-created_at", "-id")
