"""Adapters for the contract suites: every port's production adapter on moto, and its embedded adapter for real."""

from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from apps.integrations import storage as storage_module
from apps.integrations.storage import LOGICAL_BUCKETS

AWS_REGION = "ap-northeast-2"


@pytest.fixture
def aws(monkeypatch, settings):
    """moto for every AWS call inside the test, with fake credentials that could never reach AWS."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    settings.AWS_REGION = AWS_REGION
    settings.R2_ENDPOINT_URL = ""
    settings.R2_ACCESS_KEY_ID = "testing"
    settings.R2_SECRET_ACCESS_KEY = "testing"
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield


@pytest.fixture
def r2_storage(aws, settings):
    import boto3

    s3 = boto3.client("s3", region_name=AWS_REGION)
    for setting in LOGICAL_BUCKETS.values():
        s3.create_bucket(Bucket=getattr(settings, setting),
                         CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    settings.STORAGE_BACKEND = "r2"
    storage_module.reset_storage_for_tests()
    yield storage_module.get_storage()
    storage_module.reset_storage_for_tests()


class DjangoHttp:
    """Follows a local presigned URL through the Django test client, as a browser would follow it to the API."""

    def __init__(self):
        self.client = Client()

    def _path(self, url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"

    def put(self, url: str, data: bytes, headers: dict | None = None) -> tuple[int, dict]:
        headers = dict(headers or {})
        content_type = headers.pop("Content-Type", "application/octet-stream")
        response = self.client.put(self._path(url), data=data, content_type=content_type, headers=headers)
        return response.status_code, dict(response.headers)

    def get(self, url: str) -> tuple[int, bytes, dict]:
        response = self.client.get(self._path(url))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, body, dict(response.headers)


class RequestsHttp:
    """Follows an S3 presigned URL with requests; moto answers it inside mock_aws."""

    def put(self, url: str, data: bytes, headers: dict | None = None) -> tuple[int, dict]:
        response = requests.put(url, data=data, headers=headers or {}, timeout=10)
        return response.status_code, dict(response.headers)

    def get(self, url: str) -> tuple[int, bytes, dict]:
        response = requests.get(url, timeout=10)
        return response.status_code, response.content, dict(response.headers)


@pytest.fixture(params=["local", "r2"])
def storage_backend(request):
    """(storage, http) for each adapter: the contract suite runs once per adapter."""
    if request.param == "local":
        return request.getfixturevalue("local_storage"), DjangoHttp()
    return request.getfixturevalue("r2_storage"), RequestsHttp()


MAX_RECEIVES_IN_TESTS = 3


@pytest.fixture
def table_queues(db, settings):
    from apps.integrations.queues import TableQueue

    settings.SQS_MAX_RECEIVE_COUNT = MAX_RECEIVES_IN_TESTS
    return TableQueue(poll_interval=0.05)


@pytest.fixture
def sqs_queues(aws, settings):
    from apps.integrations.queues import SqsQueues, sqs_ensure_queues

    settings.SQS_MAX_RECEIVE_COUNT = MAX_RECEIVES_IN_TESTS
    sqs_ensure_queues(AWS_REGION)
    return SqsQueues()


@pytest.fixture(params=["table", "sqs"])
def queues(request):
    """Each queue adapter in turn: the contract suite runs once per adapter."""
    return request.getfixturevalue(f"{request.param}_queues")


# ---------------------------------------------------------------------------
# Messaging provider
# ---------------------------------------------------------------------------
@pytest.fixture
def fake_solapi(settings):
    """A fake Solapi on a loopback port, and the settings that point the Solapi adapter at it."""
    from apps.integrations.messaging import reset_message_provider_for_tests
    from apps.integrations.tests.fake_solapi import FakeSolapi

    server = FakeSolapi().start()
    settings.MESSAGING_PROVIDER = "solapi"
    settings.SOLAPI_API_KEY = server.api_key
    settings.SOLAPI_API_SECRET = server.api_secret
    settings.SOLAPI_BASE_URL = server.url
    settings.MESSAGING_BATCH_SIZE = 10_000
    settings.MESSAGING_HTTP_CONNECT_TIMEOUT_SECONDS = 5
    settings.MESSAGING_HTTP_TIMEOUT_SECONDS = 10
    reset_message_provider_for_tests()
    yield server
    server.stop()
    reset_message_provider_for_tests()


class OutboxHarness:
    """What a contract test needs of the outbox beyond the port: the carriers' answer, a failing number."""

    failing_number = "01099990001"

    def settle(self):
        from datetime import timedelta

        from django.utils import timezone

        from apps.integrations.models import OutboxMessage

        OutboxMessage.objects.update(created_at=timezone.now() - timedelta(hours=1))


class FakeSolapiHarness:
    failing_number = "01099990001"

    def __init__(self, server):
        self.server = server
        # The fake's rule for the number the outbox reserves, so both adapters answer it alike.
        server.codes_by_to[self.failing_number] = "3104"

    def settle(self):
        self.server.settle()


@pytest.fixture(params=["outbox", "solapi"])
def message_provider(request, db, settings):
    """(provider, harness) for each adapter: the contract suite runs once per adapter."""
    from apps.integrations.messaging import get_message_provider, reset_message_provider_for_tests

    if request.param == "outbox":
        settings.MESSAGING_PROVIDER = "outbox"
        settings.MESSAGING_BATCH_SIZE = 10_000
        reset_message_provider_for_tests()
        yield get_message_provider(), OutboxHarness()
        reset_message_provider_for_tests()
    else:
        server = request.getfixturevalue("fake_solapi")
        yield get_message_provider(), FakeSolapiHarness(server)
