"""The worker runtime as it runs in production: real table queue, real HTTP to the API, real processes and signals."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import connection

from apps.integrations.queues import QueueError, get_queues, reset_queues_for_tests
from apps.jobs import services
from apps.jobs.errors import JobDispatchError
from apps.jobs.fleets import Fleet, takeover_bound_seconds
from apps.jobs.models import Job, JobState
from apps.worker.client import InternalApiClient
from apps.worker.runtime import WorkerRuntime
from apps.worker.tests.support import REPO_ROOT, start_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The excel fleet as support.start_worker configures it: the production model with a 3 s window.
_TEST_FLEET = Fleet(name="excel", queue_settings=("SQS_QUEUE_EXCEL",), queue_visibility_seconds=300,
                    visibility_window_seconds=3, poll_weights=(), idle_stop_threshold=0)


@pytest.fixture(autouse=True)
def table_queue(settings):
    settings.QUEUE_BACKEND = "table"
    reset_queues_for_tests()
    yield get_queues()
    reset_queues_for_tests()


@pytest.fixture
def workers(live_server, tmp_path):
    started = []

    def start(name: str, fleet: str = "excel", **env):
        process = start_worker(fleet, api_url=live_server.url, log_dir=tmp_path, name=name, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _job_state(job):
    return Job.objects.get(id=job.id).state


def _exit_code(process, timeout: float = 30) -> int:
    return process.wait(timeout=timeout)


def test_worker_process_runs_a_submitted_job_and_exits_0_on_sigterm(workers, tenant, table_queue, settings,
                                                                    tmp_path):
    (tmp_path / "release").touch()
    job = services.job_submit(tenant=tenant, kind="test_block", payload={"dir": str(tmp_path)})
    worker = workers("w1")

    wait_until(lambda: _job_state(job) == JobState.DONE)
    wait_until(lambda: table_queue.depth(settings.SQS_QUEUE_EXCEL) == 0)
    worker.send_signal(signal.SIGTERM)

    assert _exit_code(worker) == 0
    job.refresh_from_db()
    assert (job.result, job.attempts, job.progress) == ({"attempt": 1}, 1, 100)


def test_duplicate_delivery_of_a_finished_job_does_not_run_the_handler_again(workers, tenant, table_queue, settings,
                                                                             tmp_path):
    (tmp_path / "release").touch()
    job = services.job_submit(tenant=tenant, kind="test_block", payload={"dir": str(tmp_path)})
    worker = workers("w1")
    wait_until(lambda: _job_state(job) == JobState.DONE)

    table_queue.send(settings.SQS_QUEUE_EXCEL, {"job_id": str(job.id), "kind": "test_block",
                                                "tenant_id": tenant.id})
    wait_until(lambda: table_queue.depth(settings.SQS_QUEUE_EXCEL) == 0)
    worker.send_signal(signal.SIGTERM)

    assert _exit_code(worker) == 0
    assert sorted(path.name for path in tmp_path.glob("started-*")) == ["started-1"]
    assert (tmp_path / "finished").read_text() == "1\n"


def test_worker_killed_mid_job_message_comes_back_and_the_job_ends_exactly_once(workers, tenant, table_queue,
                                                                                settings, tmp_path):
    job = services.job_submit(tenant=tenant, kind="test_block", payload={"dir": str(tmp_path)})
    first = workers("w1")
    wait_until(lambda: (tmp_path / "started-1").exists())

    first.send_signal(signal.SIGKILL)
    assert _exit_code(first) == -signal.SIGKILL
    assert _job_state(job) == JobState.RUNNING
    (tmp_path / "release").touch()
    second = workers("w2")
    wait_until(lambda: _job_state(job) == JobState.DONE)
    wait_until(lambda: table_queue.depth(settings.SQS_QUEUE_EXCEL) == 0)
    second.send_signal(signal.SIGTERM)

    assert _exit_code(second) == 0
    job.refresh_from_db()
    assert (job.state, job.attempts, job.result) == (JobState.DONE, 2, {"attempt": 2})
    assert (tmp_path / "finished").read_text() == "2\n"
    assert table_queue.depth(f"{settings.SQS_QUEUE_EXCEL}-dlq") == 0


def _holder(processes, tmp_path, attempt: int):
    """The worker process running the job's attempt (the test handler writes its pid)."""
    pid = int((tmp_path / f"started-{attempt}").read_text())
    return next(process for process in processes if process.pid == pid)


def _message_receives(queue: str) -> int:
    from apps.integrations.models import QueueMessageRow

    return QueueMessageRow.objects.filter(queue=queue).values_list("receive_count", flat=True).first() or 0


def test_sigkill_of_the_worker_running_a_job_has_another_take_it_over_within_the_bound(workers, tenant, table_queue,
                                                                                      settings, tmp_path):
    # Given two workers of the scaled-down fleet (3 s window) and a kind with a 2 s staleness limit
    fleet = [workers("w1"), workers("w2")]
    job = services.job_submit(tenant=tenant, kind="test_block", payload={"dir": str(tmp_path)})
    wait_until(lambda: (tmp_path / "started-1").exists())
    holder = _holder(fleet, tmp_path, 1)
    bound = takeover_bound_seconds(fleet=_TEST_FLEET, staleness_seconds=2)

    # When the one running it is killed
    holder.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    assert _exit_code(holder) == -signal.SIGKILL

    # Then the other runs it again under attempt 2 within the bound (plus slack for a loaded machine), once
    wait_until(lambda: (tmp_path / "started-2").exists(), timeout=bound + 10)
    taken_over_after = time.monotonic() - killed_at
    assert Job.objects.get(id=job.id).state == JobState.RUNNING
    (tmp_path / "release").touch()
    wait_until(lambda: _job_state(job) == JobState.DONE)
    job.refresh_from_db()
    assert (job.attempts, job.result) == (2, {"attempt": 2})
    assert (tmp_path / "finished").read_text() == "2\n"
    assert taken_over_after < bound + 3
    wait_until(lambda: table_queue.depth(settings.SQS_QUEUE_EXCEL) == 0)
    assert table_queue.depth(f"{settings.SQS_QUEUE_EXCEL}-dlq") == 0


def test_a_worker_paused_for_less_than_its_staleness_limit_is_never_taken_over(workers, tenant, table_queue, settings,
                                                                              tmp_path):
    # Given two workers and a job whose staleness limit (10 s) is well above the fleet's 3 s window
    fleet = [workers("w1"), workers("w2")]
    job = services.job_submit(tenant=tenant, kind="test_hold", payload={"dir": str(tmp_path)})
    wait_until(lambda: (tmp_path / "started-1").exists())
    holder = _holder(fleet, tmp_path, 1)

    # When the holder is frozen until its hold lapses and the other worker receives the message, then resumes
    holder.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: _message_receives(settings.SQS_QUEUE_EXCEL) >= 2, timeout=15)
    finally:
        holder.send_signal(signal.SIGCONT)
    # and the other worker looks again once the heartbeat could have been stale
    wait_until(lambda: _message_receives(settings.SQS_QUEUE_EXCEL) >= 3, timeout=20)
    (tmp_path / "release").touch()

    # Then the job ends under its first attempt, run once
    wait_until(lambda: _job_state(job) == JobState.DONE)
    job.refresh_from_db()
    assert (job.attempts, job.result) == (1, {"attempt": 1})
    assert not (tmp_path / "started-2").exists()
    assert (tmp_path / "finished").read_text() == "1\n"


def test_sigterm_with_a_handler_that_honours_stop_releases_the_job_and_nothing_is_lost(workers, tenant,
                                                                                       table_queue, settings,
                                                                                       tmp_path):
    job = services.job_submit(tenant=tenant, kind="test_block", payload={"dir": str(tmp_path), "honour_stop": True})
    first = workers("w1")
    wait_until(lambda: (tmp_path / "started-1").exists())

    first.send_signal(signal.SIGTERM)

    assert _exit_code(first) == 0
    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.QUEUED, "WORKER_STOPPED")
    assert table_queue.depth(settings.SQS_QUEUE_EXCEL) == 1
    assert not (tmp_path / "finished").exists()

    (tmp_path / "release").touch()
    second = workers("w2")
    wait_until(lambda: _job_state(job) == JobState.DONE)
    second.send_signal(signal.SIGTERM)
    assert _exit_code(second) == 0
    assert Job.objects.get(id=job.id).attempts == 2
    assert (tmp_path / "finished").read_text() == "2\n"


def test_sigterm_with_a_handler_that_keeps_working_finishes_the_job_then_exits_0(workers, tenant, table_queue,
                                                                                 settings, tmp_path):
    job = services.job_submit(tenant=tenant, kind="test_block", payload={"dir": str(tmp_path)})
    worker = workers("w1")
    wait_until(lambda: (tmp_path / "started-1").exists())

    worker.send_signal(signal.SIGTERM)
    (tmp_path / "release").touch()

    assert _exit_code(worker) == 0
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 1)
    assert table_queue.depth(settings.SQS_QUEUE_EXCEL) == 0


def test_idle_worker_exits_0_after_the_threshold_of_empty_polls(workers, db):
    worker = workers("idle", EC2_IDLE_STOP_THRESHOLD="2")

    assert _exit_code(worker) == 0


def test_a_job_that_always_fails_retryably_ends_dead_after_max_attempts_with_nothing_in_the_dlq(
    live_server, tenant, table_queue, settings
):
    queue = settings.SQS_QUEUE_EXCEL
    job = services.job_submit(tenant=tenant, kind="test_retry_fast", payload={})
    runtime = WorkerRuntime(
        fleet="excel", queue_names=[queue], queues=table_queue,
        client=InternalApiClient(live_server.url, settings.INTERNAL_WORKER_TOKEN, retries=0),
        wait_seconds=0, visibility_window=30,
    )

    def attempt_then_schedule() -> bool:
        runtime.run(max_polls=1)
        services.job_scan_stuck()  # the scheduler's pass: sends the job again once its backoff is over
        assert table_queue.depth(queue) <= 1  # never a second message for the job
        return Job.objects.get(id=job.id).state == JobState.DEAD

    try:
        wait_until(attempt_then_schedule, timeout=30)
    finally:
        runtime.client.session.close()  # the live server holds a database connection per open keep-alive socket

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DEAD, 3)
    assert (job.error_code, job.error_message) == ("PROVIDER_DOWN", "외부 서비스 응답이 없습니다 (3회차).")
    assert (table_queue.depth(queue), table_queue.depth(f"{queue}-dlq")) == (0, 0)


def test_fleet_entrypoint_starts_with_the_worker_settings_and_exits_0_when_idle(live_server, db, tmp_path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "",
        "SECRET_KEY": "Zq3kV8pXw2Lr6Ny1Tb9Hc4Jm7Df0Gs5Ue8Ia3Oo6Pl1Kk4Mn7Bv2Cx5",
        "INTERNAL_WORKER_TOKEN": "entrypoint-token-of-32-characters",
        "DB_HOST": "127.0.0.1",
        "DB_NAME": connection.settings_dict["NAME"],
        "API_BASE_URL": live_server.url,
        "SQS_WAIT_SECONDS": "0",
        "EC2_IDLE_STOP_THRESHOLD": "2",
    }
    environment.pop("DJANGO_SETTINGS_MODULE")

    finished = subprocess.run([sys.executable, "-m", "apps.worker.excel"], cwd=REPO_ROOT, env=environment,
                              capture_output=True, timeout=60, check=False)

    assert finished.returncode == 0, finished.stderr.decode()
    events = [json.loads(line)["event"] for line in finished.stderr.decode().splitlines() if line.startswith("{")]
    assert events == ["worker_started", "worker_idle_exit", "worker_stopped"]


def test_run_worker_command_polls_and_returns(settings, db):
    settings.SQS_WAIT_SECONDS = 0

    call_command("run_worker", "excel", "--max-polls", "1")


def test_queue_down_at_submit_leaves_the_job_queued_and_the_scanner_sends_it_later(tenant, table_queue, settings,
                                                                                  monkeypatch):
    settings.JOBS_DISPATCH_GRACE_SECONDS = 0
    queue = settings.SQS_QUEUE_EXCEL

    def refuse(*args, **kwargs):
        raise QueueError("table queue unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(table_queue, "send", refuse)
        with pytest.raises(JobDispatchError):
            services.job_submit(tenant=tenant, kind="test_echo", payload={})
    job = Job.objects.get()
    assert (job.state, job.external_id, table_queue.depth(queue)) == (JobState.QUEUED, "", 0)

    call_command("scan_stuck_jobs", stdout=io.StringIO())

    job.refresh_from_db()
    [message] = table_queue.receive(queue, wait_seconds=0)
    assert message.message_id == job.external_id
    assert message.body == {"job_id": str(job.id), "kind": "test_echo", "tenant_id": tenant.id}
