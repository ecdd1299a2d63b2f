from apps.core.models import Role


def test_obtain_jwt_and_call_me(client, make_user, tenant):
    make_user(tenant, Role.TEACHER, username="teacher1")

    token = client.post("/api/v1/auth/token/", {"username": "teacher1", "password": "pw-12345678"},
                        content_type="application/json")
    me = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")

    assert token.status_code == 200
    assert set(token.json()) == {"access", "refresh"}
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["role"], me.json()["tenant_code"]) == ("teacher1", "teacher", "alpha")


def test_wrong_password_gets_no_token(client, make_user, tenant):
    make_user(tenant, Role.TEACHER, username="teacher1")

    response = client.post("/api/v1/auth/token/", {"username": "teacher1", "password": "wrong"},
                           content_type="application/json")

    assert response.status_code == 401
    assert "access" not in response.json()


def test_refresh_gives_a_new_access_token(client, make_user, tenant):
    make_user(tenant, Role.ADMIN, username="admin1")
    refresh = client.post("/api/v1/auth/token/", {"username": "admin1", "password": "pw-12345678"},
                          content_type="application/json").json()["refresh"]

    response = client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, content_type="application/json")

    assert response.status_code == 200
    assert client.get("/api/v1/students/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}").status_code == 200


def test_bad_bearer_is_401_in_the_error_shape(client, db):
    response = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"


def test_a_jwt_request_loads_the_user_and_tenant_in_one_query(admin_user, django_assert_num_queries):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(admin_user)}")

    with django_assert_num_queries(1):
        response = client.get("/api/v1/auth/me/")

    assert response.status_code == 200
    assert response.json()["tenant_code"] == admin_user.tenant.code
