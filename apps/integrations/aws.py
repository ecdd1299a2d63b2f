"""ARCHITECTURE §3: the one place a boto3 client is built (timeouts, retries, region, credentials), and what every
port shares: a lazily built client whose errors become the port's own, and the adapter picked once from settings.
"""

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings

T = TypeVar("T")


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def aws_client(service: str, *, region: str | None = None, read_timeout: int = 30, max_attempts: int = 5,
               config_kwargs: dict[str, Any] | None = None, **client_kwargs: Any):
    """A new client; `config_kwargs` adds to the botocore Config, `client_kwargs` go to Session.client.

    The endpoint is AWS's unless `endpoint_url` is given or the environment names one (AWS_ENDPOINT_URL,
    AWS_ENDPOINT_URL_<SERVICE>: botocore reads them), which is how the tests point a process at moto's server.
    """
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=read_timeout,
                    retries={"max_attempts": max_attempts, "mode": "standard"}, **(config_kwargs or {}))
    return boto3.session.Session().client(
        service, region_name=region or settings.AWS_REGION, config=config, **client_kwargs
    )


def aws_call(what: str, fn, /, *, translate: Callable[[str, Exception], Exception],
             ignore_codes: frozenset[str] | set[str] = frozenset(), **kwargs):
    """Call a boto3 method; botocore errors become the port's own (`translate`), and an AWS error whose code is in
    `ignore_codes` (an expected answer such as "no such queue") returns None instead."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except ClientError as exc:
        if aws_error_code(exc) in ignore_codes:
            return None
        raise translate(what, exc) from exc
    except BotoCoreError as exc:
        raise translate(what, exc) from exc


def in_batches(items, size: int):
    """Consecutive lists of at most `size` items: AWS calls take a bounded number each (SQS 10, S3 1,000,
    Batch describe 100)."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class AwsAdapter:
    """Base of the AWS adapters: the client is built on first use, and botocore errors become `error_class`."""

    error_class: type[Exception] = Exception
    service_label = "aws"

    def __init__(self, client=None):
        self._client = AdapterSlot(self.make_client, built=client)

    def make_client(self):
        raise NotImplementedError

    @property
    def client(self):
        return self._client.get()

    def translate_error(self, what: str, exc: Exception) -> Exception:
        return self.error_class(f"{self.service_label} {what}: {exc}")

    def _call(self, what: str, fn, /, *, ignore_codes: frozenset[str] = frozenset(), **kwargs):
        return aws_call(what, fn, translate=self.translate_error, ignore_codes=ignore_codes, **kwargs)


class AdapterSlot(Generic[T]):
    """The adapter a setting picks, built once per process; tests reset it after changing the setting."""

    def __init__(self, build: Callable[[], T], *, built: T | None = None):
        self._build = build
        self._adapter: T | None = built
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._adapter is None:
            with self._lock:
                if self._adapter is None:
                    self._adapter = self._build()
        return self._adapter

    def reset(self) -> None:
        with self._lock:
            self._adapter = None
