"""ARCHITECTURE §3: the one place a boto3 client is built (timeouts, retries, region, credentials)."""

from typing import Any

from django.conf import settings


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def aws_client(service: str, *, region: str | None = None, read_timeout: int = 30, **client_kwargs: Any):
    import boto3
    from botocore.config import Config

    extra_config = client_kwargs.pop("config_kwargs", {})
    config = Config(connect_timeout=5, read_timeout=read_timeout,
                    retries={"max_attempts": 5, "mode": "standard"}, **extra_config)
    return boto3.session.Session().client(
        service, region_name=region or settings.AWS_REGION, config=config, **client_kwargs
    )
