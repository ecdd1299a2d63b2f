from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.jobs import services
from apps.jobs.errors import JobDispatchError
from apps.jobs.models import Job, JobBackend, JobState
from apps.jobs.tests.fakes import FakeQueueError


def _scan(*args) -> str:
    out = StringIO()
    call_command("scan_stuck_jobs", *args, stdout=out)
    return out.getvalue()


def _ago(seconds: int):
    return timezone.now() - timedelta(seconds=seconds)


def test_stale_running_job_with_attempts_left_is_requeued_and_sent_again(make_job, fake_queues, settings):
    stale = make_job(state=JobState.RUNNING, heartbeat_at=_ago(111), external_id="old-message")
    fresh = make_job(state=JobState.RUNNING, heartbeat_at=_ago(5))

    output = _scan()

    stale.refresh_from_db()
    assert stale.state == JobState.QUEUED
    assert stale.external_id == fake_queues.queues[settings.SQS_QUEUE_EXCEL][0]["id"]
    assert fake_queues.sent == [(settings.SQS_QUEUE_EXCEL,
                                 {"job_id": str(stale.id), "kind": "test_echo", "tenant_id": stale.tenant_id})]
    assert Job.objects.get(id=fresh.id).state == JobState.RUNNING
    assert output.splitlines() == [
        f"requeued {stale.id} kind=test_echo tenant={stale.tenant_id} attempts=1/3",
        "scan_stuck_jobs: requeued=1",
    ]


def test_stale_running_job_without_attempts_left_is_dead(make_job, fake_queues):
    job = make_job(state=JobState.RUNNING, attempts=3, heartbeat_at=_ago(111))

    output = _scan()

    job.refresh_from_db()
    assert job.state == JobState.DEAD
    assert job.error_code == "HEARTBEAT_TIMEOUT"
    assert job.error_message == "작업이 응답하지 않아 중단되었습니다."
    assert job.finished_at is not None
    assert fake_queues.sent == []
    assert output.splitlines()[-1] == "scan_stuck_jobs: dead=1"


def _stale_after(*, limit: int, settings) -> int:
    # A queue job is the scanner's once a receiver could have taken it over: limit + the fleet's window + a long poll.
    return limit + settings.WORKER_FLEETS["excel"]["visibility_window_seconds"] + settings.SQS_WAIT_SECONDS


def test_stale_limit_is_the_kinds_own_plus_one_hold_window_and_long_poll(make_job, fake_queues, settings):
    short = make_job(kind="test_block", state=JobState.RUNNING,
                     heartbeat_at=_ago(_stale_after(limit=2, settings=settings) + 1))
    long = make_job(kind="test_echo", state=JobState.RUNNING,
                    heartbeat_at=_ago(_stale_after(limit=2, settings=settings) + 1))
    not_yet = make_job(kind="test_block", state=JobState.RUNNING,
                       heartbeat_at=_ago(_stale_after(limit=2, settings=settings) - 2))

    _scan()

    assert Job.objects.get(id=short.id).state == JobState.QUEUED
    assert Job.objects.get(id=long.id).state == JobState.RUNNING
    assert Job.objects.get(id=not_yet.id).state == JobState.RUNNING


def test_a_job_waiting_out_its_backoff_is_sent_only_once_due(make_job, fake_queues):
    later = make_job(not_before=timezone.now() + timedelta(seconds=30))
    due = make_job(not_before=_ago(1))

    output = _scan()

    assert [body["job_id"] for _, body in fake_queues.sent] == [str(due.id)]
    assert Job.objects.get(id=later.id).external_id == ""
    assert output.splitlines()[-1] == "scan_stuck_jobs: redispatched=1"


def test_queued_job_never_dispatched_is_sent_after_the_grace_period(make_job, fake_queues, settings):
    settings.JOBS_DISPATCH_GRACE_SECONDS = 30
    old = make_job()
    Job.objects.filter(id=old.id).update(updated_at=_ago(31))
    recent = make_job()
    dispatched = make_job(external_id="m-1")
    Job.objects.filter(id=dispatched.id).update(updated_at=_ago(31))

    output = _scan()

    assert [body["job_id"] for _, body in fake_queues.sent] == [str(old.id)]
    assert Job.objects.get(id=old.id).external_id != ""
    assert Job.objects.get(id=recent.id).external_id == ""
    assert output.splitlines()[-1] == "scan_stuck_jobs: redispatched=1"


def test_dry_run_changes_nothing(make_job, fake_queues):
    requeue = make_job(state=JobState.RUNNING, heartbeat_at=_ago(111))
    kill = make_job(state=JobState.RUNNING, attempts=3, heartbeat_at=_ago(111))
    resend = make_job()
    Job.objects.filter(id=resend.id).update(updated_at=_ago(31))
    before = list(Job.objects.order_by("id").values())

    output = _scan("--dry-run")

    assert list(Job.objects.order_by("id").values()) == before
    assert fake_queues.sent == []
    assert sorted(output.splitlines()[:-1]) == sorted([
        f"would_requeue {requeue.id} kind=test_echo tenant={requeue.tenant_id} attempts=1/3",
        f"would_kill {kill.id} kind=test_echo tenant={kill.tenant_id} attempts=3/3",
        f"would_redispatch {resend.id} kind=test_echo tenant={resend.tenant_id} attempts=0/3",
    ])
    assert output.splitlines()[-1] == "scan_stuck_jobs (dry run): would_requeue=1 would_kill=1 would_redispatch=1"


def test_kind_option_limits_the_scan(make_job, fake_queues):
    echo = make_job(kind="test_echo", state=JobState.RUNNING, heartbeat_at=_ago(111))
    fail = make_job(kind="test_fail", state=JobState.RUNNING, heartbeat_at=_ago(111))

    _scan("--kind", "test_fail")

    assert Job.objects.get(id=echo.id).state == JobState.RUNNING
    assert Job.objects.get(id=fail.id).state == JobState.QUEUED


def test_unknown_kind_option_is_an_error(db):
    with pytest.raises(CommandError, match="unknown job kind"):
        _scan("--kind", "nope")


def test_nothing_to_do(db):
    assert _scan() == "scan_stuck_jobs: nothing to do\n"


@pytest.mark.django_db(transaction=True)
def test_dispatch_failure_leaves_job_queued_and_the_scanner_sends_it_later(tenant, fake_queues, settings):
    settings.JOBS_DISPATCH_GRACE_SECONDS = 0
    fake_queues.send_error = FakeQueueError("sqs down")
    with pytest.raises(JobDispatchError):
        services.job_submit(tenant=tenant, kind="test_echo", payload={})
    job = Job.objects.get()
    assert (job.state, job.external_id) == (JobState.QUEUED, "")

    still_down = _scan()
    fake_queues.send_error = None
    recovered = _scan()

    assert still_down.splitlines()[-1] == "scan_stuck_jobs: redispatch_failed=1"
    assert recovered.splitlines()[-1] == "scan_stuck_jobs: redispatched=1"
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert job.external_id == fake_queues.queues[settings.SQS_QUEUE_EXCEL][0]["id"]
    assert fake_queues.sent == [(settings.SQS_QUEUE_EXCEL,
                                 {"job_id": str(job.id), "kind": "test_echo", "tenant_id": tenant.id})]


def test_the_scan_also_requeues_a_batch_run_the_backend_reports_ended(make_job, fake_batch):
    fake_batch.statuses["batch-0"] = "FAILED"
    gone = make_job(kind="test_batch", state=JobState.RUNNING, backend=JobBackend.BATCH, external_id="batch-0")
    alive = make_job(kind="test_batch", state=JobState.RUNNING, backend=JobBackend.BATCH, external_id="batch-9")
    Job.objects.filter(id__in=[gone.id, alive.id]).update(updated_at=_ago(11))

    output = _scan()

    assert output.splitlines() == [
        f"batch_resubmitted {gone.id} kind=test_batch tenant={gone.tenant_id} attempts=1/3 reason=batch=FAILED",
        "scan_stuck_jobs: batch_resubmitted=1",
    ]
    assert Job.objects.get(id=gone.id).external_id == "batch-1"
    assert Job.objects.get(id=alive.id).external_id == "batch-9"
