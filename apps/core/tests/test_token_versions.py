"""Token versions: a reset or a deactivation ends every access and refresh token, the status poll's cache included."""

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.authentication import SESSION_ENDED_MESSAGE, TOKEN_VERSION_CLAIM
from apps.core.models import Role, User
from apps.core.tokens import user_tokens_revoke
from apps.jobs.models import Job, JobState

pytestmark = pytest.mark.django_db

PASSWORD = "pw-12345678"


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password},
                       content_type="application/json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def assert_session_ended(response):
    assert response.status_code == 401
    assert response.json() == {"code": "AUTHENTICATION_FAILED", "message": SESSION_ENDED_MESSAGE, "details": {}}


def test_both_tokens_carry_the_users_version(client, make_user, tenant):
    user = make_user(tenant, Role.TEACHER, username="teacher1")
    User.objects.filter(id=user.id).update(token_version=3)

    tokens = login(client, "teacher1").json()

    assert AccessToken(tokens["access"])[TOKEN_VERSION_CLAIM] == 3
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]},
                            content_type="application/json").json()["access"]
    assert AccessToken(refreshed)[TOKEN_VERSION_CLAIM] == 3


def test_revoking_ends_the_access_and_refresh_tokens_and_a_new_login_works(client, make_user, tenant):
    user = make_user(tenant, Role.ADMIN, username="admin1")
    tokens = login(client, "admin1").json()
    assert bearer(tokens["access"]).get("/api/v1/auth/me/").status_code == 200

    user_tokens_revoke(user_ids=[user.id])

    assert_session_ended(bearer(tokens["access"]).get("/api/v1/auth/me/"))
    assert_session_ended(client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]},
                                      content_type="application/json"))
    fresh = login(client, "admin1").json()
    assert AccessToken(fresh["access"])[TOKEN_VERSION_CLAIM] == 1
    assert bearer(fresh["access"]).get("/api/v1/auth/me/").status_code == 200


def test_a_token_without_the_claim_counts_as_version_0(admin_user):
    # Issued before versions existed (AccessToken.for_user adds no claim): it works until the first revocation.
    token = str(AccessToken.for_user(admin_user))
    assert TOKEN_VERSION_CLAIM not in AccessToken(token)
    assert bearer(token).get("/api/v1/auth/me/").status_code == 200

    user_tokens_revoke(user_ids=[admin_user.id])

    assert_session_ended(bearer(token).get("/api/v1/auth/me/"))


def test_a_claim_of_another_type_matches_no_user(admin_user):
    token = AccessToken.for_user(admin_user)
    token[TOKEN_VERSION_CLAIM] = "0"

    assert_session_ended(bearer(str(token)).get("/api/v1/auth/me/"))


def test_an_inactive_or_deleted_users_token_is_refused(admin_user, make_user, tenant):
    other = make_user(tenant, Role.TEACHER)
    inactive, deleted = str(AccessToken.for_user(admin_user)), str(AccessToken.for_user(other))
    User.objects.filter(id=admin_user.id).update(is_active=False)
    other.delete()

    assert_session_ended(bearer(inactive).get("/api/v1/auth/me/"))
    assert_session_ended(bearer(deleted).get("/api/v1/auth/me/"))


def test_authentication_loads_the_user_in_exactly_one_query(admin_user, django_assert_num_queries):
    token = AccessToken.for_user(admin_user)
    token[TOKEN_VERSION_CLAIM] = 0
    client = bearer(str(token))

    with django_assert_num_queries(1):
        response = client.get("/api/v1/auth/me/")

    assert response.status_code == 200


def test_a_staff_member_deactivated_in_the_admin_loses_every_token(client, make_user, tenant):
    superuser = User.objects.create_superuser(username="root", password="root-pass-1234")
    staff = make_user(tenant, Role.TEACHER, username="teacher1")
    tokens = login(client, "teacher1").json()
    client.force_login(superuser)

    response = client.post(f"/admin/core/user/{staff.id}/change/", {
        "username": "teacher1", "is_active": "", "tenant": tenant.id, "role": Role.TEACHER,
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00"})

    assert response.status_code == 302
    staff.refresh_from_db()
    assert (staff.is_active, staff.token_version) == (False, 1)
    # Even once active again, the tokens issued before stay dead.
    User.objects.filter(id=staff.id).update(is_active=True)
    assert_session_ended(bearer(tokens["access"]).get("/api/v1/auth/me/"))


def test_a_password_changed_in_the_admin_ends_the_tokens(client, make_user, tenant):
    superuser = User.objects.create_superuser(username="root", password="root-pass-1234")
    staff = make_user(tenant, Role.TEACHER, username="teacher1")
    tokens = login(client, "teacher1").json()
    client.force_login(superuser)

    response = client.post(f"/admin/core/user/{staff.id}/password/",
                           {"password1": "new-pass-9876", "password2": "new-pass-9876", "usable_password": "true"})

    assert response.status_code == 302
    assert_session_ended(bearer(tokens["access"]).get("/api/v1/auth/me/"))


class TestStatusPoll:
    """The poll verifies tokens without loading the user: the version is checked against the cache and the query."""

    @pytest.fixture
    def job(self, tenant):
        return Job.objects.create(tenant=tenant, kind="excel_import", state=JobState.QUEUED, payload={"n": 1})

    def test_a_revoked_token_is_refused_on_the_cached_path(self, client, make_user, tenant, job, empty_redis,
                                                           django_assert_num_queries):
        make_user(tenant, Role.ADMIN, username="admin1")
        access = login(client, "admin1").json()["access"]
        poller = bearer(access)
        assert poller.get(f"/api/v1/jobs/{job.id}/").status_code == 200  # fills the cache
        with django_assert_num_queries(0):
            assert poller.get(f"/api/v1/jobs/{job.id}/").status_code == 200  # answered from Redis

        user_tokens_revoke(user_ids=[User.objects.get(username="admin1").id])

        assert_session_ended(poller.get(f"/api/v1/jobs/{job.id}/"))
        fresh = bearer(login(client, "admin1").json()["access"])
        assert fresh.get(f"/api/v1/jobs/{job.id}/").status_code == 200
        assert_session_ended(poller.get(f"/api/v1/jobs/{job.id}/"))  # the new entry is not the old token's

    def test_a_cached_entry_of_a_newer_version_does_not_answer_an_old_token(self, client, make_user, tenant, job,
                                                                           django_assert_num_queries):
        user = make_user(tenant, Role.ADMIN, username="admin1")
        old = bearer(login(client, "admin1").json()["access"])
        # A revocation whose cache invalidation never reached Redis: the entry holds version 0, the user has 1.
        User.objects.filter(id=user.id).update(token_version=1)
        new = bearer(login(client, "admin1").json()["access"])
        assert new.get(f"/api/v1/jobs/{job.id}/").status_code == 200

        # The cached entry (version 1) does not answer it; the fast path's query finds no match and authentication
        # (one query) refuses the token.
        with django_assert_num_queries(2):
            response = old.get(f"/api/v1/jobs/{job.id}/")

        assert_session_ended(response)

    def test_a_revoked_token_is_refused_without_the_cache(self, client, make_user, tenant, job, settings):
        settings.REDIS_URL = ""
        make_user(tenant, Role.ADMIN, username="admin1")
        poller = bearer(login(client, "admin1").json()["access"])
        assert poller.get(f"/api/v1/jobs/{job.id}/").status_code == 200

        user_tokens_revoke(user_ids=[User.objects.get(username="admin1").id])

        assert_session_ended(poller.get(f"/api/v1/jobs/{job.id}/"))


def test_a_revocation_ends_an_events_ticket_issued_before_it(admin_client, admin_user, tenant):
    job = Job.objects.create(tenant=tenant, kind="excel_import", state=JobState.DONE, payload={"n": 1})
    url = admin_client.post(f"/api/v1/jobs/{job.id}/events/ticket/").json()["url"]
    assert APIClient().get(url, HTTP_ACCEPT="text/event-stream").status_code == 200

    user_tokens_revoke(user_ids=[admin_user.id])

    assert APIClient().get(url, HTTP_ACCEPT="text/event-stream").status_code == 401


def test_an_inactive_staff_login_with_the_right_password_says_the_account_is_stopped(client, make_user, tenant):
    make_user(tenant, Role.TEACHER, username="teacher1", is_active=False)

    right = login(client, "teacher1")
    wrong = login(client, "teacher1", "wrong-password")

    assert (right.status_code, right.json()["code"]) == (403, "ACCOUNT_INACTIVE")
    assert right.json()["message"] == "사용이 중지된 계정입니다. 학원에 문의해 주세요."
    assert (wrong.status_code, wrong.json()["code"]) == (401, "AUTHENTICATION_FAILED")


def test_the_stored_password_is_a_hash(make_user, tenant):
    user = make_user(tenant, Role.TEACHER)
    assert user.password != PASSWORD and user.password.startswith(make_password("x").split("$")[0] + "$")
