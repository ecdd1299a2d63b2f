"""Periodic tasks of the enrollment domain, run by `run_scheduler` (apps/jobs/scheduler.py)."""

from datetime import timedelta

from django.conf import settings


def purge_expired_exports() -> int:
    """What `manage.py purge_expired_exports` does with its defaults; returns how many exports it deleted."""
    from apps.domains.enrollment.excel.services import excel_exports_purge

    return len(excel_exports_purge(older_than=timedelta(hours=settings.EXCEL_EXPORT_RETENTION_HOURS)))
