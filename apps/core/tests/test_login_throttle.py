"""Failed-login throttling on POST /api/v1/auth/token/: per (username, address) pair and per address, in Redis."""

import logging
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command

from apps.core.models import Role

URL = "/api/v1/auth/token/"
STUDENT_ADDRESS = "198.51.100.7"
CLASSMATE_ADDRESS = "203.0.113.5"


def _login(client, username, password, address):
    return client.post(URL, {"username": username, "password": password}, content_type="application/json",
                       REMOTE_ADDR=address)


@pytest.fixture
def student(make_user, tenant):
    return make_user(tenant, Role.STUDENT, username="student1")


def _fail(client, username, address, times):
    for _ in range(times):
        assert _login(client, username, "wrong-password", address).status_code == 401


def test_sixth_attempt_is_429_without_a_password_check_even_with_the_right_password(client, student, caplog):
    # Given five wrong passwords from the classmate's address
    _fail(client, "student1", CLASSMATE_ADDRESS, 5)

    # When the sixth attempt carries the right password
    with mock.patch("django.contrib.auth.authenticate") as authenticate, \
            mock.patch("rest_framework_simplejwt.serializers.authenticate") as jwt_authenticate, \
            caplog.at_level(logging.WARNING, logger="apps.core.login_throttle"):
        response = _login(client, "Student1", "pw-12345678", CLASSMATE_ADDRESS)

    # Then it is refused in Korean with a Retry-After, and the password was never checked
    body = response.json()
    assert response.status_code == 429
    assert body["code"] == "LOGIN_THROTTLED"
    assert body["message"] == "로그인 시도가 너무 많습니다. 15분 뒤에 다시 시도해 주세요."
    assert 0 < body["details"]["retry_after_seconds"] <= 900
    assert response["Retry-After"] == str(body["details"]["retry_after_seconds"])
    assert "access" not in body
    assert authenticate.call_count == 0 and jwt_authenticate.call_count == 0
    record = next(r for r in caplog.records if r.getMessage() == "login_throttled")
    assert record.address == CLASSMATE_ADDRESS and len(record.username_hash) == 32
    assert "student1" not in caplog.text.lower() and "pw-12345678" not in caplog.text


def test_the_student_still_logs_in_from_another_address(client, student):
    _fail(client, "student1", CLASSMATE_ADDRESS, 5)
    assert _login(client, "student1", "pw-12345678", CLASSMATE_ADDRESS).status_code == 429

    response = _login(client, "student1", "pw-12345678", STUDENT_ADDRESS)

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_a_success_resets_the_pair(client, student):
    _fail(client, "student1", STUDENT_ADDRESS, 4)
    assert _login(client, "student1", "pw-12345678", STUDENT_ADDRESS).status_code == 200

    _fail(client, "student1", STUDENT_ADDRESS, 4)

    assert _login(client, "student1", "pw-12345678", STUDENT_ADDRESS).status_code == 200


def test_one_address_guessing_many_usernames_is_stopped(client, student):
    for n in range(30):
        _fail(client, f"guess{n}", CLASSMATE_ADDRESS, 1)

    refused = _login(client, "student1", "pw-12345678", CLASSMATE_ADDRESS)
    elsewhere = _login(client, "student1", "pw-12345678", STUDENT_ADDRESS)

    assert refused.status_code == 429
    assert refused.json()["code"] == "LOGIN_THROTTLED"
    assert elsewhere.status_code == 200


def test_attempts_are_allowed_again_once_the_window_ends(client, student):
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False) as clock:
        _fail(client, "student1", CLASSMATE_ADDRESS, 5)
        clock.shift(14 * 60 + 59)
        assert _login(client, "student1", "pw-12345678", CLASSMATE_ADDRESS).json()["details"] == {
            "retry_after_seconds": 1}

        clock.shift(1)
        response = _login(client, "student1", "pw-12345678", CLASSMATE_ADDRESS)

    assert response.status_code == 200


def test_x_forwarded_for_is_trusted_only_from_the_load_balancer(client, student, settings):
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.0/16"]
    # Through the load balancer: the client address is the last X-Forwarded-For entry, not the balancer's
    for _ in range(5):
        client.post(URL, {"username": "student1", "password": "x"}, content_type="application/json",
                    REMOTE_ADDR="10.0.1.5", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {CLASSMATE_ADDRESS}")
    via_balancer_other_client = client.post(
        URL, {"username": "student1", "password": "pw-12345678"}, content_type="application/json",
        REMOTE_ADDR="10.0.1.5", HTTP_X_FORWARDED_FOR=STUDENT_ADDRESS)
    # A direct caller cannot choose its address by sending the header
    spoofed = client.post(URL, {"username": "student1", "password": "pw-12345678"}, content_type="application/json",
                          REMOTE_ADDR=CLASSMATE_ADDRESS, HTTP_X_FORWARDED_FOR=STUDENT_ADDRESS)

    assert via_balancer_other_client.status_code == 200
    assert spoofed.status_code == 429


def test_clear_login_throttle_command_lets_the_pair_in_again(client, student):
    _fail(client, "student1", CLASSMATE_ADDRESS, 5)
    _fail(client, "student1", STUDENT_ADDRESS, 5)

    call_command("clear_login_throttle", "STUDENT1", "--address", STUDENT_ADDRESS)
    only_one = (_login(client, "student1", "pw-12345678", STUDENT_ADDRESS).status_code,
                _login(client, "student1", "pw-12345678", CLASSMATE_ADDRESS).status_code)
    _fail(client, "student1", STUDENT_ADDRESS, 5)
    call_command("clear_login_throttle", "student1")

    assert only_one == (200, 429)
    assert _login(client, "student1", "pw-12345678", STUDENT_ADDRESS).status_code == 200
    assert _login(client, "student1", "pw-12345678", CLASSMATE_ADDRESS).status_code == 200
