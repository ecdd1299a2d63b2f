"""Parent login on POST /api/v1/auth/token/ with the academy code, phone and password; the same phone at two
academies is two accounts; throttled like every login."""

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import User

from .conftest import PARENT_PHONE, PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/token/"
PARENT_ADDRESS = "198.51.100.7"
CLASSMATE_ADDRESS = "203.0.113.5"


def login(client, address=PARENT_ADDRESS, **body):
    return client.post(URL, body, content_type="application/json", REMOTE_ADDR=address)


def token_user(response) -> User:
    return User.objects.get(id=AccessToken(response.json()["access"])["user_id"])


def test_the_same_phone_at_two_academies_logs_in_to_each_only_with_its_own_password(client, tenant, other_tenant,
                                                                                   make_parent):
    alpha = make_parent(tenant, password="alpha-parent-pw")
    beta = make_parent(other_tenant, password="beta-parent-pw")

    at_alpha = login(client, academy="alpha", phone="010-5555-6666", password="alpha-parent-pw")
    at_beta = login(client, academy="beta", phone="+82 10 5555 6666", password="beta-parent-pw")
    crossed = login(client, academy="alpha", phone=PARENT_PHONE, password="beta-parent-pw")

    assert at_alpha.status_code == 200 and token_user(at_alpha).id == alpha.user_id
    assert at_beta.status_code == 200 and token_user(at_beta).id == beta.user_id
    assert (crossed.status_code, crossed.json()["code"]) == (401, "AUTHENTICATION_FAILED")


def test_the_academy_code_is_read_in_any_case(client, tenant, make_parent):
    parent = make_parent(tenant)

    response = login(client, academy=" Alpha ", phone=PARENT_PHONE, password=PASSWORD)

    assert response.status_code == 200 and token_user(response).id == parent.user_id


@pytest.mark.parametrize(("body", "code"), [
    ({"username": "someone", "academy": "alpha", "phone": PARENT_PHONE}, "LOGIN_FIELDS_INVALID"),
    ({"academy": "alpha"}, "LOGIN_FIELDS_INVALID"),
    ({"phone": PARENT_PHONE}, "LOGIN_FIELDS_INVALID"),
    ({"academy": 7, "phone": PARENT_PHONE}, "LOGIN_FIELDS_INVALID"),
    ({"academy": "alpha", "phone": "02-555-0100"}, "INVALID_PHONE"),
    ({"academy": "alpha", "phone": ["01055556666"]}, "INVALID_PHONE"),
])
def test_malformed_parent_logins_are_400(client, tenant, make_parent, body, code):
    make_parent(tenant)
    response = login(client, **body, password=PASSWORD)
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_a_missing_password_is_simplejwts_400(client, tenant, make_parent):
    make_parent(tenant)
    response = login(client, academy="alpha", phone=PARENT_PHONE)
    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")
    assert "password" in response.json()["details"]


def test_a_classmate_guessing_a_parents_password_does_not_lock_the_parent_out(client, tenant, make_parent, settings):
    make_parent(tenant)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS):
        assert login(client, CLASSMATE_ADDRESS, academy="alpha", phone=PARENT_PHONE, password="guess").status_code \
            == 401

    throttled = login(client, CLASSMATE_ADDRESS, academy="alpha", phone=PARENT_PHONE, password=PASSWORD)
    # The username form of the same account shares the counter: a second spelling is no way around it.
    by_username = login(client, CLASSMATE_ADDRESS, username=f"{PARENT_PHONE}@alpha", password=PASSWORD)
    parent = login(client, PARENT_ADDRESS, academy="alpha", phone=PARENT_PHONE, password=PASSWORD)

    assert (throttled.status_code, throttled.json()["code"]) == (429, "LOGIN_THROTTLED")
    assert throttled.json()["message"] == "로그인 시도가 너무 많습니다. 15분 뒤에 다시 시도해 주세요."
    assert by_username.status_code == 429
    assert parent.status_code == 200


def test_a_classmate_hammering_a_students_username_past_every_limit_does_not_lock_the_student_out(
        client, tenant, make_user, settings):
    make_user(tenant, "student", username="alpha-7")
    attempts = settings.LOGIN_FAILURES_PER_ADDRESS + 10
    answers = [login(client, CLASSMATE_ADDRESS, username="alpha-7", password="guess").status_code
               for _ in range(attempts)]

    student = login(client, PARENT_ADDRESS, username="alpha-7", password="pw-12345678")

    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    assert student.status_code == 200
