"""Parent account fixtures: an academy ready to text, an invite made through the API, a parent with a password."""

import pytest

from apps.core.models import Role
from apps.domains.accounts.models import Parent, ParentStudent
from apps.domains.messaging.tests.sending_support import ready

PARENT_PHONE = "01055556666"
PASSWORD = "parent-pw-2468"


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


@pytest.fixture
def make_parent(make_user):
    """A parent with a password (activated), linked to `students`."""
    def make(tenant, *students, phone=PARENT_PHONE, password=PASSWORD):
        user = make_user(tenant, role=Role.PARENT, username=f"{phone}@{tenant.code}")
        user.set_password(password)
        user.save(update_fields=["password"])
        parent = Parent.objects.create(tenant=tenant, user=user, phone=phone)
        for student in students:
            ParentStudent.objects.create(tenant=tenant, parent=parent, student=student)
        return parent
    return make
