"""A parent sets their password with the texted code: wrong codes count, expiry, single use, the password policy,
and the failed-login throttle on guessing."""

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from apps.core.models import Role, User
from apps.core.tests.log_capture import logged_text
from apps.domains.accounts.models import Parent, ParentInvite

from .conftest import PARENT_PHONE, PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/parent/activate/"
PARENT_ADDRESS = "198.51.100.7"
GUESSER_ADDRESS = "203.0.113.5"


@pytest.fixture
def code(academy, make_student, invite):
    make_student(academy, name="김민준", parent_phone=PARENT_PHONE)
    return invite(phone=PARENT_PHONE)["setup_code"]


def activate(client, academy, code, *, password=PASSWORD, phone="010-5555-6666", address=PARENT_ADDRESS, **extra):
    body = {"academy": academy.code, "phone": phone, "code": code, "password": password, **extra}
    return client.post(URL, body, content_type="application/json", REMOTE_ADDR=address)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def test_the_right_code_sets_the_password_and_logs_the_parent_in(client, academy, code, caplog):
    with caplog.at_level(logging.DEBUG):
        response = activate(client, academy, code)

    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    me = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (me.status_code, me.json()["role"]) == (200, Role.PARENT)
    parent = Parent.objects.get(phone=PARENT_PHONE)
    assert parent.activated_at is not None and parent.user.check_password(PASSWORD)
    assert ParentInvite.objects.get().used_at is not None
    login = client.post("/api/v1/auth/token/", {"academy": academy.code, "phone": PARENT_PHONE,
                                                "password": PASSWORD}, content_type="application/json")
    assert login.status_code == 200
    assert code not in logged_text(caplog.records) and PASSWORD not in logged_text(caplog.records)


def test_a_used_code_is_refused(client, academy, code):
    assert activate(client, academy, code).status_code == 200

    again = activate(client, academy, code, password="another-pw-1357")

    assert (again.status_code, again.json()["code"]) == (400, "INVITE_CODE_USED")
    assert Parent.objects.get().user.check_password(PASSWORD)


def test_an_expired_code_is_refused(client, academy, code, settings):
    later = timezone.now() + dt.timedelta(hours=settings.PARENT_INVITE_CODE_HOURS, seconds=1)
    with time_machine.travel(later, tick=False):
        response = activate(client, academy, code)

    assert (response.status_code, response.json()["code"]) == (400, "INVITE_CODE_EXPIRED")
    assert not Parent.objects.get().user.has_usable_password()


def test_a_weak_password_is_refused_and_the_code_stays_usable(client, academy, code):
    short = activate(client, academy, code, password="1234567")
    accepted = activate(client, academy, code)

    assert (short.status_code, short.json()["code"]) == (400, "PASSWORD_TOO_WEAK")
    assert short.json()["details"]["messages"][0] == "이 비밀번호는 너무 짧습니다. 최소 8자 이상이어야 합니다."
    assert accepted.status_code == 200


def test_wrong_codes_count_and_void_the_code(client, academy, code, settings):
    settings.PARENT_INVITE_MAX_ATTEMPTS = 3
    answers = [activate(client, academy, wrong(code)).json()["code"] for _ in range(3)]

    right_too_late = activate(client, academy, code)

    assert answers == ["INVITE_CODE_INVALID"] * 3
    assert (right_too_late.status_code, right_too_late.json()["code"]) == (400, "INVITE_CODE_VOID")
    invite = ParentInvite.objects.get()
    assert (invite.failed_attempts, invite.void_reason) == (3, "attempts")
    assert not User.objects.get(role=Role.PARENT).has_usable_password()


def test_an_unknown_phone_or_academy_answers_like_a_wrong_code(client, academy, code):
    unknown_phone = activate(client, academy, code, phone="01012341234")
    other_academy = client.post(URL, {"academy": "nowhere", "phone": PARENT_PHONE, "code": code,
                                      "password": PASSWORD}, content_type="application/json")

    assert unknown_phone.json() == other_academy.json()
    assert unknown_phone.json()["code"] == "INVITE_CODE_INVALID"
    assert ParentInvite.objects.get().failed_attempts == 0


def test_guessing_is_throttled_per_phone_and_address_not_for_the_parent_elsewhere(client, academy, code, settings):
    settings.PARENT_INVITE_MAX_ATTEMPTS = 100  # the throttle, not the invite's own limit, stops this guesser
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS):
        assert activate(client, academy, wrong(code), address=GUESSER_ADDRESS).status_code == 400

    throttled = activate(client, academy, code, address=GUESSER_ADDRESS)
    parent = activate(client, academy, code, address=PARENT_ADDRESS)

    assert (throttled.status_code, throttled.json()["code"]) == (429, "LOGIN_THROTTLED")
    assert throttled["Retry-After"] == str(throttled.json()["details"]["retry_after_seconds"])
    assert parent.status_code == 200


def test_a_reinvited_parent_sets_a_new_password_and_comes_back(client, academy, code, invite, admin_client):
    assert activate(client, academy, code).status_code == 200
    parent = Parent.objects.get()
    assert admin_client.post(f"/api/v1/parents/{parent.id}/deactivate/").status_code == 200

    fresh = invite(phone=PARENT_PHONE)["setup_code"]
    response = activate(client, academy, fresh, password="new-parent-pw-97")

    assert response.status_code == 200
    user = User.objects.get(id=parent.user_id)
    assert user.is_active and user.check_password("new-parent-pw-97")


@pytest.mark.parametrize("body", [
    {},
    {"academy": "alpha", "phone": PARENT_PHONE, "code": "12345678"},
    {"academy": ["alpha"], "phone": PARENT_PHONE, "code": "12345678", "password": PASSWORD},
])
def test_incomplete_bodies_are_400(client, academy, body):
    response = client.post(URL, body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")
