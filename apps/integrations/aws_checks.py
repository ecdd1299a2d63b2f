"""ARCHITECTURE §3, read-only checks for operators: is the AWS side (Batch, IAM, logs, SQS) in place?

Used by `manage.py validate_batch_video_system` and the deployment readiness check (apps/integrations/readiness.py).
Each function answers a plain value and raises `AwsCheckError` when AWS cannot be asked (no credentials, denied,
unreachable), so the caller can print the reason; `client` lets a caller pass its own (fewer retries, another
region). Nothing here receives a message or changes a resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from apps.integrations.aws import aws_call, aws_client


class AwsCheckError(Exception):
    pass


@dataclass(frozen=True)
class JobQueueInfo:
    name: str
    state: str  # ENABLED | DISABLED
    status: str  # VALID | INVALID | CREATING | UPDATING | DELETING | DELETED


_call = partial(aws_call, translate=lambda what, exc: AwsCheckError(f"{what}: {exc}"))


def batch_job_queue(name: str, *, client=None) -> JobQueueInfo | None:
    answer = _call("describe_job_queues", (client or aws_client("batch")).describe_job_queues, jobQueues=[name])
    for queue in answer.get("jobQueues", []):
        return JobQueueInfo(queue["jobQueueName"], queue.get("state", ""), queue.get("status", ""))
    return None


def batch_job_definition_active(name: str, *, client=None) -> bool:
    """True when at least one ACTIVE revision of the job definition exists."""
    answer = _call("describe_job_definitions", (client or aws_client("batch")).describe_job_definitions,
                   jobDefinitionName=name, status="ACTIVE")
    return any(d.get("status") == "ACTIVE" for d in answer.get("jobDefinitions", []))


def log_group_exists(name: str) -> bool:
    answer = _call("describe_log_groups", aws_client("logs").describe_log_groups, logGroupNamePrefix=name)
    return any(group["logGroupName"] == name for group in answer.get("logGroups", []))


def iam_role_exists(name: str, *, client=None) -> bool:
    return _call("get_role", (client or aws_client("iam")).get_role, ignore_codes={"NoSuchEntity"},
                 RoleName=name) is not None


_MISSING_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
QUEUE_CHECK_ATTRIBUTES = ["QueueArn", "VisibilityTimeout", "RedrivePolicy"]


def sqs_queue_attributes(name: str, *, client=None) -> dict[str, str] | None:
    """The queue's QueueArn, VisibilityTimeout and RedrivePolicy (GetQueueAttributes: no message is received or
    hidden), or None when no queue has that name."""
    sqs = client or aws_client("sqs")
    found = _call("get_queue_url", sqs.get_queue_url, ignore_codes=_MISSING_QUEUE_CODES, QueueName=name)
    if found is None:
        return None
    answer = _call("get_queue_attributes", sqs.get_queue_attributes, QueueUrl=found["QueueUrl"],
                   AttributeNames=QUEUE_CHECK_ATTRIBUTES)
    return answer.get("Attributes", {})
