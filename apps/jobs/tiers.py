"""ARCHITECTURE §4 AI, routing: the AI fleet's tiers (lite, basic, premium), one queue each, and the tenant's plan.

A job kind declares the tier it needs (`JobKindSpec(tier="lite")`); the queue of one job is its kind's tier, unless
the academy is on the premium plan: then every AI job of it goes to the premium queue, which only premium-only
workers (`AI_WORKER_PREMIUM_ONLY`) poll. A kind declared on the premium tier always goes there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.jobs.models import Job

LITE, BASIC, PREMIUM = "lite", "basic", "premium"
PREMIUM_PLAN = "premium"  # apps.core.models.TenantPlan.PREMIUM (not imported: the registry loads this module early)
TIER_QUEUE_SETTINGS = {
    LITE: "SQS_QUEUE_AI_LITE",
    BASIC: "SQS_QUEUE_AI_BASIC",
    PREMIUM: "SQS_QUEUE_AI_PREMIUM",
}
# The AI kinds' time limits (docs/jobs.md "AI fleet"): the longest one attempt holds its claim before the worker
# stops the handler, and the cap past which the scheduler ends a job still running.
AI_LEASE_SETTING = "AI_JOB_LEASE_SECONDS"
AI_RUN_CAP_SETTING = "AI_INFERENCE_MAX_SECONDS"


def tier_for(*, kind_tier: str, plan: str) -> str:
    """The tier one job runs on: the kind's own, or premium for an academy on the premium plan."""
    if kind_tier not in TIER_QUEUE_SETTINGS:
        raise ValueError(f"unknown tier {kind_tier!r}; expected one of {sorted(TIER_QUEUE_SETTINGS)}")
    return PREMIUM if plan == PREMIUM_PLAN else kind_tier


def route_by_plan(job: Job, tier: str) -> str:
    """The route hook of every tier kind: the queue setting of the job's tier given its academy's plan.

    Reads the plan from the tenant the caller loaded with the job (job_submit passes it), else one query.
    """
    from apps.core.models import Tenant, TenantPlan

    if type(job).tenant.is_cached(job):
        plan = job.tenant.plan
    else:
        plan = Tenant.objects.filter(id=job.tenant_id).values_list("plan", flat=True).first() or TenantPlan.BASIC
    return TIER_QUEUE_SETTINGS[tier_for(kind_tier=tier, plan=plan)]
