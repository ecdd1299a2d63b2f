"""Shared fixtures: tenants, users of every role, authenticated API clients, domain rows."""

import itertools

import pytest
from rest_framework.test import APIClient

from apps.core import versioned_cache
from apps.core.models import Role, Tenant, User

# The fake Solapi for every app's tests (the messaging domain's as well as the provider's contract suite).
from apps.integrations.tests.conftest import fake_solapi  # noqa: F401

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def empty_redis():
    """Each test starts with nothing cached: database ids repeat from one test run to the next. Only this test
    process's keys go (settings.test gives each xdist worker its own prefix), never another worker's."""
    from django.conf import settings

    versioned_cache._Breaker.off_until = 0.0
    client = versioned_cache.redis_client()
    if client is not None:
        keys = list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    return client


@pytest.fixture
def make_tenant(db):
    def make(code: str | None = None, **fields) -> Tenant:
        code = code or f"t{next(_seq)}"
        return Tenant.objects.create(code=code, name=fields.pop("name", f"{code} 학원"), **fields)

    return make


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("alpha")


@pytest.fixture
def other_tenant(make_tenant):
    return make_tenant("beta")


@pytest.fixture
def make_user(db):
    def make(tenant: Tenant | None, role: str = Role.ADMIN, username: str | None = None, **fields) -> User:
        username = username or f"{role}{next(_seq)}"
        return User.objects.create_user(username=username, password="pw-12345678", tenant=tenant, role=role,
                                        **fields)

    return make


@pytest.fixture
def admin_user(make_user, tenant):
    return make_user(tenant, Role.ADMIN)


@pytest.fixture
def client_for():
    """An API client authenticated as the given user."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def admin_client(client_for, admin_user):
    return client_for(admin_user)


@pytest.fixture
def make_student(db):
    from apps.domains.students.models import Student

    def make(tenant: Tenant, name: str = "홍길동", parent_phone: str | None = None, **fields) -> Student:
        parent_phone = parent_phone or f"010{next(_seq):08d}"
        return Student.objects.create(tenant=tenant, name=name, parent_phone=parent_phone, **fields)

    return make


@pytest.fixture
def make_parent(db):
    """A parent account of `tenant` (activated, password "pw-12345678"), linked to `students` (docs/parents.md)."""
    from apps.domains.accounts.tests.support import PASSWORD, parent_with_children

    def make(tenant: Tenant, *students, phone: str = "01055556666", password: str | None = None):
        return parent_with_children(tenant, *students, phone=phone, password=password or PASSWORD)

    return make


@pytest.fixture
def make_lecture(db):
    from apps.domains.lectures.models import Lecture

    def make(tenant: Tenant, title: str = "수학 A반", **fields) -> Lecture:
        return Lecture.objects.create(tenant=tenant, title=title, **fields)

    return make


@pytest.fixture
def make_session(db):
    from apps.domains.lectures.models import Session

    def make(lecture, order: int | None = None, **fields) -> Session:
        order = order or (lecture.sessions.count() + 1)
        return Session.objects.create(tenant_id=lecture.tenant_id, lecture=lecture, order=order, **fields)

    return make


@pytest.fixture
def make_enrollment(db):
    from apps.domains.enrollment.models import Enrollment

    def make(lecture, student, **fields) -> Enrollment:
        return Enrollment.objects.create(tenant_id=lecture.tenant_id, lecture=lecture, student=student, **fields)

    return make


@pytest.fixture
def make_attendance(db):
    from apps.domains.enrollment.models import Attendance

    def make(session, enrollment, status: str = "PRESENT", **fields) -> Attendance:
        return Attendance.objects.create(tenant_id=session.tenant_id, session=session, enrollment=enrollment,
                                         status=status, **fields)

    return make


@pytest.fixture
def local_storage(settings, tmp_path):
    """The embedded storage backend in a temporary directory, its presigned URLs on the test client's host."""
    from apps.integrations import storage as storage_module

    settings.STORAGE_BACKEND = "local"
    settings.LOCAL_STORAGE_DIR = tmp_path / "storage"
    settings.API_BASE_URL = "http://testserver"
    storage_module.reset_storage_for_tests()
    yield storage_module.get_storage()
    storage_module.reset_storage_for_tests()
