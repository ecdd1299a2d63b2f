"""run_scheduler (ARCHITECTURE §5): one active under a lock however many are started; each pass dispatches due jobs,
recovers stale ones, reconciles Batch runs and runs the periodic tasks domains register."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.jobs import scheduler as scheduler_module
from apps.jobs.models import Job, JobBackend, JobState
from apps.jobs.scheduler import (
    HEARTBEAT_CACHE_KEY,
    PeriodicTask,
    Scheduler,
    SchedulerLock,
    register_periodic,
    scheduler_last_pass,
)

RAN: list[str] = []


def count_run():
    RAN.append("count")
    return 1


def explode():
    raise RuntimeError("periodic task broke")


@pytest.fixture
def periodic(monkeypatch):
    """A registry of this test's own periodic tasks only."""
    monkeypatch.setattr(scheduler_module, "_periodic", {})
    RAN.clear()
    return register_periodic


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _in_another_session(fn):
    """Runs fn in a thread, i.e. on its own database connection (another scheduler process, as far as locks go)."""
    answer = []

    def run():
        try:
            answer.append(fn())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return answer[0]


def test_only_one_scheduler_holds_the_lock_and_another_takes_over_once_it_is_released(db):
    first = SchedulerLock()

    assert first.acquire() is True
    assert first.acquire() is True  # still held: asking again is cheap and changes nothing
    assert _in_another_session(lambda: SchedulerLock().acquire()) is False

    first.release()

    def take_then_release():
        second = SchedulerLock()
        try:
            return second.acquire()
        finally:
            second.release()

    assert _in_another_session(take_then_release) is True


def test_the_file_lock_for_sqlite_admits_one_holder(tmp_path):
    first, second = SchedulerLock(lock_file=tmp_path / "s.lock"), SchedulerLock(lock_file=tmp_path / "s.lock")

    assert first._acquire_file() is True
    assert second._acquire_file() is False
    first._handle.close()
    assert second._acquire_file() is True


def test_a_pass_requeues_a_stale_job_and_sends_a_due_one_but_not_one_still_backing_off(make_job, fake_queues,
                                                                                        periodic):
    stale = make_job(kind="test_block", state=JobState.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1),
                     external_id="lost-message")
    due = make_job(not_before=timezone.now() - timedelta(seconds=1))
    later = make_job(not_before=timezone.now() + timedelta(seconds=60))

    report = Scheduler(interval=1).tick()

    assert report.actions == {"requeued": 1, "redispatched": 1}
    stale.refresh_from_db()
    assert (stale.state, stale.external_id != "lost-message") == (JobState.QUEUED, True)
    assert sorted(body["job_id"] for _, body in fake_queues.sent) == sorted([str(stale.id), str(due.id)])
    assert Job.objects.get(id=later.id).external_id == ""


def test_a_standby_scheduler_does_nothing(make_job, fake_queues, periodic):
    periodic(PeriodicTask(name="count", function="apps.jobs.tests.test_scheduler.count_run", every_seconds=1))
    make_job(not_before=timezone.now() - timedelta(seconds=1))
    holder = SchedulerLock()
    assert holder.acquire()

    try:
        report = _in_another_session(lambda: Scheduler(interval=1).tick())
    finally:
        holder.release()

    assert report is None
    assert fake_queues.sent == []
    assert RAN == []


def test_an_active_pass_records_the_heartbeat_and_a_standby_one_does_not(db, fake_queues, periodic):
    cache.delete(HEARTBEAT_CACHE_KEY)
    holder = SchedulerLock()
    assert holder.acquire()
    try:
        assert _in_another_session(lambda: Scheduler(interval=1).tick()) is None
    finally:
        holder.release()
    assert scheduler_last_pass() is None

    with time_machine.travel(1_900_000_000, tick=False):
        Scheduler(interval=1).tick()

    assert scheduler_last_pass() == 1_900_000_000.0
    cache.delete(HEARTBEAT_CACHE_KEY)


def test_a_cache_that_fails_never_stops_a_pass(db, fake_queues, periodic, monkeypatch):
    class DownCache:
        def set(self, *_args, **_kwargs):
            raise ConnectionError("redis down")

    monkeypatch.setattr(scheduler_module, "cache", DownCache())

    report = Scheduler(interval=1).tick()

    assert report is not None and report.errors == []


def test_periodic_tasks_run_once_per_period_and_one_failing_stops_no_other(db, periodic):
    periodic(PeriodicTask(name="broken", function="apps.jobs.tests.test_scheduler.explode", every_seconds=10))
    periodic(PeriodicTask(name="count", function="apps.jobs.tests.test_scheduler.count_run", every_seconds=10))
    clock = FakeClock()
    scheduler = Scheduler(interval=1, clock=clock)

    first = scheduler.tick()
    clock.now += 9
    second = scheduler.tick()
    clock.now += 1
    third = scheduler.tick()

    assert (first.periodic, first.errors) == (["count"], ["broken"])
    assert (second.periodic, second.errors) == ([], [])
    assert third.periodic == ["count"]
    assert RAN == ["count", "count"]


def test_a_pass_requeues_a_batch_run_the_backend_reports_dead_without_waiting_for_its_heartbeat(
    make_job, fake_batch, periodic, settings
):
    fake_batch.statuses["batch-0"] = "ABSENT"
    job = make_job(kind="test_batch", state=JobState.RUNNING, backend=JobBackend.BATCH, external_id="batch-0",
                   heartbeat_at=timezone.now())
    Job.objects.filter(id=job.id).update(updated_at=timezone.now() - timedelta(seconds=11))

    clock = FakeClock()
    scheduler = Scheduler(interval=1, clock=clock)

    report = scheduler.tick()

    assert report.actions == {"batch_resubmitted": 1}
    job.refresh_from_db()
    assert (job.state, job.external_id, job.attempts) == (JobState.QUEUED, "batch-1", 1)
    # Batch is asked again only after BATCH_RECONCILE_EVERY_SECONDS, not on every 2 s pass.
    asked = []
    fake_batch.describe = lambda ids: asked.append(ids) or {}
    Job.objects.filter(id=job.id).update(state=JobState.RUNNING, updated_at=timezone.now() - timedelta(seconds=11))
    scheduler.tick()
    clock.now += scheduler_module.BATCH_RECONCILE_EVERY_SECONDS
    scheduler.tick()
    assert asked == [["batch-1"]]


def test_purge_expired_exports_is_registered_hourly():
    [task] = [task for task in scheduler_module.all_periodic() if task.name == "purge_expired_exports"]

    assert (task.function, task.every_seconds) == ("apps.domains.enrollment.periodic.purge_expired_exports", 3600)


def test_run_scheduler_command_runs_its_passes_and_returns(make_job, fake_queues, periodic):
    due = make_job(not_before=timezone.now() - timedelta(seconds=1))

    call_command("run_scheduler", "--max-ticks", "1", "--interval", "0.01")

    assert [body["job_id"] for _, body in fake_queues.sent] == [str(due.id)]
