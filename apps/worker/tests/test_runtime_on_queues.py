"""The runtime's settle rules on both queue adapters (the table queue on Postgres, SQS on moto): a recorded outcome
deletes the message, a retry is a new dispatch later, a job another live worker holds comes back after its
staleness limit."""

import pytest
from django.utils import timezone

from apps.integrations.tests.conftest import aws, queues, sqs_queues, table_queues  # noqa: F401
from apps.jobs import services
from apps.jobs.models import Job, JobState
from apps.worker.runtime import WorkerRuntime


@pytest.fixture
def on_queues(queues, monkeypatch):  # noqa: F811
    monkeypatch.setattr("apps.jobs.services._get_queues", lambda: queues)
    return queues


@pytest.fixture
def worker(on_queues, in_process_client, settings):
    return WorkerRuntime(fleet="excel", queue_names=[settings.SQS_QUEUE_EXCEL], queues=on_queues,
                         client=in_process_client, wait_seconds=0, visibility_window=30, heartbeat_interval=3600)


def _sent(make_job, **fields) -> Job:
    job = make_job(**fields)
    services.job_dispatch(job=job)
    return job


def test_a_completed_job_deletes_its_message(worker, on_queues, make_job, settings):
    job = _sent(make_job)

    worker.run(max_polls=1)

    assert Job.objects.get(id=job.id).state == JobState.DONE
    assert on_queues.depth(settings.SQS_QUEUE_EXCEL) == 0


def test_a_retryable_failure_deletes_its_message_and_holds_the_job_until_its_backoff(worker, on_queues, make_job,
                                                                                    settings):
    job = _sent(make_job, kind="test_retry")

    worker.run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.external_id) == (JobState.QUEUED, 1, "")
    assert job.not_before > timezone.now()
    assert on_queues.depth(settings.SQS_QUEUE_EXCEL) == 0


def test_a_job_a_live_worker_holds_sends_the_message_away_until_its_heartbeat_could_be_stale(
    worker, on_queues, make_job, settings, test_kinds
):
    job = _sent(make_job)
    services.job_claim(job_id=job.id)  # another worker has it, heartbeat fresh

    worker.run(max_polls=1)

    assert test_kinds == []
    assert Job.objects.get(id=job.id).attempts == 1
    assert on_queues.receive(settings.SQS_QUEUE_EXCEL, wait_seconds=0, visibility_timeout=0) == []
    assert on_queues.depth(settings.SQS_QUEUE_EXCEL) == 1
