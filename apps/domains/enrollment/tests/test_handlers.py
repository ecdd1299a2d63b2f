"""The excel fleet's handlers called directly with a JSON round-tripped job, on local storage."""

import hashlib
import io
import json
import tempfile
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from apps.domains.enrollment.excel import importer
from apps.domains.enrollment.excel.services import XLSX_CONTENT_TYPE
from apps.domains.enrollment.excel.tests.builders import ROSTER_HEADER, write_xlsx
from apps.domains.enrollment.handlers import excel_export, excel_export_present, excel_import, failure_details
from apps.domains.students.models import Student
from apps.integrations.storage import StorageError, get_storage
from apps.jobs.errors import MAX_FAILURE_DETAILS_BYTES, JobFailure, JobInterrupted, failure_details_size
from apps.jobs.models import Job, JobState

pytestmark = pytest.mark.django_db
ROWS = [["김철수", "010-1111-2222", "", "", "중2", "", ""], ["이영희", "010-2222-3333", "", "", "고1", "", ""]]


@pytest.fixture(autouse=True)
def ports(embedded_stack, settings, tmp_path):
    settings.API_BASE_URL = "http://testserver"
    return embedded_stack


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The directory the handlers' temporary files go to, to prove they are removed."""
    directory = tmp_path / "scratch"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, "수학 A반")


class RecordingContext:
    attempt = 1
    stop_requested = False

    def __init__(self):
        self.reports = []

    def progress(self, percent, stage=""):
        self.reports.append((percent, stage))

    def heartbeat(self):
        pass


def running_job(tenant, kind: str, payload: dict) -> Job:
    job = Job.objects.create(tenant=tenant, kind=kind, state=JobState.RUNNING, attempts=1, started_at=timezone.now(),
                             heartbeat_at=timezone.now(), payload=json.loads(json.dumps(payload)))
    return Job.objects.get(id=job.id)


def stored_roster(tenant, tmp_path, rows=ROWS, key: str | None = None) -> str:
    key = key or f"imports/{tenant.id}/roster.xlsx"
    path = write_xlsx(tmp_path / "roster.xlsx", [ROSTER_HEADER, *rows])
    get_storage().put_file("excel", key, path)
    return key


def import_payload(key, lecture, **fields) -> dict:
    return {"key": key, "lecture_id": lecture.id if lecture else None, "session_id": None, "dry_run": False,
            "initial_password_hash": None, **fields}


def test_import_reports_its_stages_and_records_the_result_on_the_job(tenant, lecture, tmp_path, scratch):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path), lecture))
    ctx = RecordingContext()

    result = excel_import(job, ctx)

    assert ctx.reports == [(5, "다운로드"), (20, "분석"), (50, "등록")]
    assert (result["enrolled_count"], result["created_students_count"]) == (2, 2)
    assert Job.objects.get(id=job.id).result == result
    assert list(scratch.iterdir()) == []


def test_import_validates_only_a_roster_that_is_not_the_one_validated_at_upload(tenant, lecture, tmp_path):
    # Given two stored rosters: one whose digest the payload names (validated at upload), one it does not name
    key = stored_roster(tenant, tmp_path)
    digest = hashlib.sha256((tmp_path / "roster.xlsx").read_bytes()).hexdigest()
    other = stored_roster(tenant, tmp_path, rows=ROWS[:1], key=f"imports/{tenant.id}/other.xlsx")

    with mock.patch.object(importer, "excel_validate_upload") as validate:
        excel_import(running_job(tenant, "excel_import", import_payload(key, lecture, sha256=digest)),
                     RecordingContext())
        assert validate.call_count == 0
        excel_import(running_job(tenant, "excel_import", import_payload(other, lecture, sha256=digest)),
                     RecordingContext())

    # Then the upload's bytes are read once, by the parser; other bytes are validated first
    assert [call.args[0].name for call in validate.call_args_list] == ["roster.xlsx"]


def test_a_result_recorded_by_another_attempt_during_the_import_wins_and_this_import_rolls_back(tenant, lecture,
                                                                                               tmp_path):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path), lecture))
    recorded = {"enrolled_count": 2, "note": "the other attempt's result"}
    Job.objects.filter(id=job.id).update(result=recorded)

    result = excel_import(job, RecordingContext())

    assert result == recorded
    assert Student.objects.count() == 0


def test_an_already_recorded_result_is_returned_without_touching_storage(tenant, lecture):
    job = running_job(tenant, "excel_import", import_payload(f"imports/{tenant.id}/gone.xlsx", lecture))
    Job.objects.filter(id=job.id).update(result={"enrolled_count": 2})
    job.refresh_from_db()
    ctx = RecordingContext()

    assert excel_import(job, ctx) == {"enrolled_count": 2}
    assert ctx.reports == []


def test_a_job_cancelled_during_the_import_rolls_the_import_back(tenant, lecture, tmp_path):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path), lecture))
    Job.objects.filter(id=job.id).update(state=JobState.CANCELLED)

    with pytest.raises(JobInterrupted):
        excel_import(job, RecordingContext())

    assert Student.objects.count() == 0
    assert Job.objects.get(id=job.id).result is None


def test_a_missing_upload_fails_for_good(tenant, lecture):
    job = running_job(tenant, "excel_import", import_payload(f"imports/{tenant.id}/gone.xlsx", lecture))

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("EXCEL_FILE_MISSING", False)


def test_storage_down_during_the_download_is_retried(tenant, lecture, tmp_path, monkeypatch, scratch):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path), lecture))

    def refuse(*args, **kwargs):
        raise StorageError("bucket unreachable")

    monkeypatch.setattr(get_storage(), "get_to_file", refuse)

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("EXCEL_STORAGE_UNAVAILABLE", True)
    assert list(scratch.iterdir()) == []


def test_a_file_the_validator_refuses_fails_for_good_with_its_code_and_the_temp_file_is_removed(tenant, lecture,
                                                                                                scratch):
    key = f"imports/{tenant.id}/junk.xlsx"
    get_storage().put("excel", key, b"\x89PNG\r\n\x1a\n" + bytes(64))
    job = running_job(tenant, "excel_import", import_payload(key, lecture))

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("EXCEL_NOT_XLSX", False)
    assert list(scratch.iterdir()) == []
    assert Student.objects.count() == 0


def test_a_roster_without_rows_fails_with_the_exact_message(tenant, lecture, tmp_path):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path, rows=[]), lecture))

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.message, caught.value.retryable) == (
        "EXCEL_NO_ROWS", "등록할 학생 데이터가 없습니다.", False)


def test_a_roster_whose_every_row_is_skipped_fails_saying_why_row_by_row(tenant, lecture, tmp_path):
    rows = [[f"학생{n}", "", "", "", "", "", ""] for n in range(1, 21)]
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path, rows=rows), lecture))

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    failure = caught.value
    assert (failure.code, failure.retryable) == ("EXCEL_NO_ROWS", False)
    assert failure.message == "등록할 학생 데이터가 없습니다. 20행 모두 건너뛰었습니다: 학부모 전화번호 없음 20행"
    assert failure.details["skipped_count"] == 20
    assert failure.details["skipped"][0] == {"row": 2, "code": "MISSING_PARENT_PHONE",
                                             "message": "학부모 전화번호가 비어 있습니다."}
    assert (failure.details["sheet"], failure.details["header_row"]) == ("Sheet", 1)
    assert Student.objects.count() == 0


def test_a_100000_row_roster_whose_every_row_is_skipped_fails_with_details_that_can_be_reported(tenant, lecture):
    key = f"imports/{tenant.id}/roster.csv"
    text = "이름,학부모 전화번호\r\n" + "".join(f"학생{n},\r\n" for n in range(100_000))
    get_storage().put("excel", key, text.encode("utf-8"))
    job = running_job(tenant, "excel_import", import_payload(key, lecture))

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    details = caught.value.details
    assert failure_details_size(details) <= MAX_FAILURE_DETAILS_BYTES
    assert (details["skipped_count"], len(details["skipped"]), details["skipped_truncated"]) == (100_000, 200, 99_800)
    assert details["skipped"][-1] == {"row": 201, "code": "MISSING_PARENT_PHONE",
                                      "message": "학부모 전화번호가 비어 있습니다."}


def test_failure_details_too_large_keep_the_first_rows_that_fit_and_count_the_rest():
    rows = [{"row": n, "code": "INVALID_GRADE", "message": "가" * 150} for n in range(2, 202)]
    details = {"skipped_count": 5000, "skipped": rows, "skipped_truncated": 4800, "sheet": "명단", "header_row": 1,
               "warnings": []}
    assert failure_details_size(details) > MAX_FAILURE_DETAILS_BYTES

    trimmed = failure_details(details)

    assert failure_details_size(trimmed) <= MAX_FAILURE_DETAILS_BYTES
    assert trimmed == {**details, "skipped": rows[:100], "skipped_truncated": 4900}
    assert failure_details(trimmed) is trimmed


def test_a_roster_of_uncalculated_formulas_fails_with_its_own_code(tenant, lecture, tmp_path):
    rows = [[f"학생{n}", f'="010"&"{n:08d}"', "", "", "", "", ""] for n in range(1, 21)]
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path, rows=rows), lecture))

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("EXCEL_FORMULAS_NOT_CALCULATED", False)
    assert "엑셀에서 파일을 열어 저장한 뒤" in caught.value.message
    assert caught.value.details["rows"] == 20
    assert Student.objects.count() == 0


@pytest.mark.parametrize("encoding", ["cp949", "utf-8-sig"])
def test_a_csv_roster_stored_under_its_csv_key_is_imported(tenant, lecture, encoding):
    key = f"imports/{tenant.id}/roster.csv"
    text = "이름,학부모 전화번호,학년\r\n김철수,010-1111-2222,중2\r\n이영희,01022223333,고1\r\n"
    get_storage().put("excel", key, text.encode(encoding))
    job = running_job(tenant, "excel_import", import_payload(key, lecture))

    result = excel_import(job, RecordingContext())

    assert (result["enrolled_count"], result["sheet"], result["header_row"]) == (2, None, 1)
    assert sorted(Student.objects.values_list("name", "grade")) == [("김철수", 2), ("이영희", 1)]


def test_a_lecture_deleted_after_the_upload_fails_the_import(tenant, lecture, tmp_path):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path), lecture))
    lecture.delete()

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("LECTURE_NOT_FOUND", False)


def test_a_lecture_archived_after_the_upload_fails_the_import_and_enrolls_no_one(tenant, lecture, tmp_path):
    job = running_job(tenant, "excel_import", import_payload(stored_roster(tenant, tmp_path), lecture))
    lecture.archived_at = timezone.now()
    lecture.save()

    with pytest.raises(JobFailure) as caught:
        excel_import(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("LECTURE_ARCHIVED", False)
    assert Student.objects.count() == 0
    assert lecture.enrollments.count() == 0


def test_an_archived_lectures_roster_is_exported(tenant, lecture, make_student, make_enrollment, scratch):
    make_enrollment(lecture, make_student(tenant, "김철수"))
    lecture.archived_at = timezone.now()
    lecture.save()
    job = running_job(tenant, "excel_export", {"lecture_id": lecture.id, "statuses": [], "filename": "명단.xlsx"})

    result = excel_export(job, RecordingContext())

    assert result["row_count"] == 1


def test_cancelling_a_queued_import_deletes_its_upload(admin_client, tenant, lecture, tmp_path,
                                                       django_capture_on_commit_callbacks):
    key = stored_roster(tenant, tmp_path)
    job = Job.objects.create(tenant=tenant, kind="excel_import", payload=import_payload(key, lecture))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/jobs/{job.id}/cancel/")

    assert response.status_code == 200
    assert get_storage().exists("excel", key) is False


def test_export_uploads_the_roster_and_the_presenter_signs_a_working_download_url(tenant, lecture, make_student,
                                                                                  make_enrollment, scratch):
    make_enrollment(lecture, make_student(tenant, "@SUM(1)"))
    job = running_job(tenant, "excel_export", {"lecture_id": lecture.id, "statuses": [], "filename": "명단.xlsx"})
    ctx = RecordingContext()

    result = excel_export(job, ctx)

    key = f"exports/{tenant.id}/{job.id}_명단.xlsx"
    assert result == {"key": key, "filename": "명단.xlsx", "row_count": 1}
    assert ctx.reports == [(10, "명단 작성"), (80, "업로드")]
    assert get_storage().head("storage", key).content_type == XLSX_CONTENT_TYPE
    assert list(scratch.iterdir()) == []
    job.state, job.result = JobState.DONE, result
    shown = excel_export_present(job)
    assert {k: v for k, v in shown.items() if k != "download_url"} == {**result, "expires_in": 300}
    url = urlsplit(shown["download_url"])
    download = Client().get(f"{url.path}?{url.query}")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("@SUM(1)", "s")


def test_export_of_a_deleted_lecture_fails_for_good(tenant):
    job = running_job(tenant, "excel_export", {"lecture_id": 999999, "statuses": [], "filename": "명단.xlsx"})

    with pytest.raises(JobFailure) as caught:
        excel_export(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("LECTURE_NOT_FOUND", False)


def test_export_upload_failure_is_retried(tenant, lecture, monkeypatch, scratch):
    job = running_job(tenant, "excel_export", {"lecture_id": lecture.id, "statuses": [], "filename": "명단.xlsx"})

    def refuse(*args, **kwargs):
        raise StorageError("bucket unreachable")

    monkeypatch.setattr(get_storage(), "put_file", refuse)

    with pytest.raises(JobFailure) as caught:
        excel_export(job, RecordingContext())

    assert (caught.value.code, caught.value.retryable) == ("EXCEL_STORAGE_UNAVAILABLE", True)
    assert list(scratch.iterdir()) == []


def test_both_kinds_run_on_the_excel_queue_with_their_hooks(settings):
    from apps.jobs.registry import get_spec

    imports, exports = get_spec("excel_import"), get_spec("excel_export")

    assert (imports.backend, imports.queue_name()) == (exports.backend, exports.queue_name()) == (
        "queue", settings.SQS_QUEUE_EXCEL)
    assert (imports.heartbeat_timeout, imports.max_attempts, imports.present_result) == (30, 3, None)
    # Fair share: one academy's burst holds at most EXCEL_MAX_RUNNING_PER_TENANT of the fleet's workers.
    assert imports.max_running_per_tenant == exports.max_running_per_tenant == "EXCEL_MAX_RUNNING_PER_TENANT"
    assert imports.load_handler() is excel_import
    assert imports.on_terminal == "apps.domains.enrollment.handlers.excel_import_cleanup"
    assert (exports.load_handler(), exports.load_present_result(), exports.on_terminal) == (
        excel_export, excel_export_present, None)
