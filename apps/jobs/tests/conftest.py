"""Job fixtures: the test-only kinds, in-memory ports, job rows in any state, an internal-token client."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.jobs import events
from apps.jobs.models import Job, JobState
from apps.jobs.tests import kinds
from apps.jobs.tests.fakes import FakeBatch, FakeQueues


@pytest.fixture(autouse=True)
def test_kinds():
    kinds.register_test_kinds()
    kinds.CALLS.clear()
    yield kinds.CALLS


@pytest.fixture(autouse=True)
def stream_slots(monkeypatch):
    """Each test counts its own open event streams: one left open by an earlier test, closed whenever the garbage
    collector gets to it, gives its slot back to the counter it took it from."""
    slots = events.StreamSlots()
    monkeypatch.setattr(events, "stream_slots", slots)
    return slots


@pytest.fixture
def fake_queues(monkeypatch, settings):
    queues = FakeQueues(max_receive_count=settings.SQS_MAX_RECEIVE_COUNT)
    monkeypatch.setattr("apps.jobs.services._get_queues", lambda: queues)
    return queues


@pytest.fixture
def fake_batch(monkeypatch):
    batch = FakeBatch()
    monkeypatch.setattr("apps.jobs.services._get_batch", lambda: batch)
    return batch


@pytest.fixture
def make_job(tenant):
    def make(kind: str = "test_echo", state: str = JobState.QUEUED, **fields) -> Job:
        if state == JobState.RUNNING:
            now = timezone.now()
            fields = {"attempts": 1, "started_at": now, "heartbeat_at": now, **fields}
        fields.setdefault("tenant", tenant)
        return Job.objects.create(kind=kind, state=state, payload=fields.pop("payload", {"n": 1}), **fields)

    return make


@pytest.fixture
def internal_client(settings):
    client = APIClient()
    client.credentials(HTTP_X_INTERNAL_TOKEN=settings.INTERNAL_WORKER_TOKEN)
    return client
