"""A kind's dispatch gate (a concurrency limit): closed keeps the job QUEUED without external_id, the scanner
dispatches waiting jobs oldest first once it opens, and never reports them as failures."""

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.jobs import services
from apps.jobs.models import Job, JobState
from apps.jobs.tests import kinds


@pytest.fixture(autouse=True)
def one_slot():
    kinds.GATE["slots"] = 1
    yield
    kinds.GATE["slots"] = 1


def _ago(seconds: int):
    return timezone.now() - timedelta(seconds=seconds)


def _scan() -> str:
    out = StringIO()
    call_command("scan_stuck_jobs", "--kind", "test_gated", stdout=out)
    return out.getvalue()


def test_open_gate_dispatches_as_usual(tenant, fake_batch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 1})

    assert Job.objects.get(id=job.id).external_id == "batch-1"
    assert fake_batch.submitted == [{"job_name": f"test_gated-{job.id}", "job_id": str(job.id)}]


def test_closed_gate_keeps_the_job_queued_without_external_id_and_raises_nothing(
    tenant, fake_batch, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 1})

    with caplog.at_level(logging.INFO, logger="apps.jobs.services"), \
            django_capture_on_commit_callbacks(execute=True):
        second = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 2})
    answer = services.job_dispatch(job=second)

    second.refresh_from_db()
    assert answer == ""
    assert (second.state, second.external_id, second.backend) == (JobState.QUEUED, "", "")
    assert [s["job_id"] for s in fake_batch.submitted] == [str(first.id)]
    assert [r.message for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_scanner_reports_gated_jobs_as_waiting_not_as_failures(make_job, fake_batch, tenant):
    make_job(kind="test_gated", external_id="batch-running")
    waiting = make_job(kind="test_gated")
    Job.objects.filter(id=waiting.id).update(updated_at=_ago(120))

    output = _scan()

    assert fake_batch.submitted == []
    assert Job.objects.get(id=waiting.id).external_id == ""
    assert output.splitlines() == [
        f"waiting {waiting.id} kind=test_gated tenant={tenant.id} attempts=0/3",
        "scan_stuck_jobs: waiting=1",
    ]


def test_scanner_dispatches_the_oldest_waiting_job_when_a_slot_frees(make_job, fake_batch, tenant):
    running = make_job(kind="test_gated", state=JobState.RUNNING, external_id="batch-running")
    older, newer = make_job(kind="test_gated"), make_job(kind="test_gated")
    Job.objects.filter(id=older.id).update(updated_at=_ago(90), created_at=_ago(90))
    Job.objects.filter(id=newer.id).update(updated_at=_ago(60), created_at=_ago(60))
    Job.objects.filter(id=running.id).update(state=JobState.DONE)

    output = _scan()

    assert fake_batch.submitted == [{"job_name": f"test_gated-{older.id}", "job_id": str(older.id)}]
    assert Job.objects.get(id=older.id).external_id == "batch-1"
    assert Job.objects.get(id=newer.id).external_id == ""
    assert output.splitlines()[-1] == "scan_stuck_jobs: redispatched=1 waiting=1"


def test_dry_run_tells_waiting_from_sendable_without_sending(make_job, fake_batch):
    kinds.GATE["slots"] = 0
    job = make_job(kind="test_gated")
    Job.objects.filter(id=job.id).update(updated_at=_ago(120))

    report = services.job_scan_stuck(kind="test_gated", dry_run=True)

    assert [(action, j.id) for action, j in report.actions] == [("would_wait", job.id)]
    assert fake_batch.submitted == []


def test_requeued_stale_job_waits_when_the_gate_is_closed(make_job, fake_batch):
    make_job(kind="test_gated", state=JobState.RUNNING, external_id="batch-other")
    stale = make_job(kind="test_gated", state=JobState.RUNNING, external_id="batch-old",
                     heartbeat_at=_ago(61))

    report = services.job_scan_stuck(kind="test_gated")

    stale.refresh_from_db()
    assert [(action, j.id) for action, j in report.actions] == [("requeued_waiting", stale.id)]
    assert (stale.state, stale.external_id) == (JobState.QUEUED, "")
    assert fake_batch.submitted == []


def test_a_finished_job_starts_the_oldest_waiting_job_at_once(tenant, fake_batch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 1})
        second = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 2})
        third = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 3})
    assert [s["job_id"] for s in fake_batch.submitted] == [str(first.id)]

    with django_capture_on_commit_callbacks(execute=True):
        services.job_claim(job_id=first.id)
        services.job_complete(job_id=first.id, result={"ok": True})

    assert [s["job_id"] for s in fake_batch.submitted] == [str(first.id), str(second.id)]
    assert Job.objects.get(id=second.id).external_id != ""
    assert Job.objects.get(id=third.id).external_id == ""


def test_a_waiting_job_read_by_two_callers_is_sent_once(tenant, fake_batch, django_capture_on_commit_callbacks):
    kinds.GATE["slots"] = 2
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_submit(tenant=tenant, kind="test_gated", payload={"n": 1})
    stale_copy = Job.objects.get(id=job.id)
    stale_copy.external_id = ""  # what a second caller read before the first one sent it

    answer = services.job_dispatch(job=stale_copy)

    assert answer == ""
    assert [s["job_id"] for s in fake_batch.submitted] == [str(job.id)]
