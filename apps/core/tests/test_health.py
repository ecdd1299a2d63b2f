from unittest import mock

from django.db import OperationalError
from django.db.backends.utils import CursorWrapper


def test_health_reports_database_and_redis(client, db):
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"] == "connected"
    assert body["redis"] == "connected"
    assert body["version"]


def test_health_answers_503_when_database_is_down(client, db):
    def refuse(self, sql, params=None):
        raise OperationalError("connection refused")

    with mock.patch.object(CursorWrapper, "execute", refuse):
        response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["database"] == "disconnected"
    assert response.json()["status"] == "unhealthy"


def test_health_reports_redis_disconnected_but_stays_up(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["redis"] == "disconnected"
    assert response.json()["database"] == "connected"


def test_health_answers_a_probe_by_private_ip_whatever_allowed_hosts_says(client, db, settings):
    # Load balancers and the image's HEALTHCHECK call by address; production names only its public hosts.
    settings.ALLOWED_HOSTS = ["api.academy.example"]

    by_ip = client.get("/health", HTTP_HOST="10.0.1.23:8000")
    with_slash = client.get("/health/", HTTP_HOST="127.0.0.1:8000")
    public = client.get("/api/v1/auth/me/", HTTP_HOST="10.0.1.23:8000")

    assert by_ip.status_code == 200
    assert by_ip.json()["status"] == "healthy"
    assert with_slash.status_code == 200
    assert public.status_code == 400  # every other public path keeps the strict host check
