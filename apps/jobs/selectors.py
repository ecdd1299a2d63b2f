"""ARCHITECTURE §2, status: the reads behind the status API."""

from uuid import UUID

from django.db import connection
from django.db.models import Q

from apps.core.models import STAFF_ROLES, Tenant, User
from apps.jobs.models import Job, JobState


def job_get_for_staff(*, user_id: int, job_id: UUID, token_version: int = 0) -> Job | None:
    """One query: the job, only when `user_id` is an active staff member of the job's (active) tenant and the
    token's version is still the user's (apps/core/authentication.py).

    Written as SQL because it is the hottest read of the API (every admin polls it every second) and building the
    equivalent three-table ORM filter costs more than running it.
    """
    roles = sorted(STAFF_ROLES)
    # Only table names are formatted in; every value is a parameter.
    sql = (
        f"SELECT j.* FROM {Job._meta.db_table} j "  # noqa: S608
        f"JOIN {Tenant._meta.db_table} t ON t.id = j.tenant_id "
        f"JOIN {User._meta.db_table} u ON u.tenant_id = t.id "
        f"WHERE j.id = %s AND u.id = %s AND u.is_active AND t.is_active AND u.token_version = %s "
        f"AND u.role IN ({', '.join(['%s'] * len(roles))})"
    )
    db_job_id = Job._meta.pk.get_db_prep_value(job_id, connection)
    return next(iter(Job.objects.raw(sql, [db_job_id, user_id, token_version, *roles])), None)


def job_list(*, tenant: Tenant, kind: str | None = None, state: str | None = None):
    queryset = Job.objects.filter(tenant=tenant)
    if kind:
        queryset = queryset.filter(kind=kind)
    if state:
        queryset = queryset.filter(state=state)
    return queryset.order_by("-created_at", "-id")


def job_holding_slots(*, kind: str):
    """Jobs of `kind` holding a fair-share slot: RUNNING, or sent (an external id) and not yet claimed."""
    return Job.objects.filter(kind=kind).filter(
        Q(state=JobState.RUNNING) | (Q(state=JobState.QUEUED) & ~Q(external_id=""))
    )
