"""The AI fleet's tiers (apps/jobs/tiers.py): a job's queue follows its kind's tier and its academy's plan; a normal
AI worker polls basic and lite by weight, a premium-only one the premium queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import TenantPlan
from apps.jobs import services, tiers
from apps.jobs.errors import JobDispatchError
from apps.jobs.models import Job, JobState
from apps.jobs.registry import JobKindSpec, get_spec


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """job_submit as a request runs it: the dispatch after the row commits."""
    def submit(**fields) -> Job:
        with django_capture_on_commit_callbacks(execute=True):
            return services.job_submit(**fields)

    return submit



@pytest.mark.parametrize(("kind_tier", "plan", "expected"), [
    ("lite", "basic", "lite"), ("basic", "basic", "basic"), ("premium", "basic", "premium"),
    ("lite", "premium", "premium"), ("basic", "premium", "premium"), ("premium", "premium", "premium"),
])
def test_a_premium_academys_jobs_take_the_premium_tier_and_others_their_kinds(kind_tier, plan, expected):
    assert tiers.tier_for(kind_tier=kind_tier, plan=plan) == expected


def test_a_tier_kind_takes_its_tiers_queue_and_the_ai_time_limits(settings):
    spec = JobKindSpec(kind="k", backend="queue", queue_setting=None, handler="h", heartbeat_timeout=30, tier="lite")

    assert spec.queue_setting == "SQS_QUEUE_AI_LITE"
    assert spec.queue_settings() == ("SQS_QUEUE_AI_LITE", "SQS_QUEUE_AI_PREMIUM")
    assert spec.time_limits() == (3540, 3600)
    settings.AI_JOB_LEASE_SECONDS, settings.AI_INFERENCE_MAX_SECONDS = 2, 4
    assert spec.time_limits() == (2, 4)  # read at each use: an override reaches running code
    # Kinds without a tier keep one queue and no limit.
    assert get_spec("test_echo").queue_settings() == ("SQS_QUEUE_EXCEL",)
    assert get_spec("test_echo").time_limits() == (0, 0)
    with pytest.raises(ValueError, match="tier"):
        JobKindSpec(kind="k", backend="queue", queue_setting=None, handler="h", heartbeat_timeout=30, tier="gold")
    with pytest.raises(ValueError, match="tier"):
        JobKindSpec(kind="k", backend="batch", queue_setting=None, handler="h", heartbeat_timeout=30, tier="lite")


def test_the_lease_ends_each_attempt_before_the_run_cap():
    from django.conf import settings

    assert (settings.AI_JOB_LEASE_SECONDS, settings.AI_INFERENCE_MAX_SECONDS) == (3540, 3600)


@pytest.mark.parametrize(("kind", "plan", "queue"), [
    ("test_ai_basic", TenantPlan.BASIC, "SQS_QUEUE_AI_BASIC"),
    ("test_ai_basic", TenantPlan.PREMIUM, "SQS_QUEUE_AI_PREMIUM"),
    ("test_ai_lite", TenantPlan.BASIC, "SQS_QUEUE_AI_LITE"),
    ("test_ai_lite", TenantPlan.PREMIUM, "SQS_QUEUE_AI_PREMIUM"),
])
def test_dispatch_sends_a_job_to_the_queue_of_its_tier_and_academys_plan(submit, make_tenant, fake_queues, settings,
                                                                        kind, plan, queue):
    academy = make_tenant(plan=plan)

    job = submit(tenant=academy, kind=kind, payload={"n": 1})

    assert job.queue == getattr(settings, queue)
    assert [sent_queue for sent_queue, _ in fake_queues.sent] == [getattr(settings, queue)]
    assert Job.objects.get(id=job.id).queue == getattr(settings, queue)


def test_a_requeued_job_of_a_premium_academy_goes_back_to_the_premium_queue(make_tenant, make_job, fake_queues,
                                                                           settings):
    # Given a premium academy's basic-tier job whose worker died (loaded without its tenant, as the scanner does)
    academy = make_tenant(plan=TenantPlan.PREMIUM)
    make_job(kind="test_ai_basic", state=JobState.RUNNING, tenant=academy,
             heartbeat_at=timezone.now() - timedelta(hours=1))

    report = services.job_scan_stuck(kind="test_ai_basic")

    assert [action for action, _ in report.actions] == ["requeued"]
    assert [queue for queue, _ in fake_queues.sent] == [settings.SQS_QUEUE_AI_PREMIUM]


def test_the_plan_is_read_when_the_job_is_sent_not_when_it_was_made(make_tenant, make_job, fake_queues, settings):
    academy = make_tenant(plan=TenantPlan.BASIC)
    job = make_job(kind="test_ai_basic", tenant=academy)
    academy.plan = TenantPlan.PREMIUM
    academy.save(update_fields=["plan"])

    services.job_dispatch(job=Job.objects.get(id=job.id))

    assert [queue for queue, _ in fake_queues.sent] == [settings.SQS_QUEUE_AI_PREMIUM]


def test_a_route_hook_picks_a_queue_of_the_kinds_fleet_and_is_refused_another_fleets(submit, make_job, tenant,
                                                                                      fake_queues, settings):
    job = submit(tenant=tenant, kind="test_routed", payload={"queue_setting": "SQS_QUEUE_AI_BASIC"})
    assert job.queue == settings.SQS_QUEUE_AI_BASIC

    # A route naming the excel queue would hand an AI job to workers that cannot run it: not sent, left QUEUED.
    stranded = make_job(kind="test_routed", payload={"queue_setting": "SQS_QUEUE_EXCEL"})
    with pytest.raises(JobDispatchError):
        services.job_dispatch(job=stranded)
    stranded.refresh_from_db()
    assert (stranded.state, stranded.external_id) == (JobState.QUEUED, "")
    assert [queue for queue, _ in fake_queues.sent] == [settings.SQS_QUEUE_AI_BASIC]
