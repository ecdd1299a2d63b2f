"""The job fixtures (test kinds, fake ports, job rows), and a worker client wired to the API in-process."""

from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from apps.jobs.tests.conftest import fake_batch, fake_queues, internal_client, make_job, test_kinds  # noqa: F401
from apps.worker.client import InternalApiClient


class DjangoClientSession:
    """A requests-like session sending the worker's calls through Django's test client: same process, same views,
    same database transaction as the test. The end-to-end tests use real HTTP instead."""

    def __init__(self):
        self.client = Client()

    def post(self, url, *, json, headers, timeout):
        answer = self.client.post(urlsplit(url).path, data=json, content_type="application/json", headers=headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        return response


@pytest.fixture
def in_process_client(settings):
    return InternalApiClient("http://testserver", settings.INTERNAL_WORKER_TOKEN, session=DjangoClientSession(),
                             retries=0)
