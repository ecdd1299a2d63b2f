"""Lecture and session reads (ARCHITECTURE §6 domains/lectures)."""

from django.db.models import Count, Q, QuerySet

from apps.core.models import Tenant
from apps.domains.lectures.models import Lecture, Session


def lecture_list(*, tenant: Tenant) -> QuerySet[Lecture]:
    return (
        Lecture.objects.for_tenant(tenant)
        .select_related("teacher")
        .annotate(
            session_count=Count("sessions", distinct=True),
            active_enrollment_count=Count("enrollments", filter=Q(enrollments__status="ACTIVE"), distinct=True),
        )
        # Meta.ordering is dropped from aggregate queries; pagination needs a stable order.
        .order_by("id")
    )


def session_list(*, tenant: Tenant) -> QuerySet[Session]:
    return Session.objects.for_tenant(tenant)
