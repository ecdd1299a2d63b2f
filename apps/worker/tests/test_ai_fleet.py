"""The AI fleet on the shared runtime (docs/jobs.md "AI fleet"): which queues a worker polls and by what weights, the
lease that stops a handler (INFERENCE_TIMEOUT, partial work kept, message deleted) and the scheduler's run cap."""

import random
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import TenantPlan
from apps.integrations.queues import QueueMessage, get_queues, reset_queues_for_tests
from apps.jobs import services
from apps.jobs.fleets import get_fleet
from apps.jobs.models import Job, JobState
from apps.jobs.tests import kinds
from apps.worker.runtime import WorkerRuntime, build_runtime, execute_job
from apps.worker.tests.support import start_worker, wait_until


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """job_submit as a request runs it: the dispatch after the row commits."""
    def submit(**fields) -> Job:
        with django_capture_on_commit_callbacks(execute=True):
            return services.job_submit(**fields)

    return submit



class AlwaysFullQueues:
    """Every queue always has a message: the first queue a poll asks is the one it takes from."""

    def __init__(self):
        self.asked: list[str] = []

    def receive(self, queue, *, max_messages, wait_seconds, visibility_timeout):
        self.asked.append(queue)
        return [QueueMessage(message_id=str(len(self.asked)), receipt="r", body={}, receive_count=1)]


def _polls(queues: AlwaysFullQueues, polls: int, rng: random.Random) -> list[str]:
    taken: list[str] = []
    runtime = build_runtime("ai", queues=queues, rng=rng, wait_seconds=0)
    runtime.handle_message = lambda queue, message: taken.append(queue)
    runtime.run(max_polls=polls)
    return taken


def test_a_normal_ai_worker_takes_basic_and_lite_three_to_one_and_never_premium(db, settings):
    queues = AlwaysFullQueues()

    taken = _polls(queues, 4000, random.Random(20261128))

    assert get_fleet("ai").poll_weights == (3, 1)
    assert set(queues.asked) == {settings.SQS_QUEUE_AI_BASIC, settings.SQS_QUEUE_AI_LITE}
    share = taken.count(settings.SQS_QUEUE_AI_BASIC) / len(taken)
    assert 0.72 < share < 0.78, share


def test_the_weights_are_a_setting(db, settings):
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS, "ai": {**settings.WORKER_FLEETS["ai"], "poll_weights": [1, 1]}}

    taken = _polls(AlwaysFullQueues(), 4000, random.Random(7))

    assert 0.47 < taken.count(settings.SQS_QUEUE_AI_BASIC) / len(taken) < 0.53


def test_a_premium_only_worker_polls_the_premium_queue_alone(db, settings):
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS, "ai": {**settings.WORKER_FLEETS["ai"],
                                                              "poll_queues": ["SQS_QUEUE_AI_PREMIUM"],
                                                              "poll_weights": []}}
    queues = AlwaysFullQueues()

    _polls(queues, 50, random.Random(1))

    assert set(queues.asked) == {settings.SQS_QUEUE_AI_PREMIUM}


def test_an_empty_first_queue_hands_the_poll_to_the_other(submit, fake_queues, tenant, in_process_client):
    # Given a lite job only: whichever queue the weights pick first, one poll finds it
    jobs = [submit(tenant=tenant, kind="test_ai_lite", payload={"n": n}) for n in range(8)]
    runtime = build_runtime("ai", queues=fake_queues, client=in_process_client, wait_seconds=0,
                            rng=random.Random(3), heartbeat_interval=3600)

    runtime.run(max_polls=8)

    assert {Job.objects.get(id=job.id).state for job in jobs} == {JobState.DONE}


# ---------------------------------------------------------------------------
# Lease and run cap
# ---------------------------------------------------------------------------
class ManualClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ai_runtime(fake_queues, in_process_client, settings):
    def make(clock=None) -> WorkerRuntime:
        options = {"fleet": "ai", "queue_names": get_fleet("ai").poll_queue_names(), "queues": fake_queues,
                   "client": in_process_client, "wait_seconds": 0, "visibility_window": 30,
                   "heartbeat_interval": 3600}
        if clock is not None:
            options["clock"] = clock
        return WorkerRuntime(**options)

    return make


@pytest.fixture
def page_clock():
    clock = ManualClock()
    kinds.PAGE_TICK["tick"] = lambda: clock.advance(1)  # each page takes one second of this clock
    yield clock
    kinds.PAGE_TICK["tick"] = None


def test_a_job_past_its_lease_is_stopped_failed_inference_timeout_keeps_its_pages_and_its_message_goes(
    submit, ai_runtime, page_clock, tenant, fake_queues, settings, tmp_path, test_kinds
):
    # Given a lease of 2.5 s (the injected clock) and a job of ten one-second pages
    settings.AI_JOB_LEASE_SECONDS = 2.5
    job = submit(tenant=tenant, kind="test_pages", payload={"dir": str(tmp_path), "pages": 10})

    ai_runtime(clock=page_clock).run(max_polls=1)

    # Then the handler stopped at the lease: three pages done and kept, the job FAILED, not retried
    job.refresh_from_db()
    assert (job.state, job.error_code, job.attempts) == (JobState.FAILED, "INFERENCE_TIMEOUT", 1)
    assert job.error_details == {"limit_seconds": 2.5, "pages_done": 3}
    assert sorted(path.name for path in tmp_path.glob("page-*")) == ["page-0", "page-1", "page-2"]
    assert fake_queues.depth(settings.SQS_QUEUE_AI_BASIC) == 0
    assert ("on_terminal", str(job.id), 1) not in test_kinds  # test_pages has no hook; nothing else ran it


def test_a_job_within_its_lease_completes(submit, ai_runtime, page_clock, tenant, settings, tmp_path):
    settings.AI_JOB_LEASE_SECONDS = 10
    job = submit(tenant=tenant, kind="test_pages", payload={"dir": str(tmp_path), "pages": 4})

    ai_runtime(clock=page_clock).run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.result) == (JobState.DONE, {"pages": 4})


def test_sigterm_before_the_lease_hands_the_job_back_instead(submit, ai_runtime, tenant, settings, tmp_path, make_job):
    # Stop requested by SIGTERM, not by the lease: released for another worker, as for every fleet.
    settings.AI_JOB_LEASE_SECONDS = 3600
    job = submit(tenant=tenant, kind="test_pages", payload={"dir": str(tmp_path), "pages": 10})
    runtime = ai_runtime()
    kinds.PAGE_TICK["tick"] = runtime.stop_event.set
    try:
        runtime.handle_message(settings.SQS_QUEUE_AI_BASIC, runtime.queues.receive(
            settings.SQS_QUEUE_AI_BASIC, visibility_timeout=30)[0])
    finally:
        kinds.PAGE_TICK["tick"] = None

    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.QUEUED, "WORKER_STOPPED")
    assert sorted(path.name for path in tmp_path.glob("page-*")) == ["page-0"]


def test_a_job_still_running_at_the_run_cap_is_ended_by_the_scheduler_and_its_late_result_refused(
    submit, ai_runtime, tenant, fake_queues, settings, test_kinds
):
    # Given a handler that ignores its lease while a scheduler pass sees it past the cap, then returns anyway
    job = submit(tenant=tenant, kind="test_overrun", payload={"after_seconds": 3601})

    ai_runtime().run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.error_code, job.error_details) == (JobState.FAILED, "INFERENCE_TIMEOUT",
                                                              {"limit_seconds": 3600.0})
    assert job.result is None
    assert fake_queues.depth(settings.SQS_QUEUE_AI_BASIC) == 0
    assert [call[0] for call in test_kinds] == ["overrun"]


def test_the_scheduler_ends_a_job_claimed_longer_ago_than_the_cap_and_leaves_one_within_it(make_job, tenant):
    # Given two running jobs with fresh heartbeats, claimed 3,599 s and 3,601 s ago (the cap is 3,600 s)
    now = timezone.now()
    within = make_job(kind="test_pages", state=JobState.RUNNING, started_at=now - timedelta(seconds=3599))
    past = make_job(kind="test_pages", state=JobState.RUNNING, started_at=now - timedelta(seconds=3601))

    dry = services.job_scan_stuck(kind="test_pages", dry_run=True, now=now)
    report = services.job_scan_stuck(kind="test_pages", now=now)

    assert [(action, job.id) for action, job in dry.actions] == [("would_time_out", past.id)]
    assert [(action, job.id) for action, job in report.actions] == [("timed_out", past.id)]
    past.refresh_from_db()
    assert (past.state, past.error_code, past.error_details) == (JobState.FAILED, "INFERENCE_TIMEOUT",
                                                                 {"limit_seconds": 3600.0})
    assert Job.objects.get(id=within.id).state == JobState.RUNNING


@pytest.mark.django_db(transaction=True)  # the heartbeat thread's own connection must see the job
def test_a_worker_whose_job_ended_under_it_stops_holding_the_message(submit, in_process_client, tenant, test_kinds):
    # Given a heartbeat every 10 ms, and a handler that sees its job cancelled and keeps working until the heartbeat
    # thread has ended
    extended: list[int] = []
    kinds.OUTLIVED.update(extends_at_lost=None, count=lambda: len(extended))
    job = submit(tenant=tenant, kind="test_outlive_hold", payload={})

    try:
        execution = execute_job(job_id=job.id, client=in_process_client, stop_event=threading.Event(),
                                extend_lease=lambda: extended.append(1), heartbeat_interval=0.01)
    finally:
        kinds.OUTLIVED["count"] = None

    # Then the hold was extended at most once after the refusal was heard (the beat that heard it), never again
    assert kinds.OUTLIVED["extends_at_lost"] is not None
    assert len(extended) - kinds.OUTLIVED["extends_at_lost"] <= 1
    assert execution.state == JobState.CANCELLED


# ---------------------------------------------------------------------------
# Real processes: two AI workers, one premium-only
# ---------------------------------------------------------------------------
@pytest.fixture
def table_queue(settings):
    settings.QUEUE_BACKEND = "table"
    reset_queues_for_tests()
    yield get_queues()
    reset_queues_for_tests()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_ai_worker_processes_split_by_plan_and_stop_each_job_at_its_lease(live_server, tmp_path, make_tenant,
                                                                              table_queue, settings):
    # Given a basic and a premium academy, each with a long paged job, and the lease cut to one second
    basic, premium = make_tenant(plan=TenantPlan.BASIC), make_tenant(plan=TenantPlan.PREMIUM)
    dirs = {name: tmp_path / name for name in ("basic", "premium")}
    for path in dirs.values():
        path.mkdir()
    jobs = {name: services.job_submit(tenant=academy, kind="test_pages",
                                      payload={"dir": str(dirs[name]), "pages": 100_000})
            for name, academy in (("basic", basic), ("premium", premium))}
    assert {name: job.queue for name, job in jobs.items()} == {"basic": settings.SQS_QUEUE_AI_BASIC,
                                                               "premium": settings.SQS_QUEUE_AI_PREMIUM}
    limits = {"AI_JOB_LEASE_SECONDS": "1", "AI_INFERENCE_MAX_SECONDS": "2", "AI_VISIBILITY_WINDOW_SECONDS": "3"}
    workers = [start_worker("ai", api_url=live_server.url, log_dir=tmp_path, name="ai-normal", **limits),
               start_worker("ai", api_url=live_server.url, log_dir=tmp_path, name="ai-premium",
                            AI_WORKER_PREMIUM_ONLY="true", **limits)]
    try:
        # When both run: each job ends FAILED INFERENCE_TIMEOUT once, on the worker of its tier
        wait_until(lambda: all(Job.objects.get(id=job.id).state == JobState.FAILED for job in jobs.values()),
                   timeout=60)
        wait_until(lambda: all(table_queue.depth(job.queue) == 0 for job in jobs.values()), timeout=30)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    for name, job in jobs.items():
        job.refresh_from_db()
        assert (job.error_code, job.attempts) == ("INFERENCE_TIMEOUT", 1)
        assert (dirs[name] / "worker-1").read_text() == f"ai-{'premium' if name == 'premium' else 'normal'}"
        # The pages done stay, and the error says how many
        assert job.error_details["pages_done"] == len(list(dirs[name].glob("page-*"))) > 0
