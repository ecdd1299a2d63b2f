"""The Excel endpoints' refusals (nothing stored, no job), the template download and the export request."""

import hashlib
import io
import zipfile
from urllib.parse import quote

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from apps.core.models import Role
from apps.domains.enrollment.excel.services import XLSX_CONTENT_TYPE
from apps.domains.enrollment.excel.template import TEMPLATE_HEADERS
from apps.domains.enrollment.excel.tests.builders import FIXTURES, ole_container, write_ods, write_zip_bomb
from apps.integrations.storage import StorageError, get_storage
from apps.jobs.models import Job

from .conftest import stored_imports, upload_of

IMPORT_URL = "/api/v1/enrollments/lecture_enroll_from_excel/"
STUDENTS_URL = "/api/v1/students/import_from_excel/"
EXPORT_URL = "/api/v1/enrollments/export/"
TEMPLATE_URL = "/api/v1/enrollments/excel_template/"
ROW = ["김철수", "010-1111-2222", "", "", "중2", "", ""]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ports(embedded_stack):
    return embedded_stack


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, "수학 A반")


def _truncated(roster_upload):
    data = roster_upload([ROW]).read()
    return upload_of(data[: len(data) // 2])


def _zip_bomb(tmp_path):
    return upload_of(write_zip_bomb(tmp_path / "bomb.xlsx", member_bytes=8 * 1024 * 1024).read_bytes())


HOSTILE = {
    "empty": (lambda roster_upload, tmp_path: upload_of(b""), 400, "EXCEL_EMPTY_FILE"),
    "not_a_zip": (lambda roster_upload, tmp_path: upload_of(b"MZ\x90\x00 definitely not a workbook"), 400,
                  "EXCEL_NOT_XLSX"),
    "truncated": (lambda roster_upload, tmp_path: _truncated(roster_upload), 400, "EXCEL_CORRUPT"),
    "ole_without_workbook": (lambda roster_upload, tmp_path: upload_of(ole_container("Workbook"), "명단.xls"), 400,
                             "EXCEL_CORRUPT"),
    "html_named_xls": (lambda roster_upload, tmp_path: upload_of(b"<html><table><tr><td>a</td></tr></table></html>",
                                                                 "명단.xls"), 400, "EXCEL_XLS_UNSUPPORTED"),
    "xls_far_cell": (lambda roster_upload, tmp_path: upload_of((FIXTURES / "far_cell.xls").read_bytes(), "명단.xls"),
                     400, "EXCEL_SHEET_TOO_LARGE"),
    "encrypted": (lambda roster_upload, tmp_path: upload_of(ole_container("EncryptionInfo", "EncryptedPackage")),
                  400, "EXCEL_ENCRYPTED"),
    "csv_undecodable": (lambda roster_upload, tmp_path: upload_of("이름,전화\n".encode() + b"\xff\xfe,\x80\n",
                                                                  "명단.csv"), 400, "EXCEL_CSV_ENCODING"),
    "zip_bomb": (lambda roster_upload, tmp_path: _zip_bomb(tmp_path), 400, "EXCEL_ZIP_BOMB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("url", [IMPORT_URL, STUDENTS_URL])
def test_a_hostile_file_is_refused_with_the_validators_code_and_nothing_is_stored(case, url, admin_client, lecture,
                                                                                   roster_upload, tmp_path):
    build, status, code = HOSTILE[case]

    response = admin_client.post(url, {"file": build(roster_upload, tmp_path), "lecture_id": lecture.id},
                                 format="multipart")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert stored_imports() == []
    assert Job.objects.count() == 0


FORMATS = {
    "xls": (lambda tmp_path: (FIXTURES / "roster_hidden_first.xls").read_bytes(), "명단.xls"),
    "ods": (lambda tmp_path: write_ods(tmp_path / "r.ods", {"명단": [["이름", "학부모 전화번호"], ["홍", "010"]]})
            .read_bytes(), "명단.ods"),
    "csv_cp949": (lambda tmp_path: "이름,학부모 전화번호\r\n홍길동,010-1234-5678\r\n".encode("cp949"), "명단.csv"),
    "csv_utf8_bom": (lambda tmp_path: "이름,학부모 전화번호\n홍길동,010-1234-5678\n".encode("utf-8-sig"), "명단.csv"),
}


@pytest.mark.parametrize("case", sorted(FORMATS))
def test_xls_ods_and_csv_rosters_are_accepted_and_stored_under_their_own_extension(case, admin_client, lecture,
                                                                                    tmp_path):
    build, name = FORMATS[case]

    response = admin_client.post(IMPORT_URL, {"file": upload_of(build(tmp_path), name), "lecture_id": lecture.id},
                                 format="multipart")

    assert response.status_code == 202
    job = Job.objects.get()
    extension = name.rsplit(".", 1)[1]
    assert job.payload["key"] == f"imports/{lecture.tenant_id}/{job.id}.{extension}"
    assert stored_imports() == [job.payload["key"]]


def test_an_oversize_file_is_refused_with_413_and_nothing_is_stored(admin_client, lecture, roster_upload, settings):
    settings.EXCEL_MAX_UPLOAD_BYTES = 1000

    response = admin_client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": lecture.id},
                                 format="multipart")

    assert (response.status_code, response.json()["code"]) == (413, "EXCEL_TOO_LARGE")
    assert stored_imports() == []
    assert Job.objects.count() == 0


@pytest.mark.parametrize("url", [IMPORT_URL, STUDENTS_URL])
@pytest.mark.parametrize("password, codes", [
    ("1234", ["password_too_short", "password_too_common", "password_entirely_numeric"]),
    ("password1", ["password_too_common"]),
    ("73928461", ["password_entirely_numeric"]),
])
def test_an_initial_password_the_policy_refuses_is_400_and_nothing_is_stored(url, password, codes, admin_client,
                                                                          lecture, roster_upload):
    response = admin_client.post(url, {"file": roster_upload([ROW]), "lecture_id": lecture.id,
                                       "initial_password": password}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (400, "PASSWORD_TOO_WEAK")
    assert response.json()["details"]["codes"] == codes
    assert all(message.endswith("다.") for message in response.json()["details"]["messages"])  # Korean sentences
    assert stored_imports() == []
    assert Job.objects.count() == 0


def test_a_request_without_a_file_is_a_validation_error(admin_client, lecture):
    response = admin_client.post(IMPORT_URL, {"lecture_id": lecture.id}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")
    assert set(response.json()["details"]) == {"file"}
    assert Job.objects.count() == 0


def test_another_tenants_lecture_is_404_and_nothing_is_stored(admin_client, make_lecture, other_tenant,
                                                             roster_upload):
    foreign = make_lecture(other_tenant, "남의 강의")

    response = admin_client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": foreign.id},
                                 format="multipart")

    assert (response.status_code, response.json()["code"]) == (404, "LECTURE_NOT_FOUND")
    assert stored_imports() == []
    assert Job.objects.count() == 0


def test_another_tenants_session_is_404_and_nothing_is_stored(admin_client, lecture, make_lecture, make_session,
                                                             other_tenant, roster_upload):
    foreign_session = make_session(make_lecture(other_tenant, "남의 강의"))

    response = admin_client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": lecture.id,
                                              "session_id": foreign_session.id}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (404, "SESSION_NOT_FOUND")
    assert stored_imports() == []
    assert Job.objects.count() == 0


def test_a_session_of_another_lecture_is_refused(admin_client, lecture, make_lecture, make_session, tenant,
                                                 roster_upload):
    session = make_session(make_lecture(tenant, "영어 B반"))

    response = admin_client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": lecture.id,
                                              "session_id": session.id}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (400, "SESSION_NOT_IN_LECTURE")
    assert stored_imports() == []
    assert Job.objects.count() == 0


def test_an_import_into_an_archived_lecture_is_409_and_nothing_is_stored(admin_client, lecture, roster_upload):
    lecture.archived_at = timezone.now()
    lecture.save()

    response = admin_client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": lecture.id},
                                 format="multipart")

    assert (response.status_code, response.json()["code"]) == (409, "LECTURE_ARCHIVED")
    assert stored_imports() == []
    assert Job.objects.count() == 0


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT])
def test_only_admins_import(client_for, make_user, tenant, lecture, roster_upload, role):
    client = client_for(make_user(tenant, role))

    response = client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": lecture.id}, format="multipart")

    assert response.status_code == 403
    assert stored_imports() == []
    assert Job.objects.count() == 0


def test_storage_down_at_submit_is_503_and_no_job_is_created(admin_client, lecture, roster_upload, monkeypatch):
    def refuse(*args, **kwargs):
        raise StorageError("bucket unreachable")

    monkeypatch.setattr(get_storage(), "put", refuse)

    response = admin_client.post(IMPORT_URL, {"file": roster_upload([ROW]), "lecture_id": lecture.id},
                                 format="multipart")

    assert response.status_code == 503
    assert response.json()["code"] == "EXCEL_STORAGE_UNAVAILABLE"
    assert Job.objects.count() == 0


def test_an_accepted_upload_is_stored_as_sent_and_the_job_is_queued(admin_client, tenant, lecture, make_session,
                                                                   roster_upload, django_capture_on_commit_callbacks):
    session = make_session(lecture)
    upload = roster_upload([ROW])
    sent = upload.read()
    upload.seek(0)

    with django_capture_on_commit_callbacks():
        response = admin_client.post(IMPORT_URL, {"file": upload, "lecture_id": lecture.id,
                                                  "session_id": session.id, "dry_run": "true"}, format="multipart")

    assert response.status_code == 202
    job = Job.objects.get()
    key = f"imports/{tenant.id}/{job.id}.xlsx"
    assert job.payload == {"key": key, "lecture_id": lecture.id, "session_id": session.id, "dry_run": True,
                           "initial_password_hash": None, "sha256": hashlib.sha256(sent).hexdigest()}
    info = get_storage().head("excel", key)
    assert (info.size, info.content_type) == (len(sent), XLSX_CONTENT_TYPE)


def test_the_template_downloads_as_an_xlsx_with_a_korean_file_name(client_for, make_user, tenant):
    client = client_for(make_user(tenant, Role.TEACHER))

    response = client.get(TEMPLATE_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == (
        "attachment; filename=\"__.xlsx\"; filename*=UTF-8''" + quote("학생_명단_양식.xlsx", safe=""))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert tuple(cell.value for cell in sheet[1]) == TEMPLATE_HEADERS
    assert zipfile.is_zipfile(io.BytesIO(response.content))


def test_the_template_answers_a_client_that_accepts_only_xlsx(admin_client):
    response = admin_client.get(TEMPLATE_URL, HTTP_ACCEPT=XLSX_CONTENT_TYPE)

    assert (response.status_code, response["Content-Type"]) == (200, XLSX_CONTENT_TYPE)
    assert zipfile.is_zipfile(io.BytesIO(response.content))


def test_the_template_is_for_staff_only(client_for, make_user, tenant, client):
    assert client.get(TEMPLATE_URL).status_code == 401
    assert client_for(make_user(tenant, Role.STUDENT)).get(TEMPLATE_URL).status_code == 403


def test_an_export_request_queues_a_job_with_ids_and_a_safe_file_name(admin_client, tenant, lecture,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = admin_client.post(EXPORT_URL, {"lecture_id": lecture.id, "statuses": ["ACTIVE", "PAUSED"],
                                                  "filename": "../3월/명단:최종.xlsx"}, format="json")

    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json() == {"job_id": str(job.id), "status": "QUEUED"}
    assert (job.kind, job.payload) == ("excel_export", {"lecture_id": lecture.id, "statuses": ["ACTIVE", "PAUSED"],
                                                        "filename": "3월_명단_최종.xlsx"})


def test_an_export_without_a_name_is_named_after_the_lecture(admin_client, lecture):
    response = admin_client.post(EXPORT_URL, {"lecture_id": lecture.id}, format="json")

    assert response.status_code == 202
    filename = Job.objects.get().payload["filename"]
    assert filename.startswith("수학 A반_수강생명단_") and filename.endswith(".xlsx")


def test_an_archived_lectures_roster_may_still_be_exported(admin_client, lecture):
    lecture.archived_at = timezone.now()
    lecture.save()

    response = admin_client.post(EXPORT_URL, {"lecture_id": lecture.id}, format="json")

    assert response.status_code == 202
    assert Job.objects.get().payload["lecture_id"] == lecture.id


def test_an_export_of_another_tenants_lecture_is_404_and_no_job(admin_client, make_lecture, other_tenant):
    response = admin_client.post(EXPORT_URL, {"lecture_id": make_lecture(other_tenant).id}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "LECTURE_NOT_FOUND")
    assert Job.objects.count() == 0


def test_an_export_refuses_an_unknown_status(admin_client, lecture):
    response = admin_client.post(EXPORT_URL, {"lecture_id": lecture.id, "statuses": ["GONE"]}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")
    assert Job.objects.count() == 0


def test_the_schema_documents_the_excel_endpoints(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    # Every operation also documents the shared errors (apps/core/schema.py); these are the Excel ones.
    assert {"202", "400", "404", "409", "413", "503"} <= set(paths[IMPORT_URL]["post"]["responses"])
    assert {"202", "400", "413", "503"} <= set(paths[STUDENTS_URL]["post"]["responses"])
    assert {"202", "400", "404", "503"} <= set(paths[EXPORT_URL]["post"]["responses"])
    assert "EXCEL_TOO_LARGE" in paths[IMPORT_URL]["post"]["responses"]["413"]["description"]
    for url in (IMPORT_URL, STUDENTS_URL):
        assert list(paths[url]["post"]["requestBody"]["content"]) == ["multipart/form-data"]
    assert list(paths[TEMPLATE_URL]["get"]["responses"]["200"]["content"]) == [XLSX_CONTENT_TYPE]
