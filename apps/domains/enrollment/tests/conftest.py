"""Fixtures of the Excel job tests: the two stacks (moto S3 + SQS, local storage + table queue), an in-process
excel worker reporting over real HTTP to `live_server`, and rosters written by openpyxl in the test."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.domains.enrollment.excel.services import XLSX_CONTENT_TYPE
from apps.domains.enrollment.excel.tests.builders import ROSTER_HEADER, write_xlsx
from apps.integrations import queues as queues_module
from apps.integrations import storage as storage_module
from apps.integrations.storage import LOGICAL_BUCKETS
from apps.integrations.tests.conftest import AWS_REGION, aws  # noqa: F401
from apps.worker.client import InternalApiClient
from apps.worker.runtime import build_runtime


def _reset_ports():
    storage_module.reset_storage_for_tests()
    queues_module.reset_queues_for_tests()


@pytest.fixture
def embedded_stack(settings, tmp_path):
    """Local storage and the table queue: what `make run` uses."""
    settings.STORAGE_BACKEND = "local"
    settings.LOCAL_STORAGE_DIR = tmp_path / "storage"
    settings.QUEUE_BACKEND = "table"
    _reset_ports()
    yield "embedded"
    _reset_ports()


@pytest.fixture
def aws_stack(aws, settings):  # noqa: F811
    """R2 through the S3 API and SQS, both answered by moto."""
    settings.STORAGE_BACKEND = "r2"
    settings.QUEUE_BACKEND = "sqs"
    _reset_ports()
    client = storage_module.get_storage().client
    for setting in LOGICAL_BUCKETS.values():
        client.create_bucket(Bucket=getattr(settings, setting),
                             CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    queues_module.sqs_ensure_queues(AWS_REGION)
    yield "aws"
    _reset_ports()


@pytest.fixture(params=["embedded", "aws"])
def stack(request, settings, live_server):
    """Each stack in turn, with presigned local URLs pointing at the live server."""
    settings.API_BASE_URL = live_server.url
    return request.getfixturevalue(f"{request.param}_stack")


@pytest.fixture
def run_worker(live_server, settings):
    """Runs the excel fleet's runtime in this process for `max_polls` polls (one message each), over real HTTP."""

    def run(max_polls: int = 2):
        runtime = build_runtime(
            "excel", client=InternalApiClient(live_server.url, settings.INTERNAL_WORKER_TOKEN, retries=0),
            wait_seconds=0, visibility_window=30, idle_stop_threshold=0, on_idle_exit=None,
        )
        try:
            runtime.run(max_polls=max_polls)
        finally:
            # The live server holds a database connection per open keep-alive socket.
            runtime.client.session.close()

    return run


@pytest.fixture
def roster_upload(tmp_path):
    """roster_upload(rows, header=ROSTER_HEADER, name="명단.xlsx") -> an uploaded file as the browser sends it."""
    counter = iter(range(1, 1000))

    def make(rows: list[list], header: list | None = ROSTER_HEADER, name: str = "명단.xlsx") -> SimpleUploadedFile:
        path = write_xlsx(tmp_path / f"upload-{next(counter)}.xlsx", ([header] if header else []) + rows)
        return SimpleUploadedFile(name, path.read_bytes(), content_type=XLSX_CONTENT_TYPE)

    return make


def upload_of(data: bytes, name: str = "명단.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def stored_imports() -> list[str]:
    return [info.key for info in storage_module.get_storage().list_prefix("excel", "imports/")]
