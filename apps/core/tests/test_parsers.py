"""JSON bodies however deep, and bodies over DATA_UPLOAD_MAX_MEMORY_SIZE: a JSON error, never a 500 or an HTML 400."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.core.parsers import MAX_JSON_DEPTH
from apps.domains.students.models import Student


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def anonymous(db):
    client = APIClient()
    client.raise_request_exception = False
    return client


def test_deeply_nested_json_to_the_unauthenticated_token_endpoint_is_a_parse_error(anonymous):
    response = anonymous.post("/api/v1/auth/token/", data=_nested(50_000), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"code": "PARSE_ERROR", "message": "요청 본문을 해석할 수 없습니다.", "details": {}}


def test_json_nested_past_the_limit_is_refused_before_any_view_reads_it(admin_client, tenant):
    body = {"name": "김철수", "parent_phone": "01012345678", "memo": json.loads(_nested(MAX_JSON_DEPTH))}

    response = admin_client.post("/api/v1/students/", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "PARSE_ERROR"
    assert not Student.objects.filter(tenant=tenant).exists()


def test_json_nested_within_the_limit_reaches_the_view(db):
    body = {"username": json.loads(_nested(MAX_JSON_DEPTH - 1)), "password": "x"}

    response = APIClient().post("/api/v1/auth/token/", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("content_type, body", [
    ("application/json", json.dumps({"username": "u" * 2_000, "password": "x"})),
    ("application/x-www-form-urlencoded", "username=" + "u" * 2_000 + "&password=x"),
])
def test_a_body_over_the_memory_limit_is_413_in_the_error_shape(anonymous, settings, content_type, body):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = anonymous.post("/api/v1/auth/token/", data=body, content_type=content_type)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": "요청 본문이 너무 큽니다. 파일이 아닌 본문은 최대 1,000바이트까지 보낼 수 있습니다.",
        "details": {"max_bytes": 1_000},
    }


def test_a_body_over_the_limit_read_by_django_before_any_view_is_413_json(db, settings):
    # The CSRF check of a plain Django view reads a form body itself, outside DRF's exception handler.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client = APIClient(enforce_csrf_checks=True)
    client.raise_request_exception = False
    client.cookies["csrftoken"] = "a" * 32

    response = client.post("/api/v1/jobs/00000000-0000-0000-0000-000000000001/", data="a=" + "x" * 2_000,
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_file_parts_of_an_upload_keep_their_own_limit(admin_client, settings, make_lecture, tenant):
    # An Excel roster far over DATA_UPLOAD_MAX_MEMORY_SIZE reaches the upload's own validation, not a 413.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    lecture = make_lecture(tenant)
    upload = SimpleUploadedFile("roster.xlsx", b"\x00not a workbook" * 1_000,
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    response = admin_client.post("/api/v1/enrollments/lecture_enroll_from_excel/",
                                 {"file": upload, "lecture_id": lecture.id}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "EXCEL_NOT_XLSX"


def test_a_video_part_over_the_memory_limit_is_stored_not_refused(anonymous, settings, local_storage):
    # Presigned storage PUTs stream the raw body: DATA_UPLOAD_MAX_MEMORY_SIZE is not theirs to apply.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    upload_id = local_storage.create_multipart("video", "t1/raw/1.mp4", content_type="video/mp4")
    url = local_storage.presign_part("video", "t1/raw/1.mp4", upload_id=upload_id, part_number=1)

    response = anonymous.put(url.removeprefix("http://testserver"), data=b"\0" * 5_000,
                             content_type="application/octet-stream")

    assert response.status_code == 200
    assert response["ETag"]
