"""Students' logins: create and reset answer once, tokens end, one password policy, guardian consent under 14."""

import json
import logging
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.authentication import SESSION_ENDED_MESSAGE
from apps.core.models import Role, User
from apps.core.tests.log_capture import logged_text
from apps.domains.students.accounts import INACTIVE_MESSAGES
from apps.domains.students.models import GuardianConsent, Student

pytestmark = pytest.mark.django_db

PASSWORD = "봄날-수학-2026"
CONSENT = {"guardian_name": "김영희", "relation": "MOTHER", "method": "WRITTEN",
           "consented_at": "2026-03-02T10:00:00+09:00", "memo": "동의서 원본 교무실 보관"}


def account_url(student, action: str = "") -> str:
    return f"/api/v1/students/{student.id}/account/{action}"


def consent_url(student) -> str:
    return f"/api/v1/students/{student.id}/guardian-consent/"


def years_ago(years: int) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=1)


def login(username: str, password: str):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def high_schooler(make_student, tenant):
    return make_student(tenant, "김민준", school_type="HIGH", grade=2)


@pytest.fixture
def child(make_student, tenant):
    return make_student(tenant, "이서연", birth_date=years_ago(10))


@pytest.fixture
def teacher_client(client_for, make_user, tenant):
    return client_for(make_user(tenant, Role.TEACHER))


class TestCreate:
    def test_the_password_is_answered_once_and_stored_only_as_a_hash(self, admin_client, high_schooler, tenant,
                                                                     caplog):
        caplog.set_level(logging.DEBUG)

        response = admin_client.post(account_url(high_schooler), {"password": PASSWORD}, format="json")

        assert response.status_code == 201
        assert response.json() == {"username": f"alpha-{high_schooler.id}", "password": PASSWORD, "is_active": True,
                                   "inactive_reason": None, "inactive_message": None}
        assert response["Cache-Control"] == "no-store"
        high_schooler.refresh_from_db()
        user = high_schooler.user
        assert (user.username, user.role, user.tenant_id, user.first_name) == (
            f"alpha-{high_schooler.id}", Role.STUDENT, tenant.id, "김민준")
        assert user.check_password(PASSWORD) and PASSWORD not in user.password
        with connection.cursor() as cursor:  # nowhere in the database in clear
            cursor.execute("SELECT count(*) FROM core_user WHERE password LIKE %s", [f"%{PASSWORD}%"])
            assert cursor.fetchone()[0] == 0
        assert PASSWORD not in logged_text(caplog.records)
        assert "student_account_created" in logged_text(caplog.records)
        # Shown with the student afterwards, without the password.
        shown = admin_client.get(f"/api/v1/students/{high_schooler.id}/").json()
        assert shown["account"] == {"username": f"alpha-{high_schooler.id}", "is_active": True,
                                    "inactive_reason": None, "inactive_message": None}
        assert PASSWORD not in json.dumps(shown, ensure_ascii=False)
        assert login(f"alpha-{high_schooler.id}", PASSWORD).status_code == 200

    def test_the_answer_object_never_shows_the_password_in_a_repr(self, high_schooler):
        from apps.domains.students.accounts import student_account_create

        account = student_account_create(student=high_schooler, password=PASSWORD)

        assert account.password == PASSWORD and PASSWORD not in repr(account)

    def test_a_second_create_is_409_and_changes_nothing(self, admin_client, high_schooler):
        admin_client.post(account_url(high_schooler), {"password": PASSWORD}, format="json")

        response = admin_client.post(account_url(high_schooler), {"password": "다른-비밀번호-99"}, format="json")

        assert (response.status_code, response.json()["code"]) == (409, "ACCOUNT_EXISTS")
        assert "password" not in response.json()
        high_schooler.refresh_from_db()
        assert high_schooler.user.check_password(PASSWORD)

    def test_without_a_password_one_is_generated(self, admin_client, high_schooler):
        response = admin_client.post(account_url(high_schooler), {}, format="json")

        password = response.json()["password"]
        assert response.status_code == 201 and len(password) >= 12
        assert login(response.json()["username"], password).status_code == 200

    @pytest.mark.parametrize("password, code", [("1234", "password_too_short"), ("password", "password_too_common"),
                                                ("98765432", "password_entirely_numeric")])
    def test_a_weak_password_is_400_and_nothing_is_saved(self, admin_client, high_schooler, password, code, caplog):
        response = admin_client.post(account_url(high_schooler), {"password": password}, format="json")

        assert (response.status_code, response.json()["code"]) == (400, "PASSWORD_TOO_WEAK")
        assert code in response.json()["details"]["codes"]
        assert User.objects.filter(role=Role.STUDENT).count() == 0
        high_schooler.refresh_from_db()
        assert high_schooler.user_id is None
        assert password not in logged_text(caplog.records)

    def test_a_password_like_the_username_is_refused(self, admin_client, high_schooler):
        response = admin_client.post(account_url(high_schooler), {"password": f"alpha-{high_schooler.id}"},
                                     format="json")

        assert "password_too_similar" in response.json()["details"]["codes"]

    def test_another_tenants_or_a_deleted_student_is_404(self, admin_client, make_student, other_tenant, tenant):
        foreign = make_student(other_tenant, "남의 학생", school_type="HIGH")
        deleted = make_student(tenant, "떠난 학생", school_type="HIGH", deleted_at=timezone.now())

        for student in (foreign, deleted):
            response = admin_client.post(account_url(student), {"password": PASSWORD}, format="json")
            assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
        assert User.objects.filter(role=Role.STUDENT).count() == 0

    @pytest.mark.parametrize("role, allowed", [(Role.OWNER, True), (Role.ADMIN, True), (Role.TEACHER, True),
                                               (Role.STAFF, True), (Role.STUDENT, False), (Role.PARENT, False)])
    def test_every_staff_role_may_create_and_reset(self, client_for, make_user, tenant, high_schooler, role,
                                                   allowed):
        client = client_for(make_user(tenant, role))

        created = client.post(account_url(high_schooler), {}, format="json")
        reset = client.post(account_url(high_schooler, "reset/"), {}, format="json")

        expected = (201, 200) if allowed else (403, 403)
        assert (created.status_code, reset.status_code) == expected


class TestReset:
    def test_reset_answers_the_new_password_once_and_ends_every_token(self, admin_client, high_schooler, caplog):
        username = admin_client.post(account_url(high_schooler), {"password": PASSWORD},
                                     format="json").json()["username"]
        tokens = login(username, PASSWORD).json()
        assert bearer(tokens["access"]).get("/api/v1/auth/me/").status_code == 200

        response = admin_client.post(account_url(high_schooler, "reset/"), {"password": "새-비밀번호-2027"},
                                     format="json")

        assert response.status_code == 200
        assert response.json() == {"username": username, "password": "새-비밀번호-2027", "is_active": True,
                                   "inactive_reason": None, "inactive_message": None}
        assert response["Cache-Control"] == "no-store"
        ended = bearer(tokens["access"]).get("/api/v1/auth/me/")
        assert (ended.status_code, ended.json()["message"]) == (401, SESSION_ENDED_MESSAGE)
        refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
        assert refresh.status_code == 401
        assert login(username, PASSWORD).status_code == 401
        assert login(username, "새-비밀번호-2027").status_code == 200
        assert "새-비밀번호-2027" not in logged_text(caplog.records)

    def test_a_weak_password_keeps_the_old_one_and_the_tokens(self, admin_client, high_schooler):
        username = admin_client.post(account_url(high_schooler), {"password": PASSWORD},
                                     format="json").json()["username"]
        access = login(username, PASSWORD).json()["access"]

        response = admin_client.post(account_url(high_schooler, "reset/"), {"password": "short"}, format="json")

        assert (response.status_code, response.json()["code"]) == (400, "PASSWORD_TOO_WEAK")
        assert bearer(access).get("/api/v1/auth/me/").status_code == 200
        assert login(username, PASSWORD).status_code == 200

    def test_a_student_without_an_account_is_404(self, admin_client, high_schooler):
        response = admin_client.post(account_url(high_schooler, "reset/"), {}, format="json")

        assert (response.status_code, response.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")

    def test_a_staff_login_linked_to_a_student_by_mistake_is_not_reset(self, teacher_client, high_schooler,
                                                                      admin_user):
        Student.objects.filter(id=high_schooler.id).update(user=admin_user)

        for action in ("reset/", "deactivate/"):
            response = teacher_client.post(account_url(high_schooler, action), {}, format="json")
            assert (response.status_code, response.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")
        admin_user.refresh_from_db()
        assert admin_user.check_password("pw-12345678") and admin_user.is_active


class TestDeactivate:
    def test_deactivation_ends_every_token_and_login_says_why_until_a_reset(self, teacher_client, high_schooler):
        username = teacher_client.post(account_url(high_schooler), {"password": PASSWORD},
                                       format="json").json()["username"]
        tokens = login(username, PASSWORD).json()

        response = teacher_client.post(account_url(high_schooler, "deactivate/"))

        assert response.status_code == 200
        assert response.json() == {"username": username, "is_active": False, "inactive_reason": "DEACTIVATED",
                                   "inactive_message": "학원에서 사용을 중지한 계정입니다."}
        assert bearer(tokens["access"]).get("/api/v1/auth/me/").status_code == 401
        assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]},
                                format="json").status_code == 401
        refused = login(username, PASSWORD)
        assert (refused.status_code, refused.json()["code"]) == (403, "ACCOUNT_INACTIVE")
        assert login(username, "wrong-password-1").status_code == 401  # a wrong password learns nothing

        reset = teacher_client.post(account_url(high_schooler, "reset/"), {"password": PASSWORD}, format="json")

        assert reset.json()["is_active"] is True
        assert login(username, PASSWORD).status_code == 200


class TestGuardianConsent:
    def test_an_under_14_account_waits_for_consent_and_login_says_why(self, admin_client, child):
        created = admin_client.post(account_url(child), {"password": PASSWORD}, format="json")

        assert created.status_code == 201
        assert created.json() == {
            "username": f"alpha-{child.id}", "password": PASSWORD, "is_active": False,
            "inactive_reason": "GUARDIAN_CONSENT_REQUIRED",
            "inactive_message": INACTIVE_MESSAGES["GUARDIAN_CONSENT_REQUIRED"]}
        refused = login(f"alpha-{child.id}", PASSWORD)
        assert (refused.status_code, refused.json()["code"]) == (403, "ACCOUNT_PENDING_CONSENT")
        assert "보호자 동의" in refused.json()["message"]
        assert login(f"alpha-{child.id}", "wrong-password-1").status_code == 401
        assert admin_client.get(consent_url(child)).json() == {
            "required": True, "consent": None,
            "account": {"username": f"alpha-{child.id}", "is_active": False,
                        "inactive_reason": "GUARDIAN_CONSENT_REQUIRED",
                        "inactive_message": INACTIVE_MESSAGES["GUARDIAN_CONSENT_REQUIRED"]}}

    def test_recording_consent_activates_and_withdrawing_it_ends_the_tokens(self, admin_client, admin_user, child):
        admin_client.post(account_url(child), {"password": PASSWORD}, format="json")

        recorded = admin_client.post(consent_url(child), CONSENT, format="json")

        assert recorded.status_code == 201
        body = recorded.json()
        assert body["required"] is True
        assert body["account"]["is_active"] is True and body["account"]["inactive_reason"] is None
        assert {key: body["consent"][key] for key in ("guardian_name", "relation", "method", "memo",
                                                      "recorded_by_id")} == {
            "guardian_name": "김영희", "relation": "MOTHER", "method": "WRITTEN", "memo": "동의서 원본 교무실 보관",
            "recorded_by_id": admin_user.id}
        assert body["consent"]["consented_at"] == "2026-03-02T10:00:00+09:00"
        tokens = login(f"alpha-{child.id}", PASSWORD).json()
        assert bearer(tokens["access"]).get("/api/v1/auth/me/").status_code == 200

        withdrawn = admin_client.delete(consent_url(child))

        assert withdrawn.status_code == 204
        assert bearer(tokens["access"]).get("/api/v1/auth/me/").status_code == 401
        assert login(f"alpha-{child.id}", PASSWORD).json()["code"] == "ACCOUNT_PENDING_CONSENT"
        history = GuardianConsent.objects.get(student=child)
        assert history.withdrawn_at is not None and history.withdrawn_by_id == admin_user.id
        assert admin_client.get(consent_url(child)).json()["consent"] is None

    def test_a_second_consent_is_409_and_withdrawing_none_is_404(self, admin_client, child):
        assert admin_client.delete(consent_url(child)).json()["code"] == "GUARDIAN_CONSENT_NOT_FOUND"
        admin_client.post(consent_url(child), CONSENT, format="json")

        again = admin_client.post(consent_url(child), CONSENT, format="json")

        assert (again.status_code, again.json()["code"]) == (409, "GUARDIAN_CONSENT_EXISTS")
        assert GuardianConsent.objects.filter(student=child).count() == 1

    @pytest.mark.parametrize("when", ["future", "0333-06-11T18:46:10+08:00", "1999-12-31T23:59:59+00:00"])
    def test_a_consent_time_in_the_future_or_before_2000_is_refused(self, admin_client, child, when):
        if when == "future":
            when = (timezone.now() + timedelta(days=1)).isoformat()

        response = admin_client.post(consent_url(child), {**CONSENT, "consented_at": when}, format="json")

        assert (response.status_code, response.json()["code"]) == (400, "INVALID_CONSENT_DATE")
        assert GuardianConsent.objects.count() == 0

    def test_consent_does_not_reactivate_an_account_staff_deactivated(self, admin_client, child):
        admin_client.post(account_url(child), {"password": PASSWORD}, format="json")
        admin_client.post(account_url(child, "deactivate/"))

        body = admin_client.post(consent_url(child), CONSENT, format="json").json()

        assert (body["account"]["is_active"], body["account"]["inactive_reason"]) == (False, "DEACTIVATED")

    def test_teachers_read_consent_but_only_admins_record_or_withdraw_it(self, teacher_client, admin_client, child):
        assert teacher_client.get(consent_url(child)).status_code == 200
        assert teacher_client.post(consent_url(child), CONSENT, format="json").status_code == 403
        admin_client.post(consent_url(child), CONSENT, format="json")
        assert teacher_client.delete(consent_url(child)).status_code == 403
        assert GuardianConsent.objects.get(student=child).withdrawn_at is None

    def test_another_tenants_student_is_404(self, admin_client, make_student, other_tenant):
        foreign = make_student(other_tenant, "남의 학생", birth_date=years_ago(10))

        assert admin_client.get(consent_url(foreign)).status_code == 404
        assert admin_client.post(consent_url(foreign), CONSENT, format="json").status_code == 404
        assert GuardianConsent.objects.count() == 0

    def test_a_birth_date_showing_14_activates_a_waiting_account_and_one_under_14_stops_it(self, admin_client,
                                                                                         make_student, tenant):
        student = make_student(tenant, "박지호")  # nothing known: consent or a birth date needed
        username = admin_client.post(account_url(student), {"password": PASSWORD}, format="json").json()["username"]
        assert login(username, PASSWORD).json()["code"] == "ACCOUNT_PENDING_CONSENT"

        updated = admin_client.patch(f"/api/v1/students/{student.id}/", {"birth_date": years_ago(15).isoformat()},
                                     format="json")

        assert updated.json()["birth_date"] == years_ago(15).isoformat()
        assert updated.json()["account"]["is_active"] is True
        access = login(username, PASSWORD).json()["access"]

        corrected = admin_client.patch(f"/api/v1/students/{student.id}/", {"birth_date": years_ago(12).isoformat()},
                                       format="json")

        assert corrected.json()["account"]["inactive_reason"] == "GUARDIAN_CONSENT_REQUIRED"
        assert bearer(access).get("/api/v1/auth/me/").status_code == 401

    def test_a_child_who_turned_14_is_activated_at_login(self, admin_client, child):
        admin_client.post(account_url(child), {"password": PASSWORD}, format="json")
        Student.objects.filter(id=child.id).update(birth_date=years_ago(14) - timedelta(days=1))

        response = login(f"alpha-{child.id}", PASSWORD)

        assert response.status_code == 200
        assert User.objects.get(username=f"alpha-{child.id}").is_active is True

    @pytest.mark.parametrize("birth_date", ["2999-01-01", "1899-12-31"])
    def test_an_impossible_birth_date_is_refused(self, admin_client, child, birth_date):
        response = admin_client.patch(f"/api/v1/students/{child.id}/", {"birth_date": birth_date}, format="json")

        assert (response.status_code, response.json()["code"]) == (400, "INVALID_BIRTH_DATE")


def test_the_student_list_shows_accounts_in_a_constant_number_of_queries(admin_client, make_student, tenant,
                                                                          django_assert_num_queries):
    def create(n):
        for i in range(n):
            student = make_student(tenant, f"학생{i}", school_type="HIGH")
            admin_client.post(account_url(student), {"password": PASSWORD}, format="json")

    create(2)
    with django_assert_num_queries(2):  # count, page (the forced admin needs no authentication query)
        admin_client.get("/api/v1/students/")
    create(8)
    with django_assert_num_queries(2):
        response = admin_client.get("/api/v1/students/")

    assert [item["account"]["username"] for item in response.json()["results"]] == [
        f"alpha-{s.id}" for s in Student.objects.filter(tenant=tenant).order_by("id")]


def test_a_student_sees_their_own_id_in_me(admin_client, high_schooler):
    username = admin_client.post(account_url(high_schooler), {"password": PASSWORD}, format="json").json()["username"]
    access = login(username, PASSWORD).json()["access"]

    me = bearer(access).get("/api/v1/auth/me/").json()

    assert (me["role"], me["student_id"]) == ("student", high_schooler.id)


def test_the_birth_date_is_accepted_at_creation(admin_client):
    response = admin_client.post("/api/v1/students/", {"name": "최유나", "parent_phone": "010-1234-5678",
                                                       "birth_date": "2013-04-05"}, format="json")

    assert response.status_code == 201
    assert (response.json()["birth_date"], response.json()["account"]) == ("2013-04-05", None)


def test_deleting_a_student_ends_their_login_and_restoring_does_not_reopen_it(admin_client, high_schooler):
    username = admin_client.post(account_url(high_schooler), {"password": PASSWORD}, format="json").json()["username"]
    tokens = login(username, PASSWORD).json()

    deleted = admin_client.delete(f"/api/v1/students/{high_schooler.id}/")

    assert deleted.status_code == 204
    assert bearer(tokens["access"]).get("/api/v1/auth/me/").status_code == 401
    assert (login(username, PASSWORD).status_code, login(username, PASSWORD).json()["code"]) == (
        403, "ACCOUNT_INACTIVE")
    assert admin_client.post(f"/api/v1/students/{high_schooler.id}/restore/").status_code == 200
    assert login(username, PASSWORD).status_code == 403
    reset = admin_client.post(account_url(high_schooler, "reset/"), {"password": PASSWORD}, format="json")
    assert (reset.status_code, reset.json()["is_active"]) == (200, True)
    assert login(username, PASSWORD).status_code == 200
