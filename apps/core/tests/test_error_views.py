import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.test import Client, RequestFactory

from apps.core.error_views import bad_request, server_error
from apps.domains.students.models import Student

NOT_FOUND = {"code": "NOT_FOUND", "message": "요청한 주소를 찾을 수 없습니다.", "details": {}}


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    # The dev settings run with DEBUG on, where Django answers with its technical HTML pages instead of handlers.
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize("path", [
    "/api/v1/no-such-thing/",
    "/api/v1/jobs/not-a-uuid/",
    "/api/v1/students/not-a-number/",
    "/api/v1/students/-1/",
    "/api/nothing",
])
def test_unknown_or_malformed_api_path_answers_json_404(client, db, debug, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_wrong_method_answers_json_405(admin_client, debug):
    response = admin_client.put("/api/v1/students/")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_uncaught_exception_under_api_is_json_500(admin_client, debug, monkeypatch):
    from apps.core import apis

    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(apis.MeApi, "get", explode)
    monkeypatch.setattr(apis.HealthApi, "get", explode)
    admin_client.raise_request_exception = False

    api_response = admin_client.get("/api/v1/auth/me/")
    page_response = admin_client.get("/health")

    assert api_response.status_code == 500
    assert api_response.json() == {
        "code": "SERVER_ERROR", "message": "서버 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.", "details": {}}
    assert page_response.status_code == 500
    assert page_response["Content-Type"].startswith("text/html")  # outside /api/, Django's own page is kept


def test_api_write_without_the_trailing_slash_is_a_json_404_not_a_redirect(admin_client, tenant, debug):
    response = admin_client.post("/api/v1/students", {"name": "김철수", "parent_phone": "01012345678"},
                                 format="json")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert not Student.objects.filter(tenant=tenant).exists()


def test_api_read_without_the_trailing_slash_still_redirects(admin_client, debug):
    response = admin_client.get("/api/v1/students")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/students/"


def test_csrf_refusal_under_api_is_json_403(db, debug):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/v1/jobs/00000000-0000-0000-0000-000000000001/")

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


def test_errors_of_a_view_with_a_non_json_renderer_are_json(admin_client, debug):
    # The job event stream negotiates text/event-stream; its 404 is still the JSON error shape.
    response = admin_client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000001/events/",
                                HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "JOB_NOT_FOUND"


def test_unknown_non_api_path_keeps_html_404(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_server_error_on_api_path_is_json():
    response = server_error(RequestFactory().get("/api/v1/students/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b'"code": "SERVER_ERROR"' in response.content


def test_bad_request_handler_names_a_body_over_the_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000

    response = bad_request(RequestFactory().post("/api/v1/students/"), RequestDataTooBig("too big"))

    assert response.status_code == 413
    assert b'"code": "PAYLOAD_TOO_LARGE"' in response.content


def test_bad_request_handler_names_too_many_fields(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    response = bad_request(RequestFactory().post("/api/v1/students/"), TooManyFieldsSent("too many"))

    assert response.status_code == 400
    assert b'"code": "TOO_MANY_FIELDS"' in response.content
    assert b'"max_fields": 10' in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("accept_language", ["en-US,en;q=0.9", "ja", ""])
def test_field_errors_are_korean_whatever_the_browser_asks(client, accept_language):
    response = client.post("/api/v1/auth/token/", {"username": "someone"}, content_type="application/json",
                           HTTP_ACCEPT_LANGUAGE=accept_language)

    assert response.status_code == 400
    assert response.json()["details"] == {"password": ["이 필드는 필수 항목입니다."]}
