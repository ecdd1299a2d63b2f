"""Operators' video functions (ARCHITECTURE §4 Video, "Operators"): the Batch reconcile scan, the system check,
and the guarded prefix delete. The management commands only parse arguments and print what these return.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.domains.video.models import TRANSCODE_KIND
from apps.jobs.models import Job
from apps.jobs.services import job_reconcile_batch, job_scan_stuck

RECENT = timedelta(hours=24)
# The shared scanner's actions on a RUNNING job whose heartbeat stopped; the others concern never-sent QUEUED jobs.
HEARTBEAT_ACTIONS = frozenset({"requeued", "requeued_waiting", "requeued_dispatch_failed", "dead", "would_requeue",
                               "would_kill"})
# Jobs held back by the kind's caps (VIDEO_MAX_RUNNING_*): waiting by design, not stuck.
WAITING_ACTIONS = frozenset({"waiting", "would_wait", "requeued_waiting"})


@dataclass(frozen=True)
class ScanLine:
    action: str
    job: Job
    reason: str = ""

    def render(self) -> str:
        job = self.job
        text = (f"{self.action} {job.id} tenant={job.tenant_id} state={job.state} "
                f"attempts={job.attempts}/{job.max_attempts} external_id={job.external_id or '-'}")
        return f"{text} reason={self.reason}" if self.reason else text


@dataclass
class VideoScanReport:
    lines: list[ScanLine] = field(default_factory=list)
    describe_error: str = ""  # Batch could not be asked: its part of the scan was skipped

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.lines:
            counts[line.action] = counts.get(line.action, 0) + 1
        return counts


def _get_batch():
    from apps.integrations.batch import get_batch

    return get_batch()


def video_jobs_scan(*, dry_run: bool = False, now: datetime | None = None,
                    grace_seconds: int | None = None) -> VideoScanReport:
    """Reconcile video_transcode jobs with the database's heartbeats and with Batch (what `run_scheduler` does for
    every kind on each pass, here for this kind alone).

    1. The shared scanner (`job_scan_stuck`): RUNNING with a stale heartbeat → requeue + re-submit, or DEAD when
       attempts are spent; QUEUED without a Batch id and due → submit.
    2. Batch (`job_reconcile_batch`): RUNNING or QUEUED rows whose Batch job FAILED, SUCCEEDED without the row being
       DONE, or is ABSENT → re-submit while attempts remain, else DEAD. Rows touched in the last `grace_seconds`
       are left alone (their container may be reporting right now).
    Every change is a guarded transition: safe next to running workers and a second scanner.
    """
    now = now or timezone.now()
    grace = settings.JOBS_DISPATCH_GRACE_SECONDS if grace_seconds is None else grace_seconds
    report = VideoScanReport()
    shared = job_scan_stuck(kind=TRANSCODE_KIND, dry_run=dry_run, now=now, dispatch_grace_seconds=grace)
    handled = set()
    for action, job in shared.actions:
        report.lines.append(ScanLine(action, job, "heartbeat" if action in HEARTBEAT_ACTIONS else "no batch id"))
        handled.add(job.id)
    lines, error = job_reconcile_batch(kind=TRANSCODE_KIND, dry_run=dry_run, now=now, grace_seconds=grace,
                                       exclude_ids=frozenset(handled))
    report.describe_error = error
    report.lines.extend(ScanLine(line.action, line.job, line.reason) for line in lines)
    return report


# ---------------------------------------------------------------------------
# validate_batch_video_system
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str

    def render(self) -> str:
        return f"{self.name}: {'OK' if self.ok else 'FAIL'} {self.reason}".rstrip()


def _check(name: str, fn) -> Check:
    from apps.integrations.aws_checks import AwsCheckError
    from apps.integrations.batch import BatchError

    try:
        ok, reason = fn()
    except (AwsCheckError, BatchError) as exc:
        return Check(name, False, str(exc))
    return Check(name, ok, reason)


def _db_check(now: datetime, scan: VideoScanReport) -> tuple[bool, str]:
    # The scan's undispatched part: a job the concurrency gate holds back waits by design ("would_wait"); one it
    # would let through ("would_redispatch") should have reached Batch.
    grace = settings.JOBS_DISPATCH_GRACE_SECONDS
    counts = scan.summary()
    lost, waiting = counts.get("would_redispatch", 0), counts.get("would_wait", 0)
    if lost:
        return False, f"{lost} QUEUED job(s) without a Batch id after {grace}s"
    recent = Job.objects.filter(kind=TRANSCODE_KIND, created_at__gte=now - RECENT).count()
    waiting_text = f", {waiting} waiting for a transcode slot" if waiting else ""
    return True, f"{recent} job(s) in 24h, every QUEUED one has a Batch id{waiting_text}"


def _aws_backend() -> bool:
    return settings.BATCH_BACKEND == "aws"


def _batch_check(now: datetime) -> tuple[bool, str]:
    from apps.integrations import aws_checks

    problems = []
    if _aws_backend():
        queue = aws_checks.batch_job_queue(settings.BATCH_JOB_QUEUE)
        if queue is None:
            problems.append(f"job queue {settings.BATCH_JOB_QUEUE} not found")
        elif queue.state != "ENABLED" or queue.status not in ("VALID", "UPDATING"):
            problems.append(f"job queue {queue.name} is {queue.state}/{queue.status}")
        if not aws_checks.batch_job_definition_active(settings.BATCH_JOB_DEFINITION):
            problems.append(f"job definition {settings.BATCH_JOB_DEFINITION} has no ACTIVE revision")
    ids = list(Job.objects.filter(kind=TRANSCODE_KIND, created_at__gte=now - RECENT).exclude(external_id="")
               .values_list("external_id", flat=True)[:100])
    described = _get_batch().describe(ids) if ids else {}
    statuses: dict[str, int] = {}
    for info in described.values():
        statuses[info.status] = statuses.get(info.status, 0) + 1
    seen = ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())) or "no recent jobs"
    if problems:
        return False, "; ".join(problems)
    where = f"queue {settings.BATCH_JOB_QUEUE} ENABLED, definition {settings.BATCH_JOB_DEFINITION} ACTIVE" \
        if _aws_backend() else f"backend {settings.BATCH_BACKEND}"
    return True, f"{where}; recent: {seen}"


def _log_check() -> tuple[bool, str]:
    from apps.integrations import aws_checks

    name = settings.VIDEO_BATCH_LOG_GROUP
    if not name:
        return False, "VIDEO_BATCH_LOG_GROUP is empty"
    if not _aws_backend():
        return True, f"backend {settings.BATCH_BACKEND}: logs in {settings.BATCH_LOCAL_LOG_DIR}"
    if aws_checks.log_group_exists(name):
        return True, f"log group {name} exists"
    return False, f"log group {name} not found"


def _stuck_check(report: VideoScanReport) -> tuple[bool, str]:
    if report.describe_error:
        return False, f"Batch describe failed: {report.describe_error}"
    stuck = [line for line in report.lines if line.action not in WAITING_ACTIONS]
    waiting = len(report.lines) - len(stuck)
    if stuck:
        counts: dict[str, int] = {}
        for line in stuck:
            counts[line.action] = counts.get(line.action, 0) + 1
        listed = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        return False, f"scan_stuck_video_jobs would act on {len(stuck)} job(s): {listed}"
    return True, "nothing stuck" + (f" ({waiting} waiting for a transcode slot)" if waiting else "")


def _iam_check() -> tuple[bool, str]:
    from apps.integrations import aws_checks

    if not _aws_backend():
        return True, f"backend {settings.BATCH_BACKEND}: no roles needed"
    missing = [name for name in (settings.VIDEO_BATCH_JOB_ROLE_NAME, settings.VIDEO_BATCH_EXECUTION_ROLE_NAME)
               if not aws_checks.iam_role_exists(name)]
    if missing:
        return False, f"role(s) not found: {', '.join(missing)}"
    return True, f"roles {settings.VIDEO_BATCH_JOB_ROLE_NAME}, {settings.VIDEO_BATCH_EXECUTION_ROLE_NAME} exist"


def video_system_validate(*, now: datetime | None = None) -> list[Check]:
    """The runbook's checks in order (queue → worker → scaling): DB, BATCH, LOG, STUCK, IAM."""
    now = now or timezone.now()
    # One dry scan serves both DB_CHECK (its QUEUED-without-Batch-id part) and STUCK_CHECK (all of it).
    scan = video_jobs_scan(dry_run=True, now=now)
    return [
        _check("DB_CHECK", lambda: _db_check(now, scan)),
        _check("BATCH_CHECK", lambda: _batch_check(now)),
        _check("LOG_CHECK", _log_check),
        _check("STUCK_CHECK", lambda: _stuck_check(scan)),
        _check("IAM_CHECK", _iam_check),
    ]


# ---------------------------------------------------------------------------
# delete_r2_legacy
# ---------------------------------------------------------------------------
# tenants/<id>/video/<raw|hls>[/...]: the shortest prefix that cannot reach beyond one tenant's one kind of object.
MIN_PREFIX_SEGMENTS = 4


class PrefixRefused(ValueError):
    pass


def storage_prefix_check(prefix: str) -> str:
    """Refuse prefixes that could delete more than one tenant's video tree; returns the prefix with a trailing '/'."""
    cleaned = (prefix or "").strip()
    segments = [s for s in cleaned.split("/") if s]
    if not cleaned or cleaned.startswith("/") or segments[:1] != ["tenants"]:
        raise PrefixRefused("prefix must start with tenants/")
    if len(segments) < MIN_PREFIX_SEGMENTS:
        raise PrefixRefused(f"prefix must have at least {MIN_PREFIX_SEGMENTS} segments "
                            "(tenants/<id>/video/<raw|hls>/...)")
    if not segments[1].isdigit() or any(s in (".", "..") for s in segments) or "//" in cleaned:
        raise PrefixRefused("prefix must be tenants/<numeric id>/... without empty, '.' or '..' segments")
    return "/".join(segments) + "/"


def storage_prefix_pages(*, bucket: str, prefix: str, page_size: int) -> Iterator[list]:
    """The objects under `prefix`, `page_size` at a time (a listing, so counting needs no extra memory)."""
    from apps.integrations.storage import get_storage

    page: list = []
    for info in get_storage().list_prefix(bucket, prefix):
        page.append(info)
        if len(page) >= page_size:
            yield page
            page = []
    if page:
        yield page


def storage_delete_page(*, bucket: str, keys: list[str]) -> int:
    from apps.integrations.storage import get_storage

    return get_storage().delete_keys(bucket, keys)
