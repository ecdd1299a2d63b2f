"""ARCHITECTURE §4 AI, exams, retention: uploaded scans and aligned sheet images are minors' handwriting, kept
EXAM_SCAN_RETENTION_DAYS (one school year by default) after the upload and then deleted from the AI bucket.

The scan and sheet rows stay (scores, answers and fills are the results); `ExamScan.purged_at` records the deletion
and the sheets lose their image key. Everything under the scan's prefix goes, so an aligned image an attempt stored
before dying unrecorded goes too. Idempotent and bounded: at most `limit` scans per pass, oldest first; a scan whose
objects could not be deleted (a storage outage) is left for the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.integrations.storage import StorageError, get_storage

from .models import ExamScan, ExamSheet
from .scans import AI_BUCKET

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class PurgeResult:
    scans: int
    objects: int
    failed: int


def scan_prefix(scan: ExamScan) -> str:
    return f"exams/{scan.tenant_id}/{scan.exam_id}/{scan.id}/"


def exam_scans_purge_expired(*, now: datetime | None = None, limit: int = DEFAULT_LIMIT) -> PurgeResult:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXAM_SCAN_RETENTION_DAYS)
    scans = list(ExamScan.objects.filter(purged_at__isnull=True, created_at__lt=cutoff)
                 .order_by("created_at", "id")[:limit])
    storage = get_storage()
    purged = objects = failed = 0
    for scan in scans:
        try:
            objects += storage.delete_prefix(AI_BUCKET, scan_prefix(scan))
        except StorageError:
            failed += 1
            logger.warning("exam_scan_purge_failed", extra={"tenant_id": scan.tenant_id, "scan_id": scan.id})
            continue
        ExamSheet.objects.filter(scan_id=scan.id).exclude(aligned_image_key="").update(aligned_image_key="")
        purged += ExamScan.objects.filter(id=scan.id, purged_at__isnull=True).update(purged_at=now)
    if scans:
        logger.info("exam_scans_purged", extra={"scans": purged, "objects": objects, "failed": failed})
    return PurgeResult(scans=purged, objects=objects, failed=failed)


def purge_expired_exam_scans() -> PurgeResult:
    """The scheduler's daily task (apps.py): one bounded pass."""
    return exam_scans_purge_expired()
