from django.test import RequestFactory

from apps.core.error_views import server_error


def test_unknown_api_path_answers_json_404(client, db):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "요청한 주소를 찾을 수 없습니다.", "details": {}}


def test_unknown_non_api_path_keeps_html_404(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_server_error_on_api_path_is_json():
    response = server_error(RequestFactory().get("/api/v1/students/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b'"code": "SERVER_ERROR"' in response.content
