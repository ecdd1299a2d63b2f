"""Enrollment and attendance reads (ARCHITECTURE §6 domains/enrollment)."""

from django.db.models import QuerySet

from apps.core.models import Tenant
from apps.domains.enrollment.models import Attendance, Enrollment


def enrollment_list(*, tenant: Tenant) -> QuerySet[Enrollment]:
    return Enrollment.objects.for_tenant(tenant).select_related("student", "lecture")


def attendance_list(*, tenant: Tenant) -> QuerySet[Attendance]:
    return Attendance.objects.for_tenant(tenant).select_related("enrollment__student")
