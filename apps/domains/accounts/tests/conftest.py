"""Parent account fixtures: an academy ready to text, an invite made through the API (make_parent is shared:
apps/conftest.py)."""

import pytest

from apps.core.models import Role
from apps.domains.messaging.tests.sending_support import ready

PARENT_PHONE = "01055556666"
PASSWORD = "pw-12345678"  # the shared make_parent fixture's


@pytest.fixture
def academy(tenant):
    """The tenant with an approved sender number and credit, so invites can be texted."""
    ready(tenant)
    return tenant


@pytest.fixture
def staff_client(client_for, make_user, academy):
    return client_for(make_user(academy, Role.TEACHER, username="teacher1"))


@pytest.fixture
def invite(staff_client):
    """POST an invite; returns the answer's body (setup_code included: tests run on the embedded outbox)."""
    def make(**body):
        response = staff_client.post("/api/v1/parents/invites/", body or {"phone": PARENT_PHONE}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()
    return make
