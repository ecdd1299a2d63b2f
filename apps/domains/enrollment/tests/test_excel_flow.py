"""The Excel flow end to end (ARCHITECTURE §4): HTTP upload → storage → job → queue → the excel worker, reporting
over real HTTP to the live server → DONE or FAILED → the uploaded roster is gone. Once on moto S3 + SQS and once on
the embedded backends (local storage + table queue)."""

import hashlib
import io
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from apps.domains.enrollment.excel.export import EXPORT_HEADERS
from apps.domains.enrollment.handlers import excel_import
from apps.domains.enrollment.models import Attendance, Enrollment, EnrollmentStatus, SessionEnrollment
from apps.domains.lectures.models import Session
from apps.domains.students.models import Student
from apps.integrations.queues import QueueError, get_queues
from apps.jobs import services
from apps.jobs.models import Job, JobState

from .conftest import stored_imports

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

IMPORT_URL = "/api/v1/enrollments/lecture_enroll_from_excel/"
STUDENTS_URL = "/api/v1/students/import_from_excel/"
EXPORT_URL = "/api/v1/enrollments/export/"

ROWS = [
    ["김철수", "010-1111-2222", "", "대치중학교", "중2", "남", ""],  # row 2: new student
    ["이영희", 1022223333, "", "", "고1", "여", ""],  # row 3: new, the phone stored by Excel as a number
    ["박민수", "010-3333-4444", "", "", "", "", ""],  # row 4: already enrolled
    ["최지우", "010 4444 5555", "", "", "", "", ""],  # row 5: soft-deleted, restored
    ["김철수", "01011112222", "", "", "", "", ""],  # row 6: duplicate of row 2
    ["", "010-5555-6666", "", "", "", "", "메모만"],  # row 7: no name
]


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, "수학 A반")


@pytest.fixture
def enrolled_and_deleted(make_student, make_enrollment, tenant, lecture):
    enrolled = make_student(tenant, "박민수", "01033334444")
    make_enrollment(lecture, enrolled)
    make_student(tenant, "최지우", "01044445555", deleted_at=timezone.now())


def expected_result(lecture, *, dry_run: bool = False) -> dict:
    return {
        "enrolled_count": 3,
        "already_enrolled_count": 1,
        "created_students_count": 2,
        "restored_students_count": 1,
        "skipped_count": 2,
        "skipped": [
            {"row": 6, "code": "DUPLICATE_IN_FILE", "message": "2행과 중복됩니다."},
            {"row": 7, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."},
        ],
        "skipped_truncated": 0,
        # A dry run rolls the new first session back with everything else.
        "session_id": None if dry_run else Session.objects.get(lecture=lecture, order=1).id,
        "dry_run": dry_run,
        "sheet": "Sheet",
        "header_row": 1,
        "warnings": [],
        "accounts_created_count": 0, "accounts_created": [], "accounts_created_truncated": 0,
    }


def status_of(client, job_id) -> dict:
    return client.get(f"/api/v1/enrollments/excel_job_status/{job_id}/").json()


def db_counts(tenant) -> tuple[int, int, int, int]:
    return (Student.objects.filter(tenant=tenant).count(), Enrollment.objects.filter(tenant=tenant).count(),
            SessionEnrollment.objects.filter(tenant=tenant).count(), Attendance.objects.filter(tenant=tenant).count())


def post_roster(client, upload, lecture, **fields):
    return client.post(IMPORT_URL, {"file": upload, "lecture_id": lecture.id, **fields}, format="multipart")


class SilentContext:
    """A handler context whose reports go nowhere: the worker that owned it died before reporting anything."""

    attempt = 1
    stop_requested = False

    def progress(self, percent, stage=""):
        pass

    def heartbeat(self):
        pass


def test_a_roster_is_enrolled_by_the_worker_and_the_upload_is_deleted(stack, run_worker, admin_client, tenant,
                                                                      lecture, enrolled_and_deleted, roster_upload):
    upload = roster_upload(ROWS)
    sent = upload.read()
    upload.seek(0)
    response = post_roster(admin_client, upload, lecture)

    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json() == {"job_id": str(job.id), "status": "QUEUED"}
    key = f"imports/{tenant.id}/{job.id}.xlsx"
    assert stored_imports() == [key]
    assert job.payload == {"key": key, "lecture_id": lecture.id, "session_id": None, "dry_run": False,
                           "initial_password_hash": None,
                           "sha256": hashlib.sha256(sent).hexdigest()}
    assert (job.kind, job.queue, job.external_id != "") == ("excel_import", settings.SQS_QUEUE_EXCEL, True)

    run_worker()

    body = status_of(admin_client, job.id)
    assert (body["status"], body["progress"], body["error"]) == ("DONE", 100, None)
    assert body["result"] == expected_result(lecture)
    assert stored_imports() == []
    assert set(Enrollment.objects.filter(lecture=lecture).values_list("student__name", flat=True)) == {
        "김철수", "이영희", "박민수", "최지우"}
    assert Student.objects.get(name="이영희").parent_phone == "01022223333"
    assert get_queues().depth(settings.SQS_QUEUE_EXCEL) == 0


def test_a_roster_without_students_fails_with_the_exact_message_and_is_deleted(stack, run_worker, admin_client,
                                                                               tenant, lecture, roster_upload):
    response = post_roster(admin_client, roster_upload([]), lecture)
    assert response.status_code == 202

    run_worker()

    body = status_of(admin_client, response.json()["job_id"])
    assert (body["status"], body["attempts"], body["result"]) == ("FAILED", 1, None)
    assert body["error"] == {"code": "EXCEL_NO_ROWS", "message": "등록할 학생 데이터가 없습니다.", "details": {
        "skipped_count": 0, "skipped": [], "skipped_truncated": 0, "sheet": "Sheet", "header_row": 1, "warnings": []}}
    assert stored_imports() == []
    assert db_counts(tenant) == (0, 0, 0, 0)


def test_a_roster_whose_every_row_is_skipped_fails_saying_why_in_the_status_body(embedded_stack, live_server,
                                                                              run_worker, admin_client, tenant,
                                                                              lecture, roster_upload):
    rows = [[f"학생{n}", "", "", "", "", "", ""] for n in range(1, 19)] + [["가", "010-1", "", "", "", "", ""]] * 2
    response = post_roster(admin_client, roster_upload(rows), lecture)

    run_worker()

    body = status_of(admin_client, response.json()["job_id"])
    assert (body["status"], body["result"]) == ("FAILED", None)
    assert body["error"] == {"code": "EXCEL_NO_ROWS", "message": (
        "등록할 학생 데이터가 없습니다. 20행 모두 건너뛰었습니다: 학부모 전화번호 없음 18행, 학부모 전화번호 오류 2행"),
        "details": {
            "skipped_count": 20,
            "skipped": [{"row": row, "code": "MISSING_PARENT_PHONE", "message": "학부모 전화번호가 비어 있습니다."}
                        for row in range(2, 20)] + [
                {"row": row, "code": "INVALID_PARENT_PHONE",
                 "message": "학부모 전화번호가 올바르지 않습니다. 010으로 시작하는 11자리 번호를 입력해 주세요."}
                for row in (20, 21)],
            "skipped_truncated": 0, "sheet": "Sheet", "header_row": 1, "warnings": []}}
    # The poll answered from the cache and the one the database answers agree.
    assert status_of(admin_client, body["id"]) == body
    assert db_counts(tenant) == (0, 0, 0, 0)


def test_uncalculated_formulas_fail_with_their_own_code_in_the_status_body(embedded_stack, live_server, run_worker,
                                                                           admin_client, tenant, lecture,
                                                                           roster_upload):
    rows = [[f"학생{n}", f'="010"&"{n:08d}"', "", "", "", "", ""] for n in range(1, 21)]
    response = post_roster(admin_client, roster_upload(rows), lecture)

    run_worker()

    body = status_of(admin_client, response.json()["job_id"])
    assert body["status"] == "FAILED"
    assert body["error"]["code"] == "EXCEL_FORMULAS_NOT_CALCULATED"
    assert "엑셀에서 파일을 열어 저장한 뒤" in body["error"]["message"]
    assert db_counts(tenant) == (0, 0, 0, 0)


def test_queue_down_at_submit_answers_503_keeps_the_file_and_the_scanner_sends_it_later(
        stack, run_worker, admin_client, tenant, lecture, roster_upload, monkeypatch):
    settings.JOBS_DISPATCH_GRACE_SECONDS = 0

    def refuse(*args, **kwargs):
        raise QueueError("queue unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(get_queues(), "send", refuse)
        response = post_roster(admin_client, roster_upload(ROWS[:2]), lecture)

    assert response.status_code == 503
    job = Job.objects.get()
    assert response.json() == {
        "code": "EXCEL_ENQUEUE_FAILED",
        "message": "작업 대기열 등록이 지연되고 있습니다. 자동으로 다시 시도되니 잠시 후 진행 상황을 확인해 주세요.",
        "details": {"job_id": str(job.id), "status": "QUEUED"},
    }
    assert (job.state, job.external_id) == (JobState.QUEUED, "")
    assert stored_imports() == [f"imports/{tenant.id}/{job.id}.xlsx"]
    assert db_counts(tenant) == (0, 0, 0, 0)

    call_command("scan_stuck_jobs", stdout=io.StringIO())
    job.refresh_from_db()
    assert job.external_id != ""
    run_worker()

    job.refresh_from_db()
    assert (job.state, job.result["created_students_count"], job.result["enrolled_count"]) == (JobState.DONE, 2, 2)
    assert stored_imports() == []


def test_the_same_message_delivered_twice_imports_once_with_the_same_counts(stack, run_worker, admin_client, tenant,
                                                                           lecture, enrolled_and_deleted,
                                                                           roster_upload):
    response = post_roster(admin_client, roster_upload(ROWS), lecture)
    job = Job.objects.get(id=response.json()["job_id"])
    get_queues().send(settings.SQS_QUEUE_EXCEL, {"job_id": str(job.id), "kind": "excel_import",
                                                 "tenant_id": tenant.id})

    run_worker(max_polls=3)

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 1)
    assert job.result == expected_result(lecture)
    assert db_counts(tenant) == (4, 4, 4, 4)
    assert get_queues().depth(settings.SQS_QUEUE_EXCEL) == 0


def test_a_worker_killed_after_enrolling_but_before_reporting_is_retried_with_the_same_result(
        stack, run_worker, admin_client, tenant, lecture, enrolled_and_deleted, roster_upload):
    response = post_roster(admin_client, roster_upload(ROWS), lecture)
    job = Job.objects.get(id=response.json()["job_id"])
    # The first worker claims the job and commits the import, then dies before reporting: its heartbeat stops.
    assert services.job_claim(job_id=job.id).won
    job.refresh_from_db()
    first = excel_import(job, SilentContext())
    Job.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - timedelta(seconds=121))
    counts_after_first = db_counts(tenant)

    run_worker()

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    assert job.result == first == expected_result(lecture)
    assert db_counts(tenant) == counts_after_first == (4, 4, 4, 4)
    assert stored_imports() == []


def test_a_dry_run_reports_the_counts_writes_nothing_and_deletes_the_upload(embedded_stack, live_server, run_worker,
                                                                            admin_client, tenant, lecture,
                                                                            enrolled_and_deleted, roster_upload):
    response = post_roster(admin_client, roster_upload(ROWS), lecture, dry_run="true")

    run_worker()

    body = status_of(admin_client, response.json()["job_id"])
    assert body["status"] == "DONE"
    assert body["result"] == expected_result(lecture, dry_run=True)
    assert db_counts(tenant) == (2, 1, 0, 0)
    assert Student.objects.get(name="최지우").deleted_at is not None
    assert stored_imports() == []


def test_a_students_only_import_hashes_the_initial_password_before_it_is_stored(embedded_stack, live_server,
                                                                                run_worker, admin_client, tenant,
                                                                                roster_upload, caplog):
    password = "start-2024!"
    response = admin_client.post(STUDENTS_URL, {"file": roster_upload(ROWS[:2]), "initial_password": password},
                                 format="multipart")

    assert response.status_code == 202
    job = Job.objects.get()
    assert job.payload["initial_password_hash"].startswith("md5$")
    assert password not in json.dumps(job.payload)
    run_worker()

    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert (job.result["created_students_count"], job.result["enrolled_count"], job.result["session_id"]) == (
        2, 0, None)
    students = Student.objects.filter(tenant=tenant).select_related("user")
    assert sorted(s.name for s in students) == ["김철수", "이영희"]
    assert all(s.user.check_password(password) for s in students)
    # The result lists the logins it created, never the password or its hash. 중2 may be under 14: inactive until a
    # guardian's consent; 고1 is 14 or older.
    kim, lee = sorted(students, key=lambda s: s.id)
    assert job.result["accounts_created"] == [
        {"student_id": kim.id, "name": "김철수", "username": f"{tenant.code}-{kim.id}", "is_active": False},
        {"student_id": lee.id, "name": "이영희", "username": f"{tenant.code}-{lee.id}", "is_active": True}]
    assert (kim.user.is_active, lee.user.is_active) == (False, True)
    assert password not in json.dumps(job.result, ensure_ascii=False)
    assert job.payload["initial_password_hash"] not in json.dumps(job.result, ensure_ascii=False)
    assert Enrollment.objects.count() == 0
    assert all(password not in repr(vars(record)) for record in caplog.records)


def test_an_export_is_written_by_the_worker_and_downloads_through_a_fresh_url(stack, run_worker, admin_client,
                                                                             tenant, lecture, make_student,
                                                                             make_enrollment):
    formula = '=HYPERLINK("http://evil.example","클릭")'
    for name, status in ((formula, EnrollmentStatus.ACTIVE), ("정상학생", EnrollmentStatus.ACTIVE),
                         ("+8210", EnrollmentStatus.ACTIVE), ("취소학생", EnrollmentStatus.DROPPED)):
        make_enrollment(lecture, make_student(tenant, name), status=status)

    response = admin_client.post(EXPORT_URL, {"lecture_id": lecture.id, "statuses": ["ACTIVE"],
                                              "filename": "3월 명단"}, format="json")
    assert response.status_code == 202
    job = Job.objects.get()
    run_worker()

    status_response = admin_client.get(f"/api/v1/jobs/{job.id}/")
    body = status_response.json()
    key = f"exports/{tenant.id}/{job.id}_3월 명단.xlsx"
    assert body["status"] == "DONE"
    assert status_response["Cache-Control"] == "no-store"
    assert {k: v for k, v in body["result"].items() if k != "download_url"} == {
        "key": key, "filename": "3월 명단.xlsx", "row_count": 3, "expires_in": 300}
    job.refresh_from_db()
    assert job.result == {"key": key, "filename": "3월 명단.xlsx", "row_count": 3}

    download = requests.get(body["result"]["download_url"], timeout=10)

    assert download.status_code == 200
    assert "filename*=UTF-8''" + quote("3월 명단.xlsx", safe="") in download.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(max_col=1)]
    assert [cell.value for cell in sheet[1]] == list(EXPORT_HEADERS)
    assert sorted(row[0] for row in rows[1:]) == sorted([formula, "정상학생", "+8210"])
    formula_cells = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1) if row[0].value == formula]
    assert [(cell.data_type, cell.value) for cell in formula_cells] == [("s", formula)]
