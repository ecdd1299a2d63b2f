"""The job fixtures (test kinds, fake ports, job rows), and a worker client wired to the API in-process."""


import pytest

from apps.jobs.tests.conftest import fake_batch, fake_queues, internal_client, make_job, test_kinds  # noqa: F401
from apps.worker.client import InternalApiClient
from apps.worker.tests.support import DjangoClientSession


@pytest.fixture
def in_process_client(settings):
    return InternalApiClient("http://testserver", settings.INTERNAL_WORKER_TOKEN, session=DjangoClientSession(),
                             retries=0)
