"""ARCHITECTURE §5: the worker runtime shared by every queue fleet (and, through execute_job, the Batch entrypoint).

One loop: long-poll (each receive holds the message for the fleet's short window) → parse the message (ids only) →
skip a job already terminal → claim → run the handler in the main thread while a heartbeat thread refreshes the
job and extends the hold every third of the window → report through the internal API → delete the message once the
outcome is recorded, whatever it is: `Job.attempts` alone decides whether the job runs again, as a fresh dispatch
after its backoff (`not_before`). Only a message that cannot be parsed, loaded or reported is left to come back and,
after SQS_MAX_RECEIVE_COUNT receives, reach the DLQ. Queues, client and clock are injected so the loop runs
in-process in tests exactly as it runs in `manage.py run_worker <fleet>`.
"""

import json
import logging
import math
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from apps.jobs.errors import (
    MAX_FAILURE_DETAILS_BYTES,
    JobFailure,
    JobInterrupted,
    UnknownJobKindError,
    failure_details_size,
)
from apps.jobs.fleets import MAX_HEARTBEAT_INTERVAL_SECONDS, Fleet, get_fleet, weighted_order
from apps.jobs.models import TERMINAL_STATES, Job, JobState
from apps.jobs.registry import get_spec
from apps.jobs.services import INFERENCE_TIMEOUT_CODE, INFERENCE_TIMEOUT_MESSAGE, WORKER_STOPPED_CODE
from apps.worker.client import InternalApiClient, InternalApiError, JobNotFound, JobStateConflict

logger = logging.getLogger("apps.worker")

MESSAGE_KEYS = frozenset({"job_id", "kind", "tenant_id"})
HANDLER_ERROR_CODE = "HANDLER_ERROR"
HANDLER_ERROR_MESSAGE = "작업 처리 중 예기치 않은 오류가 발생했습니다."
INVALID_RESULT_CODE = "INVALID_RESULT"
INVALID_RESULT_MESSAGE = "작업 결과 형식이 올바르지 않습니다."
# The name stays the one jobs already carry (docs/decisions/0012).
KIND_UNKNOWN_CODE = "JOB_KIND_UNKNOWN"
KIND_UNKNOWN_MESSAGE = "이 작업 종류를 처리할 작업자가 없습니다."
WORKER_STOPPED_MESSAGE = "작업자가 종료되어 작업을 다시 대기열에 넣었습니다."
# What replaces failure details too large to send (a handler is expected to trim its own first).
DETAILS_TOO_LARGE = {"truncated": True}


class MalformedMessage(ValueError):
    pass


def parse_message_body(body: object) -> tuple[UUID, str]:
    """A job message carries ids only: {"job_id": uuid, "kind": str, "tenant_id": int}."""
    if not isinstance(body, dict) or not set(body) <= MESSAGE_KEYS:
        raise MalformedMessage("body must be an object with job_id, kind and tenant_id only")
    job_id, kind = body.get("job_id"), body.get("kind")
    if not isinstance(job_id, str) or not isinstance(kind, str) or not kind:
        raise MalformedMessage("job_id and kind must be strings")
    try:
        return UUID(job_id), kind
    except ValueError:
        raise MalformedMessage("job_id is not a UUID")


def reportable_details(details: object, *, log_extra: dict | None = None) -> dict:
    """A failure's details as the fail endpoint accepts them: a JSON object (values JSON has no type for as text),
    text jsonb can store (NUL and lone surrogates replaced), at most MAX_FAILURE_DETAILS_BYTES, else DETAILS_TOO_LARGE.
    Details that are no JSON at all (NaN, keys that are not text, cycles) are dropped: the code and message stand.
    """
    if not isinstance(details, dict) or not details:
        return {}
    try:
        cleaned = _storable(json.loads(json.dumps(details, default=str, allow_nan=False)))
    except (TypeError, ValueError, RecursionError):
        logger.warning("job_failure_details_unencodable", extra=log_extra or {})
        return {}
    if failure_details_size(cleaned) > MAX_FAILURE_DETAILS_BYTES:
        logger.warning("job_failure_details_too_large", extra=log_extra or {})
        return dict(DETAILS_TOO_LARGE)
    return cleaned


def _storable(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


class JobContext:
    """What a handler gets besides the job: progress reports, explicit heartbeats and the stop flag."""

    def __init__(self, *, job: Job, client: InternalApiClient, attempt: int, stop_event: threading.Event,
                 lost_event: threading.Event, deadline: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.job = job
        self.attempt = attempt
        self._client = client
        self._stop = stop_event
        self._lost = lost_event
        self._deadline = deadline
        self._clock = clock

    @property
    def stop_requested(self) -> bool:
        """True after SIGTERM, once the job was cancelled or taken over, or past the kind's lease (deadline_passed):
        stop, keep what is done, and raise JobInterrupted."""
        return self._stop.is_set() or self._lost.is_set() or self.deadline_passed

    @property
    def lost(self) -> bool:
        """The API refused a report for this attempt: the job was cancelled, ended or taken over."""
        return self._lost.is_set()

    @property
    def deadline_passed(self) -> bool:
        """The attempt is past its kind's lease (JobKindSpec.lease_seconds): the job ends INFERENCE_TIMEOUT."""
        return self._deadline is not None and self._clock() >= self._deadline

    def seconds_left(self) -> float | None:
        """Seconds until the lease ends (at least 0), or None for a kind without one: a timeout for blocking calls."""
        return None if self._deadline is None else max(0.0, self._deadline - self._clock())

    def progress(self, percent: int, stage: str = "") -> None:
        self._report(lambda: self._client.progress(self.job.id, percent=percent, stage=stage, attempt=self.attempt))

    def heartbeat(self) -> None:
        self._report(lambda: self._client.heartbeat(self.job.id, attempt=self.attempt))

    def _report(self, call: Callable[[], dict]) -> None:
        try:
            call()
        except JobStateConflict:
            self._lost.set()
        except InternalApiError:
            logger.warning("job_report_failed", extra={"job_id": str(self.job.id), "kind": self.job.kind})


@dataclass(frozen=True)
class Execution:
    """What happened to one delivery of a job. `state` is the job's state as the API last reported it."""

    outcome: str  # completed | failed | released | skipped | missing | unknown_kind | unreported
    state: str
    attempt: int = 0
    # Seconds until the job's heartbeat goes stale, when another worker holds it: the message comes back then, to
    # take the job over or find it ended.
    retry_after: int | None = None


def _seconds_until_stale(job_id: UUID, timeout: int, otherwise: float) -> int:
    """Seconds until the holder's heartbeat is older than `timeout`; `otherwise` when it already is (the claim lost
    anyway: no attempts left, and the scheduler ends the job) or there is none."""
    heartbeat_at = Job.objects.filter(id=job_id).values_list("heartbeat_at", flat=True).first()
    remaining = (heartbeat_at - timezone.now()).total_seconds() + timeout if heartbeat_at is not None else 0
    return math.ceil(remaining) + 1 if remaining > 0 else max(1, math.ceil(otherwise))


def execute_job(
    *,
    job_id: UUID,
    client: InternalApiClient,
    stop_event: threading.Event,
    extend_lease: Callable[[], None] | None = None,
    heartbeat_interval: float | None = None,
    lease_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    log_extra: dict | None = None,
    on_claim: Callable[[int], None] | None = None,
) -> Execution:
    """Claim, run the kind's handler with a heartbeat thread, report the outcome. Never raises for job errors.

    The heartbeat beats every third of the shorter of the kind's staleness limit and `lease_seconds` (the hold
    window), and at least every 10 s; each beat also calls `extend_lease`.
    """
    started = clock()
    extra = {"job_id": str(job_id), **(log_extra or {})}
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        logger.warning("job_missing", extra=extra)
        return Execution("missing", "")
    extra.update(kind=job.kind, tenant_id=job.tenant_id)
    if job.state in TERMINAL_STATES:
        logger.info("job_skipped_terminal", extra={**extra, "state": job.state})
        return Execution("skipped", job.state)
    try:
        spec = get_spec(job.kind)
        handler = spec.load_handler()
    except (UnknownJobKindError, ImportError):
        logger.error("job_kind_unknown", extra=extra)
        return _release_unknown_kind(job, client, extra)

    try:
        claimed = client.claim(job.id, worker_id=extra.get("worker_id", ""))
    except JobStateConflict as conflict:
        logger.info("job_claim_lost", extra={**extra, "state": conflict.state})
        retry_after = (_seconds_until_stale(job.id, spec.heartbeat_timeout, lease_seconds or spec.heartbeat_timeout)
                       if conflict.state == JobState.RUNNING else None)
        return Execution("skipped", conflict.state, retry_after=retry_after)
    except JobNotFound:
        return Execution("missing", "")
    except InternalApiError:
        logger.error("job_claim_unreported", extra=extra)
        return Execution("unreported", job.state)
    attempt = claimed["attempts"]
    extra["attempt"] = attempt
    if on_claim is not None:
        on_claim(attempt)
    # The claim answers with the row as it now stands: no second read of it.
    job.state, job.attempts, job.max_attempts, job.payload = (
        claimed["state"], attempt, claimed["max_attempts"], claimed["payload"])
    logger.info("job_claimed", extra=extra)

    lost_event = threading.Event()
    # The lease counts from the claim: an attempt never holds the job longer, whatever its handler does.
    run_lease, _run_cap = spec.time_limits()
    deadline = clock() + run_lease if run_lease else None
    ctx = JobContext(job=job, client=client, attempt=attempt, stop_event=stop_event, lost_event=lost_event,
                     deadline=deadline, clock=clock)
    lease = lease_seconds or spec.heartbeat_timeout
    interval = heartbeat_interval or max(0.1, min(MAX_HEARTBEAT_INTERVAL_SECONDS, spec.heartbeat_timeout / 3,
                                                  lease / 3))
    heartbeat = _Heartbeat(ctx=ctx, interval=interval, extend_lease=extend_lease, log_extra=extra)
    heartbeat.start()
    try:
        result = handler(job, ctx)
        if isinstance(result, dict):
            report = ("completed", lambda: client.complete(job.id, result=result, attempt=attempt))
        else:
            report = ("failed", lambda: client.fail(job.id, code=INVALID_RESULT_CODE, message=INVALID_RESULT_MESSAGE,
                                                    attempt=attempt))
    except JobInterrupted as interrupted:
        if ctx.deadline_passed:
            # Past the lease: not retried (another attempt would take as long); what the handler saved stays.
            extra["error_code"] = INFERENCE_TIMEOUT_CODE
            details = reportable_details({"limit_seconds": run_lease, **interrupted.details}, log_extra=extra)
            report = ("failed", lambda: client.fail(job.id, code=INFERENCE_TIMEOUT_CODE,
                                                    message=INFERENCE_TIMEOUT_MESSAGE, attempt=attempt,
                                                    details=details))
        else:
            report = ("released", lambda: client.fail(job.id, code=WORKER_STOPPED_CODE,
                                                      message=WORKER_STOPPED_MESSAGE, retryable=True,
                                                      attempt=attempt))
    except JobFailure as failure:
        extra["error_code"] = failure.code

        def report_failure(failure=failure):
            details = reportable_details(failure.details, log_extra=extra)
            try:
                return client.fail(job.id, code=failure.code, message=failure.message, retryable=failure.retryable,
                                   attempt=attempt, details=details)
            except InternalApiError as refused:
                if refused.status != 400 or not details:
                    raise
                # The failure itself must be recorded: an API that refuses the details (one deployed before them)
                # still takes the code and message.
                logger.warning("job_failure_details_refused", extra=extra)
                return client.fail(job.id, code=failure.code, message=failure.message, retryable=failure.retryable,
                                   attempt=attempt)

        report = ("failed", report_failure)
    except Exception:
        logger.exception("job_handler_crashed", extra=extra)
        extra["error_code"] = HANDLER_ERROR_CODE
        report = ("failed", lambda: client.fail(job.id, code=HANDLER_ERROR_CODE, message=HANDLER_ERROR_MESSAGE,
                                                retryable=True, attempt=attempt))
    finally:
        heartbeat.stop()

    outcome, call = report
    try:
        state = call()["state"]
    except JobStateConflict as conflict:
        # Cancelled or taken over while running: the other outcome stands.
        logger.info("job_report_conflict", extra={**extra, "state": conflict.state})
        return Execution("skipped", conflict.state, attempt)
    except InternalApiError:
        logger.error("job_report_unreported", extra=extra)
        return Execution("unreported", JobState.RUNNING, attempt)
    logger.info(f"job_{outcome}", extra={**extra, "state": state, "duration_ms": round((clock() - started) * 1000)})
    return Execution(outcome, state, attempt)


class _Heartbeat:
    """Renews the message's hold (its visibility, by one window) and the job's heartbeat every `interval` seconds."""

    def __init__(self, *, ctx: JobContext, interval: float, extend_lease: Callable[[], None] | None,
                 log_extra: dict):
        self._ctx = ctx
        self._interval = interval
        self._extend_lease = extend_lease
        self._log_extra = log_extra
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._done.wait(self._interval):
                if self._ctx.lost:
                    # Cancelled, ended (the scheduler's run cap) or taken over: stop holding the message, so it comes
                    # back within one window to a worker that finds the job ended and deletes it, even while this
                    # handler has not returned.
                    logger.info("job_hold_dropped", extra=self._log_extra)
                    break
                # The hold first: it is one quick queue call, while a heartbeat may spend seconds retrying the API.
                if self._extend_lease is not None:
                    try:
                        self._extend_lease()
                    except Exception:
                        logger.warning("job_lease_extend_failed", extra=self._log_extra, exc_info=True)
                self._ctx.heartbeat()
        finally:
            # The table queue touches the database from this thread: give its connection back.
            connection.close()


def _release_stale_connections() -> None:
    # A long-running worker must drop connections past CONN_MAX_AGE or broken; never inside a transaction
    # (an in-process test runs the loop inside one, and closing would end it).
    if not connection.in_atomic_block:
        close_old_connections()


def _release_unknown_kind(job: Job, client: InternalApiClient, extra: dict) -> Execution:
    """A kind this worker cannot run (an older worker during a rolling deploy): the job is charged an attempt and
    released with its backoff, so a worker that knows the kind gets the next dispatch; it ends DEAD
    `JOB_KIND_UNKNOWN` when its attempts are spent."""
    try:
        attempt = client.claim(job.id, worker_id=extra.get("worker_id", ""))["attempts"]
        state = client.fail(job.id, code=KIND_UNKNOWN_CODE, message=KIND_UNKNOWN_MESSAGE, retryable=True,
                            attempt=attempt)["state"]
    except JobStateConflict as conflict:
        return Execution("skipped", conflict.state)
    except JobNotFound:
        return Execution("missing", "")
    except InternalApiError:
        logger.error("job_fail_unreported", extra=extra)
        return Execution("unreported", job.state)
    return Execution("unknown_kind", state, attempt)


class WorkerRuntime:
    def __init__(
        self,
        *,
        fleet: str,
        queue_names: list[str],
        queues,
        client: InternalApiClient,
        wait_seconds: int,
        visibility_window: int,
        poll_weights: tuple[int, ...] = (),
        idle_stop_threshold: int = 0,
        heartbeat_interval: float | None = None,
        worker_id: str = "",
        on_idle_exit: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.fleet = fleet
        self.queue_names = list(queue_names)
        self.queues = queues
        self.client = client
        self.wait_seconds = wait_seconds
        self.visibility_window = visibility_window
        self.poll_weights = tuple(poll_weights)
        self.idle_stop_threshold = idle_stop_threshold
        self.heartbeat_interval = heartbeat_interval
        self.worker_id = worker_id
        self.on_idle_exit = on_idle_exit
        self.clock = clock
        # Draws each poll's order from the weights; a test passes a seeded one.
        self.rng = rng
        self.stop_event = threading.Event()

    def request_stop(self, *_args) -> None:
        self.stop_event.set()
        # The table queue can cut its long poll short; SQS returns within SQS_WAIT_SECONDS anyway.
        interrupt = getattr(self.queues, "interrupt", None)
        if interrupt is not None:
            interrupt()

    def run(self, *, max_polls: int | None = None) -> int:
        """Consume until SIGTERM/SIGINT, idle exit or `max_polls` polls; returns the process exit code."""
        previous = self._install_signal_handlers()
        logger.info("worker_started", extra={"fleet": self.fleet, "queues": self.queue_names,
                                             "worker_id": self.worker_id})
        empty_polls = polls = 0
        try:
            while not self.stop_event.is_set() and (max_polls is None or polls < max_polls):
                polls += 1
                handled = self.poll_once()
                if handled is None or handled:
                    # A queue outage (None) is not idleness: stopping the instance would strand queued work.
                    empty_polls = 0
                    continue
                empty_polls += 1
                if self.idle_stop_threshold and empty_polls >= self.idle_stop_threshold:
                    logger.info("worker_idle_exit", extra={"fleet": self.fleet, "empty_polls": empty_polls})
                    if self.on_idle_exit is not None:
                        self.on_idle_exit()
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            _release_stale_connections()
        logger.info("worker_stopped", extra={"fleet": self.fleet, "worker_id": self.worker_id})
        return 0

    def poll_order(self) -> list[str]:
        if not self.poll_weights:
            return list(self.queue_names)
        return weighted_order(self.queue_names, self.poll_weights, self.rng)

    def poll_once(self) -> int | None:
        """Receive from the queues in this poll's order (long-polling the last) and handle what came; returns count,
        or None when a queue could not be reached."""
        order = self.poll_order()
        for index, queue in enumerate(order):
            wait = self.wait_seconds if index == len(order) - 1 else 0
            try:
                messages = self.queues.receive(queue, max_messages=1, wait_seconds=wait,
                                               visibility_timeout=self.visibility_window)
            except Exception:
                logger.exception("queue_receive_failed", extra={"fleet": self.fleet, "queue": queue})
                self.stop_event.wait(min(max(wait, 1), 5))
                return None
            if messages:
                for message in messages:
                    if self.stop_event.is_set():
                        self._release(queue, message)
                    else:
                        self.handle_message(queue, message)
                return len(messages)
        return 0

    def handle_message(self, queue: str, message) -> Execution | None:
        _release_stale_connections()
        extra = {"fleet": self.fleet, "queue": queue, "message_id": message.message_id,
                 "receive_count": message.receive_count, "worker_id": self.worker_id}
        try:
            job_id, kind = parse_message_body(message.body)
        except MalformedMessage as exc:
            # Left to come back: after SQS_MAX_RECEIVE_COUNT receives the queue moves it to the DLQ for a person.
            logger.warning("message_rejected", extra={**extra, "reason": str(exc)})
            return None

        def extend_lease():
            self.queues.change_visibility(queue, message.receipt, self.visibility_window)

        execution = execute_job(
            job_id=job_id, client=self.client, stop_event=self.stop_event, extend_lease=extend_lease,
            heartbeat_interval=self.heartbeat_interval, lease_seconds=self.visibility_window, clock=self.clock,
            log_extra={**extra, "kind": kind},
        )
        self._settle(queue, message, execution)
        _release_stale_connections()
        return execution

    def _settle(self, queue: str, message, execution: Execution) -> None:
        """Delete the message once the job's outcome is recorded; otherwise leave it to come back."""
        outcome = execution.outcome
        if outcome in ("missing", "unreported"):
            # No job to load, or the outcome could not be reported: back after the window, in the end to the DLQ.
            return
        if outcome == "skipped" and execution.retry_after is not None:
            # Another worker holds the job with a fresh heartbeat: come back once it could be stale, to take over or
            # find the job ended.
            self._change_visibility(queue, message, min(execution.retry_after, 43200))
            return
        # Ended, requeued (with its backoff, for a new dispatch), or not due (a stray copy): this message is done.
        self._delete(queue, message)

    def _release(self, queue: str, message) -> None:
        self._change_visibility(queue, message, 0)
        logger.info("message_released", extra={"fleet": self.fleet, "queue": queue, "message_id": message.message_id})

    def _delete(self, queue: str, message) -> None:
        try:
            self.queues.delete(queue, message.receipt)
        except Exception:
            logger.exception("message_delete_failed", extra={"queue": queue, "message_id": message.message_id})

    def _change_visibility(self, queue: str, message, seconds: int) -> None:
        try:
            self.queues.change_visibility(queue, message.receipt, seconds)
        except Exception:
            logger.exception("message_visibility_failed", extra={"queue": queue, "message_id": message.message_id})

    def _install_signal_handlers(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self.request_stop)
        return previous


def stop_instance_if_configured() -> None:
    """After an idle exit: stop this EC2 instance when EC2_SELF_STOP is on (the port does the AWS call)."""
    if not settings.EC2_SELF_STOP:
        return
    try:
        from apps.integrations.ec2 import stop_current_instance
    except ImportError:
        logger.error("ec2_self_stop_unavailable")
        return
    try:
        stop_current_instance()
    except Exception:
        logger.exception("ec2_self_stop_failed")


def default_worker_id() -> str:
    """WORKER_ID, else host and pid: what logs and claims name this process by."""
    return settings.WORKER_ID or f"{socket.gethostname()}-{os.getpid()}"


def build_runtime(fleet: str, **overrides) -> WorkerRuntime:
    from apps.integrations.queues import get_queues

    table: Fleet = get_fleet(fleet)
    options = {
        "fleet": fleet,
        "queue_names": table.poll_queue_names(),
        "queues": get_queues(),
        "client": InternalApiClient(),
        "wait_seconds": settings.SQS_WAIT_SECONDS,
        "visibility_window": table.visibility_window_seconds,
        "poll_weights": table.poll_weights,
        "idle_stop_threshold": table.idle_stop_threshold,
        "worker_id": default_worker_id(),
        "on_idle_exit": stop_instance_if_configured,
    }
    options.update(overrides)
    return WorkerRuntime(**options)
