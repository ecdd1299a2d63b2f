"""ARCHITECTURE §2: creating, dispatching and moving jobs through their states.

Every transition is one guarded `UPDATE ... WHERE id = %s AND state IN (...)`: of two callers racing, exactly one
sees a row count of 1. Terminal states are never in a guard, so they never change again.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.core.models import Tenant
from apps.jobs import status_cache
from apps.jobs.errors import JobDispatchError, JobNotFoundError, JobStateConflictError, UnknownJobKindError
from apps.jobs.models import Job, JobBackend, JobState
from apps.jobs.registry import JobKindSpec, all_specs, get_spec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransitionResult:
    won: bool
    job: Job
    # True when the requested outcome was already recorded (a retried complete or fail): success, nothing changed.
    noop: bool = False


def _get_queues():
    from apps.integrations.queues import get_queues

    return get_queues()


def _get_batch():
    from apps.integrations.batch import get_batch

    return get_batch()


def _load(job_id: UUID | str) -> Job:
    try:
        return Job.objects.get(id=job_id)
    except (Job.DoesNotExist, ValueError):
        raise JobNotFoundError()


def _update(queryset, job_id: UUID | str, **changes) -> int:
    """Every write to a Job row goes through here: the status poll's cache must hear of each one."""
    changes.setdefault("updated_at", timezone.now())
    updated = queryset.update(**changes)
    if updated:
        status_cache.job_changed(job_id)
    return updated


def _guarded_update(job_id: UUID | str, from_states: tuple[str, ...], guard: Q | None = None, **changes) -> bool:
    queryset = Job.objects.filter(id=job_id, state__in=from_states)
    if guard is not None:
        queryset = queryset.filter(guard)
    return _update(queryset, job_id, **changes) == 1


def _attempt_guard(attempt: int | None) -> Q | None:
    # A worker names the attempt it claimed, so a worker whose lease was taken over cannot report for the new one.
    return Q(attempts=attempt) if attempt is not None else None


def _run_on_terminal(job: Job) -> None:
    try:
        spec = get_spec(job.kind)
        hook = spec.load_on_terminal()
    except UnknownJobKindError:
        return

    def call():
        if hook is not None:
            try:
                hook(job)
            except Exception:
                logger.exception("job_on_terminal_failed", extra={"job_id": str(job.id), "kind": job.kind})
        if spec.gated:
            # A slot just freed: start the waiting jobs now rather than at the next scheduler pass.
            job_dispatch_waiting(kind=job.kind)

    transaction.on_commit(call)


def _due(now: datetime) -> Q:
    return Q(not_before__isnull=True) | Q(not_before__lte=now)


def job_dispatch_waiting(*, kind: str, limit: int = 50) -> list[Job]:
    """Send a gated kind's waiting jobs (QUEUED, never sent, due), oldest first, as far as its caps allow.

    Every waiting job is asked, not only the oldest: a per-tenant cap may hold one academy's job back while
    another academy's may go.
    """
    sent = []
    waiting = (Job.objects.filter(_due(timezone.now()), kind=kind, state=JobState.QUEUED, external_id="")
               .order_by("created_at")[:limit])
    for job in waiting:
        try:
            if job_dispatch(job=job):
                sent.append(job)
        except JobDispatchError:
            logger.warning("job_dispatch_waiting_failed", extra={"job_id": str(job.id), "kind": kind})
            break
    return sent


# ---------------------------------------------------------------------------
# Creating and dispatching
# ---------------------------------------------------------------------------
def job_submit(
    *,
    tenant: Tenant,
    kind: str,
    payload: dict,
    created_by=None,
    idempotency_key: str | None = None,
    job_id: UUID | None = None,
    not_before: datetime | None = None,
) -> Job:
    """Create the job row and dispatch it once the row is committed.

    Deliberately not @transaction.atomic: called outside a transaction, the row commits at once and the dispatch
    runs right away, so a failure reaches the caller as JobDispatchError (503) with the job left QUEUED for the
    scanner. Called inside a transaction, the dispatch waits for the commit and a failure is only logged.
    A job with a future `not_before` (a scheduled send) stays QUEUED until the scheduler finds it due.
    """
    spec = get_spec(kind)
    if idempotency_key:
        existing = Job.objects.filter(tenant=tenant, kind=kind, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    fields = {
        "tenant": tenant,
        "kind": kind,
        "payload": payload,
        "created_by": created_by,
        "idempotency_key": idempotency_key or None,
        "max_attempts": spec.max_attempts,
        "not_before": not_before,
    }
    if job_id is not None:
        fields["id"] = job_id
    try:
        with transaction.atomic():
            job = Job.objects.create(**fields)
    except IntegrityError:
        if not idempotency_key:
            raise
        # Another request with the same key won the insert between the lookup and here.
        return Job.objects.get(tenant=tenant, kind=kind, idempotency_key=idempotency_key)

    if connection.in_atomic_block:
        _dispatch_after_commit(job)
    else:
        job_dispatch(job=job)
    return job


def _dispatch_quietly(job: Job) -> None:
    try:
        job_dispatch(job=job)
    except JobDispatchError:
        pass  # logged by job_dispatch; the scanner sends it later


def job_dispatch(*, job: Job) -> str:
    """Hand the job to its backend, carrying ids only; record backend, queue and external id.

    Returns "" when the job is not due yet (`not_before`) or its kind's caps or gate hold it back: the job stays
    QUEUED without external_id, nothing is logged as a failure, and the scheduler sends it once it may go.
    """
    spec: JobKindSpec = get_spec(job.kind)
    if job.not_before is not None and job.not_before > timezone.now():
        return ""
    # Serialised per kind: two callers that both read the job as waiting (the scheduler, a finishing job, a
    # release's own dispatch) send it once, and the caps' count and the send that takes a slot cannot interleave.
    with transaction.atomic():
        _lock_kind_dispatch(job.kind)
        if not Job.objects.filter(_due(timezone.now()), id=job.id, state=JobState.QUEUED, external_id="").exists():
            return ""
        if spec.gated and not job_slot_open(job=job, spec=spec):
            logger.debug("job_dispatch_gated", extra={"job_id": str(job.id), "kind": job.kind,
                                                      "tenant_id": job.tenant_id})
            return ""
        return _send(job, spec)


def job_slot_open(*, job: Job, spec: JobKindSpec) -> bool:
    """The kind's fair-share caps (per academy, overall), then its own gate, for one more job of `job`'s academy."""
    from apps.jobs.selectors import job_holding_slots

    per_tenant, overall = spec.running_caps()
    if per_tenant or overall:
        # Both counts in one query: the scheduler asks this for every waiting job of the kind on each pass.
        held = job_holding_slots(kind=job.kind).exclude(id=job.id).aggregate(
            academy=Count("id", filter=Q(tenant_id=job.tenant_id)), overall=Count("id"))
        if per_tenant and held["academy"] >= per_tenant:
            return False
        if overall and held["overall"] >= overall:
            return False
    gate = spec.load_dispatch_gate()
    return gate is None or bool(gate(job))


def _lock_kind_dispatch(kind: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jobs.dispatch_gate:{kind}"])


def _send(job: Job, spec: JobKindSpec) -> str:
    try:
        if spec.backend == "queue":
            # A routed kind (an AI tier, a route hook) picks the queue per job: the tenant's plan decides the tier.
            queue_name = getattr(settings, spec.queue_setting_for(job))
            body = {"job_id": str(job.id), "kind": job.kind, "tenant_id": job.tenant_id}
            external_id = _get_queues().send(queue_name, body)
            backend = JobBackend.QUEUE
        else:
            queue_name = settings.BATCH_JOB_QUEUE
            external_id = _get_batch().submit(job_name=f"{job.kind}-{job.id}", job_id=str(job.id))
            backend = JobBackend.BATCH
    except Exception:
        # Any failure to hand the job off is the same for the caller: it stays QUEUED and the scanner retries.
        logger.exception("job_dispatch_failed", extra={"job_id": str(job.id), "kind": job.kind,
                                                       "tenant_id": job.tenant_id})
        raise JobDispatchError()
    _update(Job.objects.filter(id=job.id), job.id, backend=backend, queue=queue_name, external_id=external_id)
    job.backend, job.queue, job.external_id = backend, queue_name, external_id
    logger.info("job_dispatched", extra={"job_id": str(job.id), "kind": job.kind, "tenant_id": job.tenant_id,
                                          "queue": queue_name, "external_id": external_id})
    return external_id


# ---------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------
def job_claim(*, job_id: UUID | str, now: datetime | None = None) -> TransitionResult:
    """QUEUED → RUNNING, or take over a RUNNING job whose heartbeat is older than its kind's limit.

    Counts an attempt and starts the heartbeat.
    """
    now = now or timezone.now()
    changes = {"state": JobState.RUNNING, "attempts": F("attempts") + 1, "started_at": now, "heartbeat_at": now,
               "progress": 0, "stage": "", "updated_at": now, "not_before": None}
    # A QUEUED job is claimed only once due: a stray earlier message cannot cut its backoff short.
    won = _guarded_update(job_id, (JobState.QUEUED,), _due(now), **changes) or _take_over_stale(job_id, now, changes)
    return TransitionResult(won=won, job=_load(job_id))


def _take_over_stale(job_id: UUID | str, now: datetime, changes: dict) -> bool:
    """Claims a RUNNING job whose worker died. Only this rarer path reads the row first: the limit is its kind's."""
    job = _load(job_id)
    if job.state != JobState.RUNNING:
        return False
    try:
        timeout = get_spec(job.kind).heartbeat_timeout
    except UnknownJobKindError:
        return False
    stale = Q(heartbeat_at__lt=now - timedelta(seconds=timeout), attempts__lt=F("max_attempts"))
    return _guarded_update(job_id, (JobState.RUNNING,), stale, **changes)


def job_heartbeat(*, job_id: UUID | str, attempt: int | None = None) -> TransitionResult:
    now = timezone.now()
    won = _guarded_update(job_id, (JobState.RUNNING,), _attempt_guard(attempt), heartbeat_at=now, updated_at=now)
    return TransitionResult(won=won, job=_load(job_id))


def job_progress(*, job_id: UUID | str, percent: int, stage: str = "", attempt: int | None = None) -> TransitionResult:
    if not 0 <= percent <= 100:
        raise ValueError("percent must be within 0..100")
    now = timezone.now()
    won = _guarded_update(
        job_id, (JobState.RUNNING,), _attempt_guard(attempt),
        progress=percent, stage=stage, heartbeat_at=now, updated_at=now,
    )
    return TransitionResult(won=won, job=_load(job_id))


def job_complete(*, job_id: UUID | str, result: dict, attempt: int | None = None) -> TransitionResult:
    """RUNNING → DONE. Completing a DONE job again with the same result succeeds without change."""
    now = timezone.now()
    won = _guarded_update(
        job_id, (JobState.RUNNING,), _attempt_guard(attempt),
        state=JobState.DONE, result=result, progress=100, error_code="", error_message="", error_details={},
        finished_at=now, heartbeat_at=now, updated_at=now,
    )
    job = _load(job_id)
    if won:
        _run_on_terminal(job)
        return TransitionResult(won=True, job=job)
    if job.state == JobState.DONE and job.result == result:
        return TransitionResult(won=True, job=job, noop=True)
    return TransitionResult(won=False, job=job)


# Codes of a retryable failure that is no fault of the job (the worker is going away): sent again without backoff.
WORKER_STOPPED_CODE = "WORKER_STOPPED"
NO_BACKOFF_CODES = frozenset({WORKER_STOPPED_CODE})


def _retry_delay(job_kind: str, code: str, attempt: int) -> float:
    if code in NO_BACKOFF_CODES:
        return 0.0
    try:
        return get_spec(job_kind).retry_delay(attempt)
    except UnknownJobKindError:
        from apps.jobs.registry import retry_delay

        return retry_delay(attempt)


def job_fail(
    *,
    job_id: UUID | str,
    code: str,
    message: str,
    retryable: bool = False,
    final: bool = False,
    attempt: int | None = None,
    details: dict | None = None,
) -> TransitionResult:
    """RUNNING → QUEUED (retryable, attempts left, not final), else → DEAD (retryable) or FAILED.

    `details` (what the code refers to, e.g. an import's per-row reasons) replaces those of an earlier attempt, so
    the error shown is always one report's code, message and details together.

    `Job.attempts` is the only retry authority: a requeued job gives its dispatch back (external_id "") and waits
    until `not_before` = now + its kind's backoff; the scheduler then sends it afresh (a new message or Batch job),
    so the worker deletes the message it holds. `final` ends a retryable failure DEAD at once (kept for callers that
    know no attempt can help).
    """
    now = timezone.now()
    guard = _attempt_guard(attempt)
    if retryable and not final:
        current = _load(job_id)
        delay = _retry_delay(current.kind, code, attempt if attempt is not None else current.attempts)
        requeue_guard = Q(attempts__lt=F("max_attempts")) & (guard or Q())
        if _guarded_update(
            job_id, (JobState.RUNNING,), requeue_guard,
            state=JobState.QUEUED, error_code=code, error_message=message, error_details=details or {},
            heartbeat_at=None, updated_at=now, external_id="", not_before=now + timedelta(seconds=delay),
        ):
            job = _load(job_id)
            if delay <= 0:
                _dispatch_after_commit(job)
            return TransitionResult(won=True, job=job)
        job = _load(job_id)
        if job.state == JobState.QUEUED and job.error_code == code and (attempt is None or job.attempts == attempt):
            # The same report again (its answer was lost on the way back): already requeued.
            return TransitionResult(won=True, job=job, noop=True)
    target = JobState.DEAD if retryable else JobState.FAILED
    won = _guarded_update(
        job_id, (JobState.RUNNING,), guard,
        state=target, error_code=code, error_message=message, error_details=details or {}, finished_at=now,
        heartbeat_at=None, updated_at=now,
    )
    job = _load(job_id)
    if won:
        _run_on_terminal(job)
        return TransitionResult(won=True, job=job)
    if job.state in (JobState.FAILED, JobState.DEAD) and job.error_code == code:
        return TransitionResult(won=True, job=job, noop=True)
    return TransitionResult(won=False, job=job)


def job_record_result(*, job_id: UUID | str, result: dict) -> bool:
    """Stores a RUNNING job's result before it completes, inside the caller's transaction, so the result commits
    with the rows it counts. False when the job has a result already or is no longer RUNNING."""
    return _guarded_update(job_id, (JobState.RUNNING,), Q(result__isnull=True), result=result)


def job_cancel(*, job_id: UUID | str) -> TransitionResult:
    """QUEUED|RUNNING → CANCELLED. A queue worker learns it at its next heartbeat (409); a Batch job is terminated."""
    now = timezone.now()
    won = _guarded_update(
        job_id, (JobState.QUEUED, JobState.RUNNING), None,
        state=JobState.CANCELLED, finished_at=now, heartbeat_at=None, updated_at=now,
    )
    job = _load(job_id)
    if won:
        if job.backend == JobBackend.BATCH and job.external_id:
            transaction.on_commit(lambda: _terminate_quietly(job))
        _run_on_terminal(job)
        return TransitionResult(won=True, job=job)
    if job.state == JobState.CANCELLED:
        return TransitionResult(won=True, job=job, noop=True)
    return TransitionResult(won=False, job=job)


def _same_dispatch(guard: Q, external_id: str | None) -> Q:
    # A caller acting on what the backend said about one dispatch names it, so a job re-sent since is left alone.
    return guard if external_id is None else guard & Q(external_id=external_id)


def job_requeue(*, job_id: UUID | str, stale_before: datetime, external_id: str | None = None) -> TransitionResult:
    """RUNNING → QUEUED when the heartbeat is older than `stale_before` and attempts remain."""
    won = _guarded_update(
        job_id, (JobState.RUNNING,),
        _same_dispatch(Q(heartbeat_at__lt=stale_before, attempts__lt=F("max_attempts")), external_id),
        state=JobState.QUEUED, heartbeat_at=None, external_id="",
    )
    return TransitionResult(won=won, job=_load(job_id))


def job_release_lost_dispatch(*, job_id: UUID | str, external_id: str) -> TransitionResult:
    """A QUEUED job whose dispatch died before any claim (a Batch container that never started) gives the dispatch
    back and is charged an attempt, so a backend that can never start it does not get it forever."""
    won = _guarded_update(job_id, (JobState.QUEUED,), Q(external_id=external_id) & ~Q(external_id=""),
                          attempts=F("attempts") + 1, external_id="")
    return TransitionResult(won=won, job=_load(job_id))


def job_mark_dead(
    *, job_id: UUID | str, code: str, message: str, stale_before: datetime | None = None,
    external_id: str | None = None,
) -> TransitionResult:
    """QUEUED|RUNNING → DEAD; with `stale_before`, only a RUNNING job whose heartbeat stopped before it; with
    `external_id`, only while the job is still on that dispatch."""
    now = timezone.now()
    if stale_before is not None:
        from_states, guard = (JobState.RUNNING,), Q(heartbeat_at__lt=stale_before)
    else:
        from_states, guard = (JobState.QUEUED, JobState.RUNNING), Q()
    guard = _same_dispatch(guard, external_id)
    won = _guarded_update(
        job_id, from_states, guard,
        state=JobState.DEAD, error_code=code, error_message=message, error_details={}, finished_at=now,
        heartbeat_at=None, updated_at=now,
    )
    job = _load(job_id)
    if won:
        _run_on_terminal(job)
    return TransitionResult(won=won, job=job)


def _terminate_quietly(job: Job) -> None:
    try:
        _get_batch().terminate(job.external_id, reason="작업이 취소되었습니다.")
    except Exception:
        # The container still finds the job CANCELLED at its next report and stops there.
        logger.exception("job_terminate_failed", extra={"job_id": str(job.id), "kind": job.kind})


def _dispatch_after_commit(job: Job) -> None:
    transaction.on_commit(lambda: _dispatch_quietly(job))


def raise_unless_won(outcome: TransitionResult) -> Job:
    if not outcome.won:
        raise JobStateConflictError(outcome.job.state)
    return outcome.job


# ---------------------------------------------------------------------------
# Scanner (one pass of run_scheduler, and the one-shot scan_stuck_jobs)
# ---------------------------------------------------------------------------
HEARTBEAT_TIMEOUT_CODE = "HEARTBEAT_TIMEOUT"
HEARTBEAT_TIMEOUT_MESSAGE = "작업이 응답하지 않아 중단되었습니다."
# Batch says the container is gone (or never existed) while the row still waits on it.
BATCH_GONE_STATUSES = frozenset({"FAILED", "SUCCEEDED", "ABSENT"})
BATCH_GONE_CODE = "BATCH_JOB_LOST"
BATCH_GONE_MESSAGE = "배치 작업이 끝났지만 완료 보고가 없어 중단되었습니다."
# The scheduler leaves a Batch row this long after its last change before believing "gone": a report the container
# sent just before it ended commits within it, and AWS Batch knows a job a few seconds after its submit.
BATCH_RECONCILE_GRACE_SECONDS = 10


@dataclass
class ScanReport:
    actions: list[tuple[str, Job]] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for name, _ in self.actions if name == action)


def _stale_after_seconds(spec: JobKindSpec) -> float:
    """How long after its last heartbeat the scanner acts on a RUNNING job of this kind.

    A queue job's message comes back within one hold window of its worker's death and the next receiver takes the
    job over; the scanner waits for that window and one long poll more, so it only steps in when no worker is
    taking messages (a requeue then sends a second message, which the claim's guards make harmless).
    """
    if spec.backend != "queue":
        return spec.heartbeat_timeout
    from apps.jobs.fleets import fleet_for_queue

    # A routed kind's queues all belong to one fleet (the registry checks each route's answer); the longest window of
    # them stands anyway.
    fleets = [fleet_for_queue(getattr(settings, name)) for name in spec.queue_settings()]
    window = max((fleet.visibility_window_seconds for fleet in fleets if fleet), default=0)
    return spec.heartbeat_timeout + window + settings.SQS_WAIT_SECONDS


# A job of a kind with time limits that ran past them (registry.JobKindSpec.lease_seconds / max_run_seconds).
INFERENCE_TIMEOUT_CODE = "INFERENCE_TIMEOUT"
INFERENCE_TIMEOUT_MESSAGE = "처리 시간 제한을 넘어 작업을 중단했습니다. 그때까지 처리한 결과는 남아 있습니다."


def _end_overrunning(spec: JobKindSpec, *, now: datetime, dry_run: bool, report: ScanReport) -> None:
    """FAILED `INFERENCE_TIMEOUT` for RUNNING jobs of the kind claimed longer ago than its run cap: the worker stops
    its handler at the (shorter) lease, so a job still running here has a handler that did not stop or a worker that
    cannot report. Its worker's next heartbeat is refused, and it lets its message go (apps/worker/runtime.py)."""
    _lease, cap = spec.time_limits()
    if not cap:
        return
    overrunning = Job.objects.filter(kind=spec.kind, state=JobState.RUNNING,
                                     started_at__lt=now - timedelta(seconds=cap))
    for job in overrunning.order_by("started_at"):
        if dry_run:
            report.actions.append(("would_time_out", job))
            continue
        # The attempt guard: an attempt claimed since this read is not the one that overran.
        outcome = job_fail(job_id=job.id, code=INFERENCE_TIMEOUT_CODE, message=INFERENCE_TIMEOUT_MESSAGE,
                           attempt=job.attempts, details={"limit_seconds": cap})
        if outcome.won and not outcome.noop:
            report.actions.append(("timed_out", outcome.job))


def job_scan_stuck(
    *, kind: str | None = None, dry_run: bool = False, now: datetime | None = None,
    dispatch_grace_seconds: int | None = None,
) -> ScanReport:
    """Requeue (and re-dispatch) or kill RUNNING jobs whose heartbeat stopped; dispatch QUEUED jobs never sent.

    Safe to run concurrently with workers and with itself: every change is a guarded transition.
    Actions: "timed_out", "requeued", "requeued_waiting", "requeued_dispatch_failed", "dead", "redispatched",
    "waiting", "redispatch_failed" (dry run: "would_time_out", "would_requeue", "would_kill", "would_redispatch",
    "would_wait"). "waiting" is a job
    its kind's caps or gate hold back, not a failure; waiting jobs are tried oldest first across academies.
    A QUEUED job is sent once due: at its `not_before` when it has one (a retry's backoff), else once it has waited
    `dispatch_grace_seconds` (its own dispatch after commit may still be on the way).
    """
    now = now or timezone.now()
    grace = settings.JOBS_DISPATCH_GRACE_SECONDS if dispatch_grace_seconds is None else dispatch_grace_seconds
    report = ScanReport()
    specs = [spec for spec in all_specs() if kind is None or spec.kind == kind]
    for spec in specs:
        _end_overrunning(spec, now=now, dry_run=dry_run, report=report)
        stale_before = now - timedelta(seconds=_stale_after_seconds(spec))
        stuck = Job.objects.filter(kind=spec.kind, state=JobState.RUNNING, heartbeat_at__lt=stale_before)
        for job in stuck.order_by("heartbeat_at"):
            if job.attempts < job.max_attempts:
                if dry_run:
                    report.actions.append(("would_requeue", job))
                    continue
                outcome = job_requeue(job_id=job.id, stale_before=stale_before)
                if outcome.won:
                    try:
                        sent = job_dispatch(job=outcome.job)
                        report.actions.append(("requeued" if sent else "requeued_waiting", outcome.job))
                    except JobDispatchError:
                        report.actions.append(("requeued_dispatch_failed", outcome.job))
            else:
                if dry_run:
                    report.actions.append(("would_kill", job))
                    continue
                outcome = job_mark_dead(job_id=job.id, code=HEARTBEAT_TIMEOUT_CODE,
                                        message=HEARTBEAT_TIMEOUT_MESSAGE, stale_before=stale_before)
                if outcome.won:
                    report.actions.append(("dead", outcome.job))

        due = Q(not_before__lte=now) | Q(not_before__isnull=True, updated_at__lt=now - timedelta(seconds=grace))
        undispatched = Job.objects.filter(due, kind=spec.kind, state=JobState.QUEUED, external_id="")
        for job in undispatched.order_by("created_at"):
            if dry_run:
                sendable = not spec.gated or job_slot_open(job=job, spec=spec)
                report.actions.append(("would_redispatch" if sendable else "would_wait", job))
                continue
            try:
                sent = job_dispatch(job=job)
                report.actions.append(("redispatched" if sent else "waiting", job))
            except JobDispatchError:
                report.actions.append(("redispatch_failed", job))
    return report


@dataclass(frozen=True)
class ReconcileLine:
    action: str
    job: Job
    reason: str = ""


def job_reconcile_batch(
    *, kind: str | None = None, dry_run: bool = False, now: datetime | None = None, grace_seconds: int | None = None,
    exclude_ids: frozenset = frozenset(),
) -> tuple[list[ReconcileLine], str]:
    """Ask the Batch backend about every batch job still QUEUED with an id or RUNNING; one it reports ended without
    the row being ended (FAILED, SUCCEEDED, ABSENT: a killed container, a zombie or recycled local pid) is re-sent
    while attempts remain, else DEAD `BATCH_JOB_LOST`, without waiting for its heartbeat to go stale.

    Rows touched in the last `grace_seconds` are left alone (their container may be reporting right now). Returns
    the lines and, when Batch could not be asked, the error (nothing changed then).
    """
    now = now or timezone.now()
    grace = settings.JOBS_DISPATCH_GRACE_SECONDS if grace_seconds is None else grace_seconds
    kinds = [spec.kind for spec in all_specs() if spec.backend == "batch" and (kind is None or spec.kind == kind)]
    candidates = list(
        Job.objects.filter(kind__in=kinds, state__in=(JobState.RUNNING, JobState.QUEUED), backend=JobBackend.BATCH,
                           updated_at__lt=now - timedelta(seconds=grace))
        .exclude(external_id="").exclude(id__in=exclude_ids).order_by("created_at")
    )
    if not candidates:
        return [], ""
    from apps.integrations.batch import BatchError

    try:
        described = _get_batch().describe([job.external_id for job in candidates])
    except BatchError as exc:
        logger.warning("batch_reconcile_describe_failed", extra={"error": str(exc), "jobs": len(candidates)})
        return [], str(exc)
    lines = []
    for job in candidates:
        info = described.get(job.external_id)
        if info is None or info.status not in BATCH_GONE_STATUSES:
            continue
        reason = f"batch={info.status}" + (f" ({info.status_reason})" if info.status_reason else "")
        lines.append(_resubmit_or_kill(job, reason=reason, dry_run=dry_run))
    return lines, ""


def _resubmit_or_kill(job: Job, *, reason: str, dry_run: bool) -> ReconcileLine:
    # A QUEUED row whose container died before claiming never counted an attempt: count it here, or an image that
    # cannot start would be re-submitted forever.
    spent = job.attempts + (1 if job.state == JobState.QUEUED else 0)
    if spent >= job.max_attempts:
        if dry_run:
            return ReconcileLine("would_kill", job, reason)
        outcome = job_mark_dead(job_id=job.id, code=BATCH_GONE_CODE, message=BATCH_GONE_MESSAGE,
                                external_id=job.external_id)
        return ReconcileLine("dead" if outcome.won else "skipped", outcome.job, reason)
    if dry_run:
        return ReconcileLine("would_resubmit", job, reason)
    if job.state == JobState.RUNNING:
        outcome = job_requeue(job_id=job.id, stale_before=timezone.now(), external_id=job.external_id)
    else:
        outcome = job_release_lost_dispatch(job_id=job.id, external_id=job.external_id)
    if not outcome.won:
        return ReconcileLine("skipped", outcome.job, reason)
    job = outcome.job
    try:
        sent = job_dispatch(job=job)
    except JobDispatchError:
        return ReconcileLine("resubmit_failed", job, reason)
    # "" = the caps hold it back: QUEUED without a Batch id, the next pass sends it.
    return ReconcileLine("resubmitted" if sent else "requeued_waiting", job, reason)
