"""Fair share between academies (ARCHITECTURE §5): a per-kind, per-academy cap on jobs holding a slot, enforced by
the dispatcher; waiting jobs stay QUEUED and go out oldest first across academies as slots free."""

import pytest

from apps.jobs import services
from apps.jobs.models import Job, JobState
from apps.worker.runtime import WorkerRuntime
from apps.worker.tests.conftest import in_process_client  # noqa: F401


@pytest.fixture
def worker(db, fake_queues, in_process_client, settings):  # noqa: F811
    return WorkerRuntime(fleet="excel", queue_names=[settings.SQS_QUEUE_EXCEL], queues=fake_queues,
                         client=in_process_client, wait_seconds=0, visibility_window=30, heartbeat_interval=3600)


def test_academy_bs_small_job_behind_academy_as_ten_starts_after_one_of_them(
    tenant, other_tenant, fake_queues, worker, test_kinds, settings, django_capture_on_commit_callbacks
):
    # Given academy A's burst of ten jobs, then academy B's one, on a fleet of one worker and a cap of one per academy
    with django_capture_on_commit_callbacks(execute=True):
        burst = [services.job_submit(tenant=tenant, kind="test_capped", payload={"n": n}) for n in range(10)]
        small = services.job_submit(tenant=other_tenant, kind="test_capped", payload={"small": True})

    # Then only one of A's is sent; the rest wait QUEUED without a message, B's is sent at once
    waiting = Job.objects.filter(kind="test_capped", state=JobState.QUEUED, external_id="")
    assert sorted(waiting.values_list("id", flat=True)) == sorted(job.id for job in burst[1:])
    assert [body["job_id"] for _, body in fake_queues.sent] == [str(burst[0].id), str(small.id)]

    # When the worker takes one message at a time, each finished job freeing its academy's slot
    for _ in range(11):
        with django_capture_on_commit_callbacks(execute=True):
            worker.run(max_polls=1)
        assert fake_queues.depth(settings.SQS_QUEUE_EXCEL) <= 2  # one per academy at most

    # Then B's job ran second, after one of A's, and A's ran oldest first
    order = [job_id for name, job_id, _ in test_kinds if name == "echo"]
    assert order == [str(burst[0].id), str(small.id), *[str(job.id) for job in burst[1:]]]
    assert Job.objects.filter(kind="test_capped", state=JobState.DONE).count() == 11


def test_a_job_over_its_academys_cap_is_held_back_while_another_academys_goes(
    tenant, other_tenant, fake_queues, make_job, django_capture_on_commit_callbacks
):
    holding = make_job(kind="test_capped", state=JobState.RUNNING)
    mine = make_job(kind="test_capped")
    theirs = make_job(kind="test_capped", tenant=other_tenant)

    assert services.job_dispatch(job=mine) == ""
    assert services.job_dispatch(job=theirs) != ""

    assert Job.objects.get(id=mine.id).external_id == ""
    assert [body["job_id"] for _, body in fake_queues.sent] == [str(theirs.id)]
    # When A's running job ends, its waiting one is sent at once
    with django_capture_on_commit_callbacks(execute=True):
        services.job_complete(job_id=holding.id, result={}, attempt=1)
    assert [body["job_id"] for _, body in fake_queues.sent] == [str(theirs.id), str(mine.id)]


def test_both_caps_are_counted_in_one_query(tenant, other_tenant, make_job, django_assert_num_queries):
    # Given a kind capped per academy and overall, with one slot held by another academy
    from apps.jobs.registry import JobKindSpec

    spec = JobKindSpec(kind="test_capped", backend="queue", queue_setting="SQS_QUEUE_EXCEL", heartbeat_timeout=60,
                       handler="apps.jobs.tests.kinds.echo", max_running_per_tenant=1, max_running_global=2)
    make_job(kind="test_capped", state=JobState.RUNNING, tenant=other_tenant)
    mine = make_job(kind="test_capped")

    # When the dispatcher asks whether the job may take a slot, Then one query answers both caps
    with django_assert_num_queries(1):
        assert services.job_slot_open(job=mine, spec=spec) is True
    # And a second held slot closes the overall cap without sending anything
    make_job(kind="test_capped", state=JobState.RUNNING, tenant=other_tenant)
    assert services.job_slot_open(job=mine, spec=spec) is False
    assert Job.objects.get(id=mine.id).external_id == ""
