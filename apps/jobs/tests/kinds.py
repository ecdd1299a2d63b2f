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
]


def register_test_kinds() -> None:
    for spec in TEST_KINDS:
        register(spec)
