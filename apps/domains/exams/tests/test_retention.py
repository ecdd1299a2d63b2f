"""Retention of scans (minors' handwriting): files and aligned images deleted EXAM_SCAN_RETENTION_DAYS after the
upload by a daily, bounded, idempotent pass; the results stay."""

from datetime import timedelta

from django.utils import timezone

from apps.domains.exams import handlers
from apps.domains.exams.models import ExamScan, ExamSheet
from apps.domains.exams.retention import exam_scans_purge_expired
from apps.integrations.storage import StorageError
from apps.jobs.scheduler import all_periodic

from .scanning import png
from .test_handlers import KIM, RIGHT, Ctx, filled_sheet, submit


def _keys(storage, scan) -> list[str]:
    return sorted(info.key for info in storage.list_prefix("ai", f"exams/{scan.tenant_id}/{scan.exam_id}/{scan.id}/"))


def _graded_scan(scan_class, created_at):
    scan, job = submit(scan_class, ("a.png", png(filled_sheet(scan_class["exam"], identifier=KIM, answers=RIGHT))))
    handlers.omr_grading(job, Ctx())
    ExamScan.objects.filter(id=scan.id).update(created_at=created_at)
    return ExamScan.objects.get(id=scan.id)


def test_scans_past_the_retention_lose_their_files_and_images_and_keep_their_results(
        scan_class, local_storage, fake_queues, settings):
    settings.EXAM_SCAN_RETENTION_DAYS = 365
    now = timezone.now()
    old = _graded_scan(scan_class, now - timedelta(days=366))
    young = _graded_scan(scan_class, now - timedelta(days=364))
    assert len(_keys(local_storage, old)) == 2  # the upload and its aligned page

    result = exam_scans_purge_expired(now=now)

    assert (result.scans, result.objects, result.failed) == (1, 2, 0)
    assert _keys(local_storage, old) == [] and len(_keys(local_storage, young)) == 2
    old.refresh_from_db()
    assert old.purged_at == now
    sheet = ExamSheet.objects.get(scan=old)
    assert (sheet.status, sheet.aligned_image_key, sheet.score) == ("GRADED", "", 100)
    assert ExamSheet.objects.get(scan=young).aligned_image_key != ""

    # Idempotent: a second pass finds nothing; a day later the other scan goes too.
    assert exam_scans_purge_expired(now=now).scans == 0
    assert exam_scans_purge_expired(now=now + timedelta(days=2)).scans == 1
    assert _keys(local_storage, young) == []


def test_a_pass_is_bounded_and_a_storage_outage_leaves_the_scan_for_the_next_pass(
        scan_class, local_storage, fake_queues, monkeypatch):
    now = timezone.now()
    scans = [_graded_scan(scan_class, now - timedelta(days=400 + n)) for n in range(3)]

    assert exam_scans_purge_expired(now=now, limit=2).scans == 2
    assert ExamScan.objects.filter(purged_at__isnull=True).get().id == scans[0].id  # the oldest went first

    def down(bucket, prefix):
        raise StorageError("unreachable")

    monkeypatch.setattr(local_storage, "delete_prefix", down)
    result = exam_scans_purge_expired(now=now)
    assert (result.scans, result.failed) == (0, 1)
    assert ExamScan.objects.filter(purged_at__isnull=True).count() == 1
    monkeypatch.undo()


def test_the_purge_is_a_daily_periodic_task_of_the_scheduler():
    [task] = [task for task in all_periodic() if task.name == "purge_expired_exam_scans"]
    assert (task.function, task.every_seconds) == ("apps.domains.exams.retention.purge_expired_exam_scans", 86400)
