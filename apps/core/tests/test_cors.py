"""A front end on another origin: preflights, error answers with CORS, exposed headers; signed URLs for any origin."""

import os
import subprocess
import sys

import pytest
from django.test import Client

from apps.api.config.settings.base import BASE_DIR

FRONT_END = "https://admin.example.com"


@pytest.fixture(autouse=True)
def front_end_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []


def _preflight(path: str, origin: str, method: str, headers: str) -> object:
    return Client().options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
                            HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers)


def test_the_login_preflight_of_the_front_end_is_allowed(db):
    response = _preflight("/api/v1/auth/token/", FRONT_END, "POST", "content-type")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_the_poll_may_send_its_etag_and_the_bearer_token(db):
    response = _preflight("/api/v1/jobs/8c3f3a52-5f8e-4a39-9a57-3c1f7a3e0c11/", FRONT_END, "GET",
                          "authorization,if-none-match")

    allowed = response["Access-Control-Allow-Headers"]
    assert "authorization" in allowed and "if-none-match" in allowed


def test_an_unknown_origin_gets_no_cors_headers(db):
    response = _preflight("/api/v1/auth/token/", "https://evil.example", "POST", "content-type")

    assert "Access-Control-Allow-Origin" not in response


def test_error_answers_carry_cors_and_expose_retry_after_and_etag(db):
    response = Client().get("/api/v1/students/", HTTP_ORIGIN=FRONT_END)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "retry-after", "content-disposition"} <= exposed


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_url_answers_a_json_404_the_page_can_read(db, settings, debug):
    # DEBUG (make run) renders its own HTML 404, which the error middleware replaces: CORS must survive that too.
    settings.DEBUG = debug

    response = Client().get("/api/v1/no-such-thing/", HTTP_ORIGIN=FRONT_END)

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert response["Access-Control-Allow-Origin"] == FRONT_END


def test_pages_outside_the_api_get_no_cors(db):
    response = Client().get("/health", HTTP_ORIGIN=FRONT_END)

    assert "Access-Control-Allow-Origin" not in response


def test_signed_storage_urls_answer_a_put_preflight_from_any_origin(db):
    response = _preflight("/api/v1/storage/local/o/video/raw/tenants/1/video/2/a.mp4", "https://other.example",
                          "PUT", "content-type")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://other.example"
    assert "PUT" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"]


def test_the_embedded_stack_allows_any_localhost_port_and_nothing_else():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORS_")}
    env["DJANGO_SETTINGS_MODULE"] = "apps.api.config.settings.dev"
    code = ("import re; from django.conf import settings as s; pats = s.CORS_ALLOWED_ORIGIN_REGEXES; "
            "m = lambda o: any(re.match(p, o) for p in pats); "
            "print(m('http://localhost:5173'), m('http://127.0.0.1:3000'), m('http://localhost.evil.com'), "
            "m('https://example.com'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()

    assert out == ["True", "True", "False", "False"]
