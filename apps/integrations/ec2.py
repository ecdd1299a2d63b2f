"""ARCHITECTURE §5: an idle worker stops its own EC2 instance (EC2_SELF_STOP=1)."""

import logging

import requests

from apps.integrations.aws import aws_client

logger = logging.getLogger(__name__)

# The instance metadata service (IMDSv2) is link-local; it exists only on EC2.
IMDS_BASE_URL = "http://169.254.169.254/latest"


def current_instance_id(*, base_url: str = IMDS_BASE_URL, timeout: float = 2.0) -> str:
    token = requests.put(
        f"{base_url}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout=timeout
    )
    token.raise_for_status()
    response = requests.get(
        f"{base_url}/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token.text}, timeout=timeout
    )
    response.raise_for_status()
    return response.text.strip()


def stop_current_instance(*, instance_id: str | None = None) -> str:
    """Stop (not terminate) this instance, so the fleet's scaler can start it again."""
    instance_id = instance_id or current_instance_id()
    aws_client("ec2").stop_instances(InstanceIds=[instance_id])
    logger.info("ec2_self_stop", extra={"instance_id": instance_id})
    return instance_id
