"""ARCHITECTURE §3 batch port, read-only checks for operators: is the AWS side of the video pipeline in place?

Used by `manage.py validate_batch_video_system`. Each function answers a plain value and raises `AwsCheckError`
when AWS cannot be asked (no credentials, denied, unreachable), so the command can print the reason.
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


def batch_job_queue(name: str) -> JobQueueInfo | None:
    answer = _call("describe_job_queues", aws_client("batch").describe_job_queues, jobQueues=[name])
    for queue in answer.get("jobQueues", []):
        return JobQueueInfo(queue["jobQueueName"], queue.get("state", ""), queue.get("status", ""))
    return None


def batch_job_definition_active(name: str) -> bool:
    """True when at least one ACTIVE revision of the job definition exists."""
    answer = _call("describe_job_definitions", aws_client("batch").describe_job_definitions,
                   jobDefinitionName=name, status="ACTIVE")
    return any(d.get("status") == "ACTIVE" for d in answer.get("jobDefinitions", []))


def log_group_exists(name: str) -> bool:
    answer = _call("describe_log_groups", aws_client("logs").describe_log_groups, logGroupNamePrefix=name)
    return any(group["logGroupName"] == name for group in answer.get("logGroups", []))


def iam_role_exists(name: str) -> bool:
    return _call("get_role", aws_client("iam").get_role, ignore_codes={"NoSuchEntity"}, RoleName=name) is not None
