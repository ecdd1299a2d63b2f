"""`prod` (API) and `worker` settings refuse to start on an unsafe environment, naming every problem at once, and
serve HTTPS as a load-balanced production API should."""

import json
import re

import pytest
from django.conf import settings
from django.db import connection

from .settings_support import API_SAFE_ENV, REPO_ROOT, WORKER_SAFE_ENV, run_with_settings


def test_prod_refuses_an_unsafe_environment_and_names_each_problem():
    result = run_with_settings("prod", {"DEBUG": "1"})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for problem in ("DEBUG must be off", "SECRET_KEY is required", "INTERNAL_WORKER_TOKEN is required",
                    "LAMBDA_INTERNAL_API_KEY is required", "DB_HOST is required", "ALLOWED_HOSTS is required"):
        assert problem in result.stderr


def test_prod_refuses_a_secret_key_shorter_than_django_asks_for():
    result = run_with_settings("prod", {**API_SAFE_ENV, "SECRET_KEY": "k" * 49})

    assert result.returncode != 0
    assert "SECRET_KEY is shorter than 50 characters" in result.stderr


def test_prod_starts_with_a_complete_safe_environment():
    result = run_with_settings("prod", API_SAFE_ENV)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["INTERNAL_WORKER_TOKEN", "LAMBDA_INTERNAL_API_KEY"])
def test_prod_refuses_a_whitespace_only_token(name):
    result = run_with_settings("prod", {**API_SAFE_ENV, name: "   \t  "})

    assert result.returncode != 0
    assert f"{name} is required" in result.stderr


@pytest.mark.parametrize("name", ["INTERNAL_WORKER_TOKEN", "LAMBDA_INTERNAL_API_KEY"])
def test_prod_refuses_a_token_of_31_characters_once_stripped(name):
    result = run_with_settings("prod", {**API_SAFE_ENV, name: "  " + "t" * 31 + "\n"})

    assert result.returncode != 0
    assert f"{name} is shorter than 32 characters" in result.stderr


def test_prod_strips_the_tokens_it_accepts():
    token = "t" * 40
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(repr(settings.INTERNAL_WORKER_TOKEN))")

    result = run_with_settings("prod", {**API_SAFE_ENV, "INTERNAL_WORKER_TOKEN": f" {token}\n"}, code=code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(token)


def test_worker_starts_without_the_lambda_key_and_allowed_hosts():
    result = run_with_settings("worker", WORKER_SAFE_ENV)

    assert result.returncode == 0, result.stderr


def test_worker_refuses_a_missing_or_short_internal_token():
    missing = run_with_settings("worker", {k: v for k, v in WORKER_SAFE_ENV.items() if k != "INTERNAL_WORKER_TOKEN"})
    short = run_with_settings("worker", {**WORKER_SAFE_ENV, "INTERNAL_WORKER_TOKEN": "entrypoint-token"})

    assert missing.returncode != 0
    assert "INTERNAL_WORKER_TOKEN is required" in missing.stderr
    assert "LAMBDA_INTERNAL_API_KEY" not in missing.stderr
    assert short.returncode != 0
    assert "INTERNAL_WORKER_TOKEN is shorter than 32 characters" in short.stderr


def test_prod_refuses_to_start_without_its_own_allowed_hosts():
    env = {k: v for k, v in API_SAFE_ENV.items() if k != "ALLOWED_HOSTS"}

    result = run_with_settings("prod", env)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_prod_passes_djangos_deployment_checks_without_a_warning():
    result = run_with_settings("prod", API_SAFE_ENV, args=["check", "--deploy", "--fail-level", "WARNING"])

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout


PROBE = """
import json, django
django.setup()
from django.test import Client

client = Client()
private = {"HTTP_HOST": "10.0.1.23:8000"}
public = {"HTTP_HOST": "api.academy.example"}
answers = {
    "health": client.get("/health", **private),
    "internal": client.post("/api/v1/internal/jobs/7d3c1f2e-8a4b-4c6d-9e0f-123456789abc/claim/", **private),
    "backlog": client.get("/api/v1/internal/video/backlog-count/", **private),
    "students_http": client.get("/api/v1/students/?search=x", **public),
    "students_https": client.get("/api/v1/students/", HTTP_X_FORWARDED_PROTO="https", **public),
}
print(json.dumps({name: {"status": r.status_code, "location": r.get("Location"),
                         "hsts": r.get("Strict-Transport-Security"), "nosniff": r.get("X-Content-Type-Options"),
                         "referrer": r.get("Referrer-Policy"), "frame": r.get("X-Frame-Options")}
                  for name, r in answers.items()}))
"""


@pytest.mark.django_db
def test_prod_redirects_plain_http_except_health_and_internal_paths_called_by_private_address():
    # Given the prod settings behind a load balancer, on the test database
    environment = {**API_SAFE_ENV, "DB_HOST": connection.settings_dict["HOST"],
                   "DB_NAME": connection.settings_dict["NAME"], "REDIS_URL": settings.CACHES["default"]["LOCATION"]}

    # When the load balancer's target check, a worker and the Lambda call by address over plain HTTP,
    # and a browser calls the public API over plain HTTP and then over HTTPS
    result = run_with_settings("prod", environment, code=PROBE)

    # Then only the public plain-HTTP call is redirected, to the same URL over HTTPS
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["health"]["status"] == 200
    assert answers["health"]["location"] is None
    assert answers["internal"]["status"] in (401, 403)
    assert answers["backlog"]["status"] in (401, 403)
    assert answers["students_http"]["status"] == 301
    assert answers["students_http"]["location"] == "https://api.academy.example/api/v1/students/?search=x"
    # And an HTTPS answer carries HSTS and the other security headers
    https = answers["students_https"]
    assert https["status"] == 401
    assert (https["hsts"], https["nosniff"], https["referrer"], https["frame"]) == (
        "max-age=31536000; includeSubDomains", "nosniff", "same-origin", "DENY")


def test_every_environment_variable_read_by_the_settings_is_documented_in_env_example():
    settings_dir = REPO_ROOT / "apps/api/config/settings"
    read = set()
    for module in settings_dir.glob("*.py"):
        read |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', module.read_text()))
    documented = _variables(".env.example")

    assert {"SECRET_KEY", "SECURE_SSL_REDIRECT", "SENTRY_DSN"} <= read, "the pattern above no longer matches"
    assert sorted(read - documented) == []


def test_the_production_example_names_only_documented_variables_and_marks_every_required_one():
    from apps.api.config.settings import checks

    production = (REPO_ROOT / ".env.production.example").read_text()
    required = {"SECRET_KEY", *checks.REQUIRED_FOR_R2, *checks.REQUIRED_FOR_SOLAPI}
    for profile in (checks.API, checks.WORKER):
        required |= {*checks.REQUIRED_NON_EMPTY[profile], *checks.REQUIRED_TOKENS[profile]}
    marked = set(re.findall(r"^# REQUIRED IN PROD[^\n]*\n([A-Z][A-Z0-9_]*)=", production, re.M))

    assert sorted(_variables(".env.production.example") - _variables(".env.example")) == []
    assert sorted(required - marked) == []


def _variables(name: str) -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (REPO_ROOT / name).read_text(), re.M))


def test_prod_requires_the_solapi_keys_only_when_solapi_sends():
    from apps.api.config.settings import checks

    safe = {**API_SAFE_ENV, "DEBUG": False}

    solapi = checks.production_problems({**safe, "MESSAGING_PROVIDER": "solapi"}, profile=checks.API)
    outbox = checks.production_problems({**safe, "MESSAGING_PROVIDER": "outbox"}, profile=checks.API)
    keyed = checks.production_problems({**safe, "MESSAGING_PROVIDER": "solapi", "SOLAPI_API_KEY": "k",
                                        "SOLAPI_API_SECRET": "s"}, profile=checks.API)

    assert solapi == ["SOLAPI_API_KEY is required", "SOLAPI_API_SECRET is required"]
    assert outbox == keyed == []
