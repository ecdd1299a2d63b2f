"""Test-only job kinds and handlers: registered by the test conftest and by the test worker entrypoint."""

import os
import signal
import threading
from pathlib import Path

from apps.jobs.errors import JobFailure, JobInterrupted
from apps.jobs.registry import JobKindSpec, register

CALLS: list[tuple[str, str, int]] = []


def echo(job, ctx):
    CALLS.append(("echo", str(job.id), ctx.attempt))
    ctx.progress(50, "절반")
    return {"echo": job.payload}


def fail_permanently(job, ctx):
    CALLS.append(("fail", str(job.id), ctx.attempt))
    raise JobFailure("BAD_INPUT", "입력이 올바르지 않습니다.")


def fail_retryably(job, ctx):
    CALLS.append(("retry", str(job.id), ctx.attempt))
    raise JobFailure("PROVIDER_DOWN", f"외부 서비스 응답이 없습니다 ({ctx.attempt}회차).", retryable=True)


# The details the next test_fail_details job fails with: set by the test (they need not be JSON, as a payload is).
FAILURE_DETAILS: dict = {"value": {}}


def fail_with_details(job, ctx):
    CALLS.append(("fail_details", str(job.id), ctx.attempt))
    raise JobFailure("EXCEL_NO_ROWS", "등록할 학생 데이터가 없습니다.", details=FAILURE_DETAILS["value"])


def crash(job, ctx):
    CALLS.append(("crash", str(job.id), ctx.attempt))
    raise RuntimeError("boom")


def return_list(job, ctx):
    return ["not", "an", "object"]


def block_until_released(job, ctx):
    """Writes started-<attempt>, waits for the `release` file (or honours stop), then records one finish line."""
    work = Path(job.payload["dir"])
    (work / f"started-{ctx.attempt}").write_text(str(os.getpid()))
    pause = threading.Event()
    while not (work / "release").exists():
        if job.payload.get("honour_stop") and ctx.stop_requested:
            raise JobInterrupted()
        pause.wait(0.05)
    with open(work / "finished", "a") as out:
        out.write(f"{ctx.attempt}\n")
    return {"attempt": ctx.attempt}


def stop_own_process_then_finish(job, ctx):
    """SIGTERM arrives while the handler works; it finishes anyway."""
    os.kill(os.getpid(), signal.SIGTERM)
    CALLS.append(("sigterm", str(job.id), ctx.attempt))
    return {"finished": True, "stop_requested": ctx.stop_requested}


def stop_own_process_then_release(job, ctx):
    """SIGTERM arrives while the handler works; it honours ctx.stop_requested."""
    os.kill(os.getpid(), signal.SIGTERM)
    CALLS.append(("sigterm", str(job.id), ctx.attempt))
    if ctx.stop_requested:
        raise JobInterrupted()
    return {"finished": True}


PRESENTED: list[str] = []


def present_with_counter(job):
    """A presenter that changes on every read, as a presigned URL does."""
    PRESENTED.append(str(job.id))
    return {**job.result, "read": len(PRESENTED)}


# Called after each page of grade_pages: a test moves its injected clock here; by default a page takes 50 ms.
PAGE_TICK = {"tick": None}


def grade_pages(job, ctx):
    """Grades payload["pages"] pages one by one, each saved as a file at once (the partial result a timed-out job
    keeps); a page already saved is not graded again. Stops when asked, saying how many pages are done."""
    work = Path(job.payload["dir"])
    (work / f"worker-{ctx.attempt}").write_text(os.environ.get("WORKER_ID", ""))
    pause = threading.Event()
    for page in range(job.payload["pages"]):
        if (work / f"page-{page}").exists():
            continue
        if ctx.stop_requested:
            raise JobInterrupted(details={"pages_done": sum(1 for _ in work.glob("page-*"))})
        (work / f"page-{page}").write_text(str(ctx.attempt))
        tick = PAGE_TICK["tick"]
        if tick is not None:
            tick()
        else:
            pause.wait(0.05)
    return {"pages": job.payload["pages"]}


def finish_after_the_scheduler_ended_it(job, ctx):
    """Ignores its lease: runs one scheduler pass as if the run cap had passed, then returns a result anyway."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.jobs.services import job_scan_stuck

    CALLS.append(("overrun", str(job.id), ctx.attempt))
    job_scan_stuck(kind=job.kind, now=timezone.now() + timedelta(seconds=job.payload["after_seconds"]))
    return {"finished": True}


# Set by the test of the hold dropped after a refusal: the extension count it reads when the refusal is heard.
OUTLIVED = {"extends_at_lost": None, "count": None}


def outlive_hold(job, ctx):
    """Cancels its own job, then works on until the heartbeat thread has stopped (it must, on the refusal)."""
    from apps.jobs.services import job_cancel

    job_cancel(job_id=job.id)
    pause = threading.Event()
    for _ in range(1000):  # at most 10 s: a heartbeat that never hears the refusal fails the test, not hangs it
        if ctx.lost:
            break
        pause.wait(0.01)
    OUTLIVED["extends_at_lost"] = OUTLIVED["count"]() if OUTLIVED["count"] else 0
    for _ in range(1000):
        if not any(thread.name == "job-heartbeat" for thread in threading.enumerate()):
            break
        pause.wait(0.01)
    return {"done": True}


def route_to_payload_queue(job):
    return job.payload["queue_setting"]


# Slots of the gated test kind: its gate is open while fewer jobs of the kind hold an external id.
GATE = {"slots": 1}


def gate_by_slots(job):
    from apps.jobs.models import Job, JobState

    busy = Job.objects.filter(kind=job.kind, state__in=[JobState.QUEUED, JobState.RUNNING]).exclude(external_id="")
    return busy.exclude(id=job.id).count() < GATE["slots"]


def on_terminal(job):
    CALLS.append(("on_terminal", str(job.id), job.attempts))


def _spec(kind, handler, **fields):
    defaults = {"backend": "queue", "queue_setting": "SQS_QUEUE_EXCEL", "heartbeat_timeout": 60}
    return JobKindSpec(kind=kind, handler=f"apps.jobs.tests.kinds.{handler}", **{**defaults, **fields})


TEST_KINDS = [
    _spec("test_echo", "echo", on_terminal="apps.jobs.tests.kinds.on_terminal"),
    _spec("test_fail", "fail_permanently"),
    _spec("test_retry", "fail_retryably", max_attempts=3),
    _spec("test_fail_details", "fail_with_details"),
    _spec("test_crash", "crash", max_attempts=2),
    _spec("test_dlq", "fail_retryably", max_attempts=10),
    _spec("test_list", "return_list"),
    _spec("test_block", "block_until_released", heartbeat_timeout=2),
    # Staleness well above the test fleet's 3 s window: a worker paused for one window is not taken over.
    _spec("test_hold", "block_until_released", heartbeat_timeout=10),
    _spec("test_retry_fast", "fail_retryably", max_attempts=3, retry_backoff_seconds=0.2),
    _spec("test_capped", "echo", max_running_per_tenant=1),
    _spec("test_batch", "echo", backend="batch", queue_setting=None),
    _spec("test_gated", "echo", backend="batch", queue_setting=None,
          dispatch_gate="apps.jobs.tests.kinds.gate_by_slots"),
    _spec("test_ai", "echo", queue_setting="SQS_QUEUE_AI_LITE"),
    _spec("test_sigterm_finish", "stop_own_process_then_finish"),
    _spec("test_sigterm_release", "stop_own_process_then_release"),
    _spec("test_presented", "echo", present_result="apps.jobs.tests.kinds.present_with_counter"),
    # AI tiers (apps/jobs/tiers.py): the queue follows the tier and the academy's plan.
    _spec("test_ai_basic", "echo", tier="basic", queue_setting=None),
    _spec("test_ai_lite", "echo", tier="lite", queue_setting=None),
    _spec("test_pages", "grade_pages", tier="basic", queue_setting=None),
    _spec("test_overrun", "finish_after_the_scheduler_ended_it", tier="basic", queue_setting=None),
    _spec("test_outlive_hold", "outlive_hold"),
    _spec("test_routed", "echo", queue_setting="SQS_QUEUE_AI_LITE",
          route="apps.jobs.tests.kinds.route_to_payload_queue"),
]


def register_test_kinds() -> None:
    for spec in TEST_KINDS:
        register(spec)
