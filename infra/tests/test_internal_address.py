"""The Lambda, the workers and the Batch jobs call the API through the internal load balancer by its DNS name, with
no Host override: the API answers the internal paths and /health under that name, never the public paths."""

import pytest

INTERNAL_ALB = "internal-academy-prod-internal-1234567890.ap-northeast-2.elb.amazonaws.com"


@pytest.fixture
def public_hosts_only(settings):
    settings.ALLOWED_HOSTS = ["api.academy.example"]


@pytest.mark.django_db
def test_the_backlog_answers_under_the_internal_load_balancers_name(client, settings, public_hosts_only):
    response = client.get("/api/v1/internal/video/backlog-count/", HTTP_HOST=INTERNAL_ALB,
                          HTTP_X_INTERNAL_KEY=settings.LAMBDA_INTERNAL_API_KEY)

    assert response.status_code == 200
    assert response.json() == {"backlog": 0}


@pytest.mark.django_db
def test_health_answers_under_the_internal_load_balancers_name(client, public_hosts_only):
    assert client.get("/health", HTTP_HOST=INTERNAL_ALB).status_code == 200


@pytest.mark.django_db
def test_a_public_path_under_that_name_is_refused(client, public_hosts_only):
    response = client.get("/api/v1/students/", HTTP_HOST=INTERNAL_ALB)

    assert response.status_code == 400
