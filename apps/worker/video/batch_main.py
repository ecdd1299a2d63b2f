"""ARCHITECTURE §4 Video, the Batch entrypoint: `python -m apps.worker.video.batch_main <job_id>` runs one transcode.

The job id comes from argv or VIDEO_JOB_ID. The job runs through the shared runtime (`execute_job`: claim,
heartbeat thread, report through the internal API), so the container needs only API_BASE_URL and the token besides
storage and the database. Exit codes, as AWS Batch records them:
  0  done, or nothing to do (already DONE, or running elsewhere: Batch may start a container twice)
  1  the job failed or was stopped (SIGTERM on Spot reclaim); the server or the scanner re-submits what may retry
  2  bad invocation (no or malformed job id, unknown job)
  3  hard timeout: the handler did not return within VIDEO_TRANSCODE_TIMEOUT_SECONDS + grace
"""

import logging
import os
import signal
import sys
import threading
import time
from uuid import UUID

logger = logging.getLogger("apps.worker.video")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HARD_TIMEOUT = 3
# Past the transcode limit, the time the handler gets to notice, kill ffmpeg and report before the process ends.
HARD_TIMEOUT_GRACE_SECONDS = 120
HARD_TIMEOUT_CODE = "TIMEOUT"
HARD_TIMEOUT_MESSAGE = "영상 변환 시간이 제한을 넘어 작업을 종료했습니다."

OUTCOME_EXIT = {
    "completed": EXIT_OK,
    "skipped": EXIT_OK,
    "failed": EXIT_FAILED,
    "released": EXIT_FAILED,
    "unreported": EXIT_FAILED,
    "missing": EXIT_USAGE,
    "unknown_kind": EXIT_USAGE,
}


def job_id_from(argv: list[str], environ) -> UUID | None:
    """argv[0] when it is a UUID, else VIDEO_JOB_ID (the job definition's default parameter is a placeholder)."""
    for raw in (argv[0] if argv else "", environ.get("VIDEO_JOB_ID", "")):
        try:
            return UUID(raw.strip())
        except (ValueError, AttributeError):
            continue
    return None


class HardTimeout:
    """Last line of defence when the handler hangs outside ffmpeg (whose own limit is enforced by transcode):
    stop, report TIMEOUT for the attempt in hand, remove the job's temp files and end the process."""

    def __init__(self, *, job_id: UUID, stop_event: threading.Event, seconds: float, client, exit=os._exit):
        self._job_id = job_id
        self._stop = stop_event
        self._client = client
        self._exit = exit
        self._timer = threading.Timer(seconds, self._fire)
        self.attempt: int | None = None  # the attempt this process claimed; reports name it, never a newer one
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def claimed(self, attempt: int) -> None:
        self.attempt = attempt

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        from django.conf import settings

        from apps.core.error_tracking import flush_error_tracking
        from apps.domains.video.handlers import remove_job_temp_dirs
        from apps.worker.client import InternalApiError, JobStateConflict

        logger.error("batch_hard_timeout", extra={"job_id": str(self._job_id)})
        self._stop.set()
        if self.attempt is not None:
            # A stale attempt number is refused by the server, so a container whose job was taken over
            # cannot fail the attempt that replaced it.
            try:
                self._client.fail(self._job_id, code=HARD_TIMEOUT_CODE, message=HARD_TIMEOUT_MESSAGE,
                                  attempt=self.attempt)
            except JobStateConflict:
                logger.info("batch_hard_timeout_superseded", extra={"job_id": str(self._job_id)})
            except InternalApiError:
                logger.error("batch_hard_timeout_unreported", extra={"job_id": str(self._job_id)})
        # This process has held the job for the whole limit: its scratch files are this attempt's.
        remove_job_temp_dirs(self._job_id, settings.VIDEO_WORKER_TEMP_DIR)
        # os._exit skips the exit hooks: send the batch_hard_timeout error event (if SENTRY_DSN is set) first.
        flush_error_tracking()
        self._exit(EXIT_HARD_TIMEOUT)


def run(job_id: UUID, *, client=None, stop_event: threading.Event | None = None) -> int:
    """Run one job; returns the process exit code. Django must be set up."""
    from django.conf import settings

    from apps.worker.client import InternalApiClient
    from apps.worker.runtime import default_worker_id, execute_job

    client = client or InternalApiClient()
    stop_event = stop_event or threading.Event()
    worker_id = default_worker_id()
    extra = {"job_id": str(job_id), "worker_id": worker_id, "batch_job_id": os.environ.get("AWS_BATCH_JOB_ID", "")}
    started = time.monotonic()
    logger.info("batch_started", extra=extra)
    watchdog = HardTimeout(job_id=job_id, stop_event=stop_event, client=client,
                           seconds=settings.VIDEO_TRANSCODE_TIMEOUT_SECONDS + HARD_TIMEOUT_GRACE_SECONDS)
    watchdog.start()
    try:
        # Batch never redelivers (retryStrategy attempts=1): a retryable failure is requeued with its backoff and
        # re-submitted by the scheduler while attempts remain, else DEAD.
        execution = execute_job(job_id=job_id, client=client, stop_event=stop_event,
                                log_extra={"worker_id": worker_id, "batch_job_id": extra["batch_job_id"]},
                                on_claim=watchdog.claimed)
    finally:
        watchdog.cancel()
    code = OUTCOME_EXIT.get(execution.outcome, EXIT_FAILED)
    logger.info("batch_finished", extra={**extra, "outcome": execution.outcome, "state": execution.state,
                                         "attempt": execution.attempt, "exit_code": code,
                                         "wall_seconds": round(time.monotonic() - started, 3)})
    return code


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.worker")
    import django

    django.setup()
    args = sys.argv[1:] if argv is None else argv
    job_id = job_id_from(args, os.environ)
    if job_id is None:
        logger.error("batch_bad_job_id", extra={"argv": args[:1], "env": os.environ.get("VIDEO_JOB_ID", "")})
        return EXIT_USAGE

    stop_event = threading.Event()

    def request_stop(signum, _frame):
        # Spot reclaim: Batch sends SIGTERM and SIGKILLs about 30 s later. The handler kills ffmpeg at its next
        # poll, the runtime reports a retryable stop, and the server re-submits while attempts remain.
        logger.warning("batch_signal", extra={"job_id": str(job_id), "signal": signal.Signals(signum).name})
        stop_event.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        return run(job_id, stop_event=stop_event)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
