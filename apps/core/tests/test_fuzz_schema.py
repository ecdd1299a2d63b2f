"""The whole OpenAPI schema, fuzzed in-process as a tenant admin (issue 9, "Fuzzing as a test").

Every operation of /api/schema/ gets a bounded number of generated requests (derandomized: the same ones each run),
sent through the WSGI app; half of them use the ids of real rows of the admin's tenant in the path, so operations
on an id reach objects and not only 404. Each answer must not be a 5xx and must match the schema: status code,
content type and body. scripts/fuzz_api.py runs the same with more examples.
"""

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from apps.core.tests import fuzzing

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def one_connection():
    # The WSGI handler closes connections around each request; the test's transaction must survive them (as
    # Django's test client arranges).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_operation_answers_as_documented(one_connection, local_storage, settings, tmp_path, admin_user):
    settings.BATCH_LOCAL_LOG_DIR = tmp_path / "batch-logs"
    settings.JOBS_SSE_MAX_SECONDS = 0  # the event stream of a running job answers at once instead of holding on
    world = fuzzing.TenantWorld.build(admin=admin_user)

    failures = fuzzing.run(world=world, max_examples=fuzzing.max_examples(fuzzing.TEST_MAX_EXAMPLES),
                           mode=fuzzing.generation_mode(), boundaries=fuzzing.boundaries())

    assert failures == {}, fuzzing.describe(failures)
