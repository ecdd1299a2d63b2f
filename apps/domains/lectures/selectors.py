"""Lecture and session reads (ARCHITECTURE §6 domains/lectures)."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.core.models import Tenant
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus
from apps.domains.lectures.models import Lecture, Session


def _count_per_lecture(queryset) -> Coalesce:
    # One correlated count per table: joining sessions and enrollments in one query would multiply their rows
    # (40 sessions x 300 students = 12,000 rows per lecture) before counting.
    counted = queryset.filter(lecture=OuterRef("pk")).order_by().values("lecture").annotate(n=Count("id"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), Value(0))


def lecture_list(*, tenant: Tenant) -> QuerySet[Lecture]:
    return (
        Lecture.objects.for_tenant(tenant)
        .select_related("teacher")
        .annotate(
            session_count=_count_per_lecture(Session.objects.all()),
            active_enrollment_count=_count_per_lecture(Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)),
        )
        .order_by("id")
    )


def session_list(*, tenant: Tenant) -> QuerySet[Session]:
    return Session.objects.for_tenant(tenant)
