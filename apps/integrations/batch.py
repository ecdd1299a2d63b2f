"""ARCHITECTURE §3 batch port: AWS Batch in production, a detached subprocess running the same entrypoint locally.

Statuses use the AWS names (SUBMITTED PENDING RUNNABLE STARTING RUNNING SUCCEEDED FAILED) plus "ABSENT" for an id
the backend does not know (any more).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.integrations.aws import AdapterSlot, AwsAdapter, aws_client, in_batches

ABSENT = "ABSENT"
DESCRIBE_CHUNK = 100
LOCAL_PREFIX = "local-"
JOB_SEPARATOR = ":"
DEFAULT_LOCAL_MODULE = "apps.worker.video.batch_main"
_JOB_NAME_INVALID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class BatchJobInfo:
    external_id: str
    status: str
    status_reason: str


class BatchError(Exception):
    """The batch backend is unreachable or refused the request."""


class Batch:
    """The interface every adapter implements (CONTRACTS A)."""

    def submit(self, *, job_name: str, job_id: str) -> str:
        raise NotImplementedError

    def describe(self, external_ids: list[str]) -> dict[str, BatchJobInfo]:
        raise NotImplementedError

    def terminate(self, external_id: str, *, reason: str) -> None:
        raise NotImplementedError


def aws_job_name(job_name: str) -> str:
    """AWS Batch accepts 1-128 letters, digits, hyphens and underscores, starting with a letter or digit."""
    cleaned = _JOB_NAME_INVALID.sub("-", job_name).lstrip("-_") or "job"
    return cleaned[:128]


# ---------------------------------------------------------------------------
# AWS Batch
# ---------------------------------------------------------------------------
class AwsBatch(AwsAdapter, Batch):
    error_class = BatchError
    service_label = "batch"

    def make_client(self):
        return aws_client("batch")

    def submit(self, *, job_name, job_id) -> str:
        answer = self._call(
            "submit_job",
            self.client.submit_job,
            jobName=aws_job_name(job_name),
            jobQueue=settings.BATCH_JOB_QUEUE,
            jobDefinition=settings.BATCH_JOB_DEFINITION,
            parameters={"job_id": str(job_id)},
            containerOverrides={"environment": [{"name": "VIDEO_JOB_ID", "value": str(job_id)}]},
        )
        return answer["jobId"]

    def describe(self, external_ids) -> dict[str, BatchJobInfo]:
        ids = list(dict.fromkeys(external_ids))
        found: dict[str, BatchJobInfo] = {}
        for chunk in in_batches(ids, DESCRIBE_CHUNK):
            answer = self._call("describe_jobs", self.client.describe_jobs, jobs=chunk)
            for job in answer.get("jobs", []):
                found[job["jobId"]] = BatchJobInfo(job["jobId"], job["status"], job.get("statusReason", ""))
        return {i: found.get(i, BatchJobInfo(i, ABSENT, "unknown to AWS Batch")) for i in ids}

    def terminate(self, external_id, *, reason) -> None:
        self._call("terminate_job", self.client.terminate_job, jobId=external_id, reason=reason[:256])


# ---------------------------------------------------------------------------
# Local subprocess
# ---------------------------------------------------------------------------
@dataclass
class _LocalRun:
    process: subprocess.Popen
    terminate_reason: str = ""


def _reap(process: subprocess.Popen) -> None:
    # A child nobody waits for stays a zombie, which signal 0 reports alive: wait for it as soon as it exits.
    process.wait()


def _proc_state(pid: int) -> tuple[str, list[str]] | None:
    """(state letter, argv) of a live pid from /proc, or None where /proc cannot tell (no procfs, a race)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # The command name in parentheses may itself hold spaces or parentheses: the state follows the last ")".
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else ""
    return state, [arg.decode(errors="replace") for arg in argv if arg]


class LocalBatch(Batch):
    """Starts the Batch entrypoint as a detached process (own session, so it outlives a restarted API).

    The process that submitted a job knows its exit code; another process (a scanner, a second API worker) can only
    tell whether the pid is still alive, so a finished job started elsewhere reads as ABSENT. The job row, updated
    by the entrypoint itself through the internal API, stays the truth either way.
    """

    _runs: dict[int, _LocalRun] = {}
    _runs_lock = threading.Lock()

    @staticmethod
    def command() -> list[str]:
        configured = list(settings.BATCH_LOCAL_COMMAND)
        # The interpreter is resolved per call so a virtualenv's python runs the entrypoint, not the system one.
        return configured or [sys.executable, "-m", DEFAULT_LOCAL_MODULE]

    def submit(self, *, job_name, job_id) -> str:
        log_dir = Path(settings.BATCH_LOCAL_LOG_DIR)
        log_path = log_dir / f"{aws_job_name(job_name)}-{job_id}.log"
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as log:
                process = subprocess.Popen(
                    [*self.command(), str(job_id)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=settings.BASE_DIR,
                    env={**os.environ, "VIDEO_JOB_ID": str(job_id)},
                )
        except OSError as exc:
            raise BatchError(f"local batch could not start {self.command()!r}: {exc}") from exc
        threading.Thread(target=_reap, args=(process,), name=f"reap-{process.pid}", daemon=True).start()
        with self._runs_lock:
            self._runs[process.pid] = _LocalRun(process=process)
        # The job id rides along so another process can tell a recycled pid from this run.
        return f"{LOCAL_PREFIX}{process.pid}{JOB_SEPARATOR}{job_id}"

    @staticmethod
    def _parse(external_id: str) -> tuple[int | None, str]:
        """(pid, job id) of "local-<pid>:<job id>", or of the older "local-<pid>" (job id "")."""
        if not external_id.startswith(LOCAL_PREFIX):
            return None, ""
        raw_pid, _, job_id = external_id[len(LOCAL_PREFIX):].partition(JOB_SEPARATOR)
        try:
            pid = int(raw_pid)
        except ValueError:
            return None, ""
        return (pid if pid > 0 else None), job_id

    @classmethod
    def _pid(cls, external_id: str) -> int | None:
        return cls._parse(external_id)[0]

    def _info(self, external_id: str) -> BatchJobInfo:
        pid, job_id = self._parse(external_id)
        if pid is None:
            return BatchJobInfo(external_id, ABSENT, "not a local batch id")
        run = self._runs.get(pid)
        if run is not None:
            code = run.process.poll()
            if code is None:
                return BatchJobInfo(external_id, "RUNNING", "")
            if code == 0:
                return BatchJobInfo(external_id, "SUCCEEDED", "exit code 0")
            reason = f"exit code {code}" if code > 0 else f"killed by signal {-code}"
            if run.terminate_reason:
                reason = f"{reason}: {run.terminate_reason}"
            return BatchJobInfo(external_id, "FAILED", reason)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return BatchJobInfo(external_id, ABSENT, "process not found")
        except PermissionError:
            pass
        seen = _proc_state(pid)
        if seen is not None:
            state, argv = seen
            if state in ("Z", "X"):
                return BatchJobInfo(external_id, ABSENT, "process ended (not yet reaped by its parent)")
            if job_id and (not argv or argv[-1] != job_id):
                return BatchJobInfo(external_id, ABSENT, "pid now belongs to another process")
        return BatchJobInfo(external_id, "RUNNING", "started by another process")

    def describe(self, external_ids) -> dict[str, BatchJobInfo]:
        return {external_id: self._info(external_id) for external_id in dict.fromkeys(external_ids)}

    def terminate(self, external_id, *, reason) -> None:
        pid = self._pid(external_id)
        if pid is None:
            raise BatchError(f"not a local batch id: {external_id!r}")
        run = self._runs.get(pid)
        if run is not None:
            if run.process.poll() is not None:
                return
            run.terminate_reason = reason
        try:
            # The entrypoint leads its own session: signal the whole group so ffmpeg children stop too.
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            raise BatchError(f"not allowed to stop {external_id}: {exc}") from exc

    def wait(self, external_id: str, *, timeout: float) -> BatchJobInfo:
        """Blocks until a job this process started ends (local runs and tests only)."""
        pid = self._pid(external_id)
        run = self._runs.get(pid) if pid else None
        if run is None:
            raise BatchError(f"{external_id} was not started by this process")
        try:
            run.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise BatchError(f"{external_id} still running after {timeout}s") from exc
        return self._info(external_id)


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------
_batch_slot: AdapterSlot[Batch] = AdapterSlot(lambda: _build_batch())


def get_batch() -> Batch:
    """The adapter chosen by settings.BATCH_BACKEND, built once per process."""
    return _batch_slot.get()


def _build_batch() -> Batch:
    backend = settings.BATCH_BACKEND
    if backend == "local":
        return LocalBatch()
    if backend == "aws":
        return AwsBatch()
    raise ImproperlyConfigured(f"BATCH_BACKEND must be 'local' or 'aws', not {backend!r}")


def reset_batch_for_tests() -> None:
    _batch_slot.reset()
