"""Set-based enrollment: created, restored, already enrolled; idempotent; dry run; constant queries per batch."""

import hashlib
from datetime import UTC, date, datetime
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.exceptions import DomainError, NotFoundError
from apps.core.models import Role, User
from apps.domains.enrollment.excel import bulk, importer
from apps.domains.enrollment.excel.errors import ExcelFileError, ExcelNoRowsError
from apps.domains.enrollment.excel.importer import enrollment_import_file, enrollment_import_rows, student_username
from apps.domains.enrollment.excel.parser import ParsedStudentRow, SkippedRow, parse_roster
from apps.domains.enrollment.excel.tests.builders import write_zip_bomb
from apps.domains.enrollment.excel.validation import excel_validate_upload
from apps.domains.enrollment.models import Attendance, Enrollment, SessionEnrollment
from apps.domains.lectures.models import Session
from apps.domains.students.models import Student

# Queries per batch of new students: read students, insert them, enroll them, session enrollments, attendance;
# the ORM path (SQLite) reads the inserted ids back after each of its two inserts.
QUERIES_PER_BATCH = {"sql": 5, "orm": 7}
# Once per import: its savepoint pair, the first session's lookup, and on Postgres the tenant's advisory lock.
QUERIES_PER_IMPORT = {"sql": 4, "orm": 3}


@pytest.fixture(autouse=True, params=["sql", "orm"])
def write_path(request, monkeypatch) -> str:
    """Every importer test runs on the Postgres array path and on the portable bulk_create path."""
    monkeypatch.setattr(bulk, "fast_path_enabled", lambda: request.param == "sql")
    return request.param


def make_rows(count: int, start: int = 0) -> list[ParsedStudentRow]:
    return [ParsedStudentRow(row=i + 2, name=f"학생{i}", parent_phone=f"010{i:08d}") for i in range(start, count)]


def run(tenant, lecture, rows, *, session=None, initial_password=None, dry_run=False, **kwargs) -> dict:
    return enrollment_import_rows(tenant=tenant, lecture=lecture, session=session, rows=rows,
                                  initial_password=initial_password, dry_run=dry_run, **kwargs).to_dict()


def db_state(tenant) -> tuple[int, int, int, int, int]:
    return (Student.objects.filter(tenant=tenant).count(), Enrollment.objects.count(), Session.objects.count(),
            SessionEnrollment.objects.count(), Attendance.objects.count())


@pytest.mark.django_db
def test_a_new_roster_creates_students_enrollments_the_first_session_and_attendance(tenant, lecture):
    rows = [ParsedStudentRow(row=4, name="김철수", parent_phone="01011112222", phone="01055556666", school="대치중",
                             school_type="MIDDLE", grade=2, gender="M", memo="메모", extra={"반": "A"}),
            ParsedStudentRow(row=5, name="이영희", parent_phone="01033334444")]
    skipped = [SkippedRow(6, "MISSING_NAME", "이름이 비어 있습니다.")]

    result = run(tenant, lecture, rows, skipped=skipped)

    session = Session.objects.get(lecture=lecture)
    assert (session.order, session.title, session.tenant_id) == (1, "1차시", tenant.id)
    assert result == {
        "enrolled_count": 2, "already_enrolled_count": 0, "created_students_count": 2,
        "restored_students_count": 0, "skipped_count": 1,
        "skipped": [{"row": 6, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."}],
        "skipped_truncated": 0, "session_id": session.id, "dry_run": False,
        "sheet": None, "header_row": None, "warnings": [],
        "accounts_created_count": 0, "accounts_created": [], "accounts_created_truncated": 0,
    }
    kim = Student.objects.get(name="김철수")
    assert (kim.parent_phone, kim.phone, kim.school, kim.school_type, kim.grade, kim.gender, kim.memo, kim.extra) == (
        "01011112222", "01055556666", "대치중", "MIDDLE", 2, "M", "메모", {"반": "A"})
    enrolled = Enrollment.objects.filter(lecture=lecture).values_list("student__name", flat=True)
    assert set(enrolled) == {"김철수", "이영희"}
    assert SessionEnrollment.objects.filter(session=session).count() == 2
    assert list(Attendance.objects.filter(session=session).values_list("status", flat=True)) == ["UNMARKED", "UNMARKED"]
    assert kim.user_id is None


@pytest.mark.django_db
def test_a_soft_deleted_student_is_restored_not_duplicated(tenant, lecture, make_student):
    gone = make_student(tenant, "박민수", "01099998888", deleted_at=timezone.now())

    result = run(tenant, lecture, [ParsedStudentRow(row=2, name="박민수", parent_phone="01099998888")])

    gone.refresh_from_db()
    assert gone.deleted_at is None
    assert Student.objects.filter(tenant=tenant).count() == 1
    assert (result["restored_students_count"], result["created_students_count"], result["enrolled_count"]) == (1, 0, 1)
    assert Enrollment.objects.get(lecture=lecture).student_id == gone.id


@pytest.mark.django_db
def test_a_live_twin_wins_over_a_deleted_one(tenant, lecture, make_student):
    deleted = make_student(tenant, "박민수", "01099998888", deleted_at=timezone.now())
    live = make_student(tenant, "박민수", "01099998888")

    result = run(tenant, lecture, [ParsedStudentRow(row=2, name="박민수", parent_phone="01099998888")])

    assert (result["restored_students_count"], result["created_students_count"]) == (0, 0)
    assert Enrollment.objects.get(lecture=lecture).student_id == live.id
    deleted.refresh_from_db()
    assert deleted.deleted_at is not None


@pytest.mark.django_db
def test_an_already_enrolled_student_is_counted_and_not_enrolled_twice(tenant, lecture, make_student):
    student = make_student(tenant, "최유진", "01077776666")
    Enrollment.objects.create(tenant=tenant, lecture=lecture, student=student)

    result = run(tenant, lecture, [ParsedStudentRow(row=2, name="최유진", parent_phone="01077776666"),
                                   ParsedStudentRow(row=3, name="신규", parent_phone="01077776667")])

    assert (result["already_enrolled_count"], result["enrolled_count"], result["created_students_count"]) == (1, 1, 1)
    assert Enrollment.objects.filter(lecture=lecture, student=student).count() == 1
    # The already enrolled student still joins the session with an attendance row.
    assert Attendance.objects.filter(enrollment__student=student).count() == 1


@pytest.mark.django_db
def test_importing_the_same_rows_twice_duplicates_nothing(tenant, lecture):
    rows = make_rows(30)
    first = run(tenant, lecture, rows)
    state = db_state(tenant)

    second = run(tenant, lecture, rows)

    assert db_state(tenant) == state == (30, 30, 1, 30, 30)
    assert (first["created_students_count"], first["enrolled_count"]) == (30, 30)
    assert (second["created_students_count"], second["enrolled_count"], second["already_enrolled_count"]) == (0, 0, 30)
    assert second["session_id"] == first["session_id"]


@pytest.mark.django_db
def test_record_result_is_called_inside_the_transaction_with_the_result(tenant, lecture):
    seen = []

    def record(body):
        # Inside the import transaction: the rows it describes are visible and not yet committed.
        seen.append((body, connection.in_atomic_block, Student.objects.filter(tenant=tenant).count()))

    result = run(tenant, lecture, make_rows(3), record_result=record)
    assert seen == [(result, True, 3)]


@pytest.mark.django_db
def test_a_failing_record_result_rolls_the_whole_import_back(tenant, lecture):
    def record(body):
        raise RuntimeError("storage of the result failed")

    with pytest.raises(RuntimeError):
        run(tenant, lecture, make_rows(3), record_result=record)
    assert db_state(tenant) == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_dry_run_reports_what_would_happen_and_writes_nothing(tenant, lecture, make_student):
    make_student(tenant, "학생0", "01000000000", deleted_at=timezone.now())
    recorded = []

    result = run(tenant, lecture, make_rows(5), dry_run=True, initial_password="pw-start-1234",
                 record_result=recorded.append)

    assert result == {
        "enrolled_count": 5, "already_enrolled_count": 0, "created_students_count": 4,
        "restored_students_count": 1, "skipped_count": 0, "skipped": [], "skipped_truncated": 0,
        "session_id": None, "dry_run": True, "sheet": None, "header_row": None, "warnings": [],
        # What would be created; the ids are those the rolled-back run gave (none of them exists afterwards).
        "accounts_created_count": 4, "accounts_created": result["accounts_created"], "accounts_created_truncated": 0,
    }
    assert [(item["name"], item["is_active"]) for item in result["accounts_created"]] == [
        ("학생1", False), ("학생2", False), ("학생3", False), ("학생4", False)]
    assert all(item["username"] == f"{tenant.code}-{item['student_id']}" for item in result["accounts_created"])
    assert db_state(tenant) == (1, 0, 0, 0, 0)
    assert Student.objects.get(tenant=tenant).deleted_at is not None
    assert User.objects.filter(role=Role.STUDENT).count() == 0
    assert recorded == []


@pytest.mark.django_db
def test_a_students_only_import_enrolls_nobody(tenant):
    result = run(tenant, None, make_rows(4))
    assert (result["created_students_count"], result["enrolled_count"], result["session_id"]) == (4, 0, None)
    assert db_state(tenant) == (4, 0, 0, 0, 0)


@pytest.mark.django_db
def test_an_initial_password_gives_new_students_accounts_hashed_once(tenant, lecture, make_student):
    existing = make_student(tenant, "학생0", "01000000000")
    with mock.patch.object(importer, "make_password", wraps=importer.make_password) as hasher:
        run(tenant, lecture, make_rows(3), initial_password="start-1234")
    assert hasher.call_count == 1
    created = Student.objects.filter(tenant=tenant).exclude(id=existing.id).select_related("user")
    assert sorted(s.user.username for s in created) == sorted(
        student_username(tenant=tenant, student_id=s.id) for s in created)
    assert all(s.user.check_password("start-1234") and s.user.role == Role.STUDENT and s.user.tenant_id == tenant.id
               and s.user.first_name == s.name for s in created)
    existing.refresh_from_db()
    assert existing.user_id is None


@pytest.mark.django_db
def test_a_pre_hashed_password_is_used_as_is_and_never_hashed_again(tenant, lecture):
    from django.contrib.auth.hashers import make_password

    password_hash = make_password("start-5678")
    with mock.patch.object(importer, "make_password", wraps=importer.make_password) as hasher:
        run(tenant, lecture, make_rows(2), initial_password_hash=password_hash)
    assert hasher.call_count == 0
    users = [s.user for s in Student.objects.filter(tenant=tenant).select_related("user")]
    assert [user.password for user in users] == [password_hash, password_hash]
    assert all(user.check_password("start-5678") for user in users)


@pytest.mark.django_db
def test_a_password_and_a_hash_together_are_refused(tenant, lecture):
    with pytest.raises(ValueError):
        run(tenant, lecture, make_rows(1), initial_password="a-1234", initial_password_hash="md5$x$y")
    assert db_state(tenant) == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_a_given_session_is_used(tenant, lecture):
    session = Session.objects.create(tenant=tenant, lecture=lecture, order=3, title="3차시")
    result = run(tenant, lecture, make_rows(2), session=session)
    assert result["session_id"] == session.id
    assert Session.objects.count() == 1
    assert Attendance.objects.filter(session=session).count() == 2


@pytest.mark.django_db
def test_an_import_marks_nobody_absent_and_keeps_the_marks_staff_made(tenant, lecture, make_student):
    # Given a session whose roll was taken for one enrolled student (ABSENT, a mark a person made)
    session = Session.objects.create(tenant=tenant, lecture=lecture, order=1, title="1차시")
    marked = make_student(tenant, "결석생", "01077770000")
    enrollment = Enrollment.objects.create(tenant=tenant, lecture=lecture, student=marked)
    Attendance.objects.create(tenant=tenant, session=session, enrollment=enrollment, status="ABSENT", memo="감기")

    # When a roster holding that student and two new ones is imported, twice
    rows = [ParsedStudentRow(row=2, name="결석생", parent_phone="01077770000"), *make_rows(2)]
    run(tenant, lecture, rows, session=session)
    run(tenant, lecture, rows, session=session)

    # Then the new rows wait to be marked and the only ABSENT row is the one a person made
    statuses = Attendance.objects.filter(session=session).values_list("enrollment__student__name", "status", "memo")
    assert sorted(statuses) == [("결석생", "ABSENT", "감기"), ("학생0", "UNMARKED", ""), ("학생1", "UNMARKED", "")]


@pytest.mark.django_db
def test_a_session_of_another_lecture_is_refused_and_nothing_is_written(tenant, lecture, make_lecture):
    other = Session.objects.create(tenant=tenant, lecture=make_lecture(tenant, "영어"), order=1)
    with pytest.raises(DomainError) as caught:
        run(tenant, lecture, make_rows(2), session=other)
    assert caught.value.code == "SESSION_NOT_IN_LECTURE"
    assert db_state(tenant) == (0, 0, 1, 0, 0)


@pytest.mark.django_db
def test_another_tenants_lecture_is_not_found(tenant, other_tenant, make_lecture):
    foreign = make_lecture(other_tenant, "남의 강의")
    with pytest.raises(NotFoundError):
        run(tenant, foreign, make_rows(2))
    assert Student.objects.count() == 0


@pytest.mark.django_db
def test_students_of_another_tenant_are_never_matched(tenant, other_tenant, lecture, make_student):
    theirs = make_student(other_tenant, "학생0", "01000000000")
    result = run(tenant, lecture, make_rows(1))
    assert result["created_students_count"] == 1
    assert Enrollment.objects.get().student.tenant_id == tenant.id != theirs.tenant_id


@pytest.mark.django_db
def test_no_usable_rows_fail_with_the_message_the_front_end_matches_and_why(tenant, lecture):
    skipped = [SkippedRow(2, "MISSING_NAME", "이름이 비어 있습니다.")]
    with pytest.raises(ExcelNoRowsError) as caught:
        run(tenant, lecture, [], skipped=skipped, sheet="명단", header_row=1)
    assert caught.value.code == "EXCEL_NO_ROWS"
    # The front end matches the first sentence; the reasons follow it.
    assert caught.value.message == "등록할 학생 데이터가 없습니다. 1행 모두 건너뛰었습니다: 이름 없음 1행"
    assert caught.value.details == {"skipped_count": 1, "skipped_truncated": 0, "sheet": "명단", "header_row": 1,
                                    "warnings": [],
                                    "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."}]}
    assert db_state(tenant) == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_the_no_rows_message_counts_each_reason_most_frequent_first(tenant, lecture):
    skipped = ([SkippedRow(row, "MISSING_PARENT_PHONE", "학부모 전화번호가 비어 있습니다.") for row in range(2, 20)]
               + [SkippedRow(20, "INVALID_GRADE", "학년"), SkippedRow(21, "INVALID_GRADE", "학년")])
    with pytest.raises(ExcelNoRowsError) as caught:
        run(tenant, lecture, [], skipped=skipped)
    assert caught.value.message == (
        "등록할 학생 데이터가 없습니다. 20행 모두 건너뛰었습니다: 학부모 전화번호 없음 18행, 학년 오류 2행")
    assert caught.value.details["skipped_count"] == 20


@pytest.mark.django_db
def test_a_roster_without_any_row_keeps_the_bare_message(tenant, lecture):
    with pytest.raises(ExcelNoRowsError) as caught:
        run(tenant, lecture, [])
    assert caught.value.message == "등록할 학생 데이터가 없습니다."


@pytest.mark.django_db
def test_duplicate_rows_given_to_the_importer_are_skipped(tenant, lecture):
    rows = [ParsedStudentRow(row=2, name="가", parent_phone="01000000001"),
            ParsedStudentRow(row=7, name="가", parent_phone="01000000001")]
    result = run(tenant, lecture, rows)
    assert result["skipped"] == [{"row": 7, "code": "DUPLICATE_IN_FILE", "message": "2행과 중복됩니다."}]
    assert Student.objects.count() == 1


@pytest.mark.django_db
def test_the_skipped_list_is_capped_and_says_how_many_were_left_out(tenant, lecture):
    skipped = [SkippedRow(row, "MISSING_NAME", "이름이 비어 있습니다.") for row in range(300, 50, -1)]
    result = run(tenant, lecture, make_rows(1), skipped=skipped)
    assert (result["skipped_count"], len(result["skipped"]), result["skipped_truncated"]) == (250, 200, 50)
    assert [item["row"] for item in result["skipped"]][:3] == [51, 52, 53]


def count_queries(callable_) -> int:
    with CaptureQueriesContext(connection) as context:
        callable_()
    return len(context.captured_queries)


@pytest.mark.django_db
def test_the_query_count_is_constant_per_batch_of_a_thousand_rows(tenant, lecture, settings, write_path,
                                                                  django_assert_max_num_queries):
    settings.EXCEL_IMPORT_BATCH_SIZE = 1000
    Session.objects.create(tenant=tenant, lecture=lecture, order=1)
    per_batch = QUERIES_PER_BATCH[write_path]
    with django_assert_max_num_queries(per_batch + QUERIES_PER_IMPORT[write_path]):
        run(tenant, lecture, make_rows(1000))
    one_batch = count_queries(lambda: run(tenant, lecture, make_rows(2000, start=1000)))
    three_batches = count_queries(lambda: run(tenant, lecture, make_rows(6000, start=3000)))
    # Two more batches, the same handful of queries each: nothing grows with the rows inside a batch.
    assert three_batches - one_batch == 2 * per_batch
    assert Student.objects.filter(tenant=tenant).count() == 5000


@pytest.mark.django_db
def test_restores_and_accounts_keep_the_per_batch_count_bounded(tenant, lecture, settings, write_path):
    settings.EXCEL_IMPORT_BATCH_SIZE = 1000
    now = timezone.now()
    Student.objects.bulk_create([Student(tenant=tenant, name=f"학생{i}", parent_phone=f"010{i:08d}", deleted_at=now)
                                 for i in range(0, 3000, 2)])
    queries = count_queries(lambda: run(tenant, lecture, make_rows(3000), initial_password="pw-start-1234"))
    # Per batch: the new-student queries + restore + accounts (insert and link; the ORM path reads the ids back)
    # + the enrollments of the restored students; once: the import's own queries, and the first session's
    # creation (savepoint, insert, release).
    account_queries = {"sql": 2, "orm": 3}[write_path]
    assert queries == 3 * (QUERIES_PER_BATCH[write_path] + 1 + account_queries + 1) + QUERIES_PER_IMPORT[write_path] + 3
    assert Student.objects.filter(tenant=tenant, deleted_at__isnull=True).count() == 3000
    assert User.objects.filter(tenant=tenant, role=Role.STUDENT).count() == 1500


@pytest.mark.django_db
def test_a_roster_file_goes_through_validation_parsing_and_import(tenant, lecture, roster, make_student):
    make_student(tenant, "이영희", "01033334444", deleted_at=timezone.now())
    path = roster([["김철수", 1011112222, "", "대치중학교", "중2", "남", ""],
                   ["이영희", "010-3333-4444", "", "", "", "", ""],
                   ["", "01055556666", "", "", "", "", ""],
                   ["김철수", "010.1111.2222", "", "", "", "", ""]], title="겨울 특강")
    excel_validate_upload(path)
    parsed = parse_roster(path)

    result = run(tenant, lecture, parsed.rows, skipped=parsed.skipped)

    assert {key: result[key] for key in ("enrolled_count", "created_students_count", "restored_students_count",
                                         "skipped_count")} == {"enrolled_count": 2, "created_students_count": 1,
                                                               "restored_students_count": 1, "skipped_count": 2}
    assert result["skipped"] == [{"row": 6, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."},
                                 {"row": 7, "code": "DUPLICATE_IN_FILE", "message": "4행과 중복됩니다."}]


@pytest.mark.django_db
def test_a_student_created_meanwhile_by_another_import_is_reused_not_duplicated(tenant, lecture, make_student,
                                                                               monkeypatch):
    # Given the lookup missed a live student (another import committed it after the read)
    twin = make_student(tenant, "학생0", "01000000000")
    monkeypatch.setattr(importer, "_match_students", lambda **kwargs: {})

    run(tenant, lecture, make_rows(2))

    # Then the conflicting insert is skipped and the existing row is enrolled
    assert Student.objects.filter(tenant=tenant, name="학생0").count() == 1
    assert set(Enrollment.objects.values_list("student_id", flat=True)) == {
        twin.id, Student.objects.get(name="학생1").id}


@pytest.mark.django_db
def test_import_file_runs_the_whole_pipeline_on_one_path(tenant, lecture, roster):
    path = roster([["김철수", "010-1111-2222", "", "", "중2", "", ""], ["", "01000000000", "", "", "", "", ""]])
    result = enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path,
                                    initial_password=None, dry_run=False).to_dict()
    assert (result["enrolled_count"], result["skipped_count"]) == (1, 1)
    assert Student.objects.get(tenant=tenant).grade == 2


@pytest.mark.django_db
def test_import_file_announces_its_stages_in_order(tenant, lecture, roster):
    path = roster([["김철수", "010-1111-2222", "", "", "중2", "", ""]])
    stages = []
    enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path, initial_password=None,
                           dry_run=False, on_stage=stages.append)
    assert stages == ["분석", "등록"]


@pytest.mark.django_db
def test_import_file_refuses_a_hostile_file_before_writing_anything(tenant, lecture, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    with pytest.raises(ExcelFileError) as caught:
        enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path, initial_password=None,
                               dry_run=False)
    assert caught.value.code == "EXCEL_CORRUPT"
    assert db_state(tenant) == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_import_file_does_not_validate_again_the_bytes_validated_at_upload(tenant, lecture, roster):
    # Given the roster the API validated, with the digest it recorded in the job payload
    path = roster([["김철수", "010-1111-2222", "", "", "중2", "", ""]])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    with mock.patch.object(importer, "excel_validate_upload", wraps=excel_validate_upload) as validate:
        result = enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path,
                                        initial_password=None, dry_run=False, validated_sha256=digest).to_dict()

    # Then the archive is read once, by the parser
    assert validate.call_count == 0
    assert result["enrolled_count"] == 1


@pytest.mark.django_db
def test_import_file_validates_a_file_that_is_not_the_one_validated_at_upload(tenant, lecture, roster, tmp_path,
                                                                              settings):
    # Given the payload names the digest of a clean roster but storage now holds a zip bomb
    settings.EXCEL_MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024
    clean = roster([["김철수", "010-1111-2222", "", "", "중2", "", ""]])
    bomb = write_zip_bomb(tmp_path / "swapped.xlsx", member_bytes=4 * 1024 * 1024)

    with pytest.raises(ExcelFileError) as caught:
        enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=bomb, initial_password=None,
                               dry_run=False, validated_sha256=hashlib.sha256(clean.read_bytes()).hexdigest())

    # Then it is refused as at upload, before anything is written
    assert caught.value.code == "EXCEL_ZIP_BOMB"
    assert db_state(tenant) == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_an_existing_account_of_the_same_name_is_linked_not_duplicated(tenant, lecture):
    # Given the deterministic username of the next student already exists (an earlier run's account)
    from django.db import connection as conn

    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('students_student', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {sequence}")  # noqa: S608
        next_id = cursor.fetchone()[0]
    taken = User.objects.create_user(username=f"{tenant.code}-{next_id}", tenant=tenant, role=Role.STUDENT)

    run(tenant, lecture, make_rows(1), initial_password="start-1234")

    student = Student.objects.get(tenant=tenant)
    assert student.id == next_id
    assert student.user_id == taken.id
    assert User.objects.filter(tenant=tenant, username__startswith=f"{tenant.code}-").count() == 1


@pytest.mark.django_db
def test_an_import_holds_the_tenants_import_lock_until_its_transaction_ends(tenant, lecture, write_path):
    run(tenant, lecture, make_rows(1))
    # The test's own transaction is still open: on Postgres the lock taken by the import is still held.
    with connection.cursor() as cursor:
        cursor.execute("SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        held = cursor.fetchall()
    assert held == ([(bulk.IMPORT_LOCK_NAMESPACE, tenant.id)] if write_path == "sql" else [])


@pytest.mark.django_db
@pytest.mark.parametrize("shape", ["headers only", "headers then 1,000,000 empty styled rows"])
def test_import_file_without_students_fails_with_the_no_rows_message(tenant, lecture, roster, tmp_path, shape):
    from .builders import ROSTER_HEADER, write_million_empty_styled_rows

    if shape == "headers only":
        path = roster([])
    else:
        path = write_million_empty_styled_rows(tmp_path / "styled.xlsx", [ROSTER_HEADER])
    with pytest.raises(ExcelNoRowsError) as caught:
        enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path, initial_password=None,
                               dry_run=False)
    assert caught.value.message == "등록할 학생 데이터가 없습니다."
    assert db_state(tenant) == (0, 0, 0, 0, 0)


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 12, 15, 10, tzinfo=UTC), tick=False)
def test_an_upcoming_grade_starts_on_the_coming_first_of_march(tenant, lecture):
    rows = [ParsedStudentRow(row=2, name="김철수", parent_phone="01011112222", school_type="HIGH", grade=2,
                             grade_upcoming=True),
            ParsedStudentRow(row=3, name="이영희", parent_phone="01033334444", school_type="HIGH", grade=2)]

    run(tenant, lecture, rows)

    assert dict(Student.objects.values_list("name", "grade_starts_on")) == {"김철수": date(2027, 3, 1), "이영희": None}


@pytest.mark.django_db
def test_new_students_get_the_rows_birth_date(tenant, lecture):
    rows = [ParsedStudentRow(row=2, name="김철수", parent_phone="01011112222", birth_date=date(2012, 3, 5)),
            ParsedStudentRow(row=3, name="이영희", parent_phone="01033334444")]

    run(tenant, lecture, rows)

    assert dict(Student.objects.values_list("name", "birth_date")) == {"김철수": date(2012, 3, 5), "이영희": None}


@pytest.mark.django_db
def test_an_existing_students_birth_date_is_never_overwritten(tenant, lecture, make_student):
    kept = make_student(tenant, "김철수", "01011112222", birth_date=date(2011, 1, 1))
    blank = make_student(tenant, "이영희", "01033334444")
    rows = [ParsedStudentRow(row=2, name="김철수", parent_phone="01011112222", birth_date=date(2012, 3, 5)),
            ParsedStudentRow(row=3, name="이영희", parent_phone="01033334444", birth_date=date(2012, 3, 5))]

    result = run(tenant, lecture, rows, initial_password="start-1234")

    assert (result["created_students_count"], result["enrolled_count"], result["accounts_created"]) == (0, 2, [])
    kept.refresh_from_db()
    blank.refresh_from_db()
    assert (kept.birth_date, blank.birth_date) == (date(2011, 1, 1), None)


@pytest.mark.django_db
# 2026-03-05 00:30 in Seoul (still the 4th in UTC): the birthdays below are judged by the academy's date.
@time_machine.travel(datetime(2026, 3, 4, 15, 30, tzinfo=UTC), tick=False)
def test_imported_logins_are_active_from_14_by_the_rows_birth_date(tenant, lecture):
    rows = [
        ParsedStudentRow(row=2, name="중학생15", parent_phone="01000000002", school_type="MIDDLE", grade=3,
                         birth_date=date(2011, 1, 1)),
        ParsedStudentRow(row=3, name="오늘14", parent_phone="01000000003", school_type="MIDDLE", grade=2,
                         birth_date=date(2012, 3, 5)),
        ParsedStudentRow(row=4, name="내일14", parent_phone="01000000004", school_type="MIDDLE", grade=2,
                         birth_date=date(2012, 3, 6)),
        ParsedStudentRow(row=5, name="초등10", parent_phone="01000000005", school_type="ELEMENTARY", grade=4,
                         birth_date=date(2016, 1, 1)),
        # A birth date wins over the school type either way.
        ParsedStudentRow(row=6, name="고등13", parent_phone="01000000006", school_type="HIGH", grade=1,
                         birth_date=date(2013, 1, 1)),
        ParsedStudentRow(row=7, name="고등무", parent_phone="01000000007", school_type="HIGH", grade=1),
        ParsedStudentRow(row=8, name="중등무", parent_phone="01000000008", school_type="MIDDLE", grade=1),
    ]

    result = run(tenant, lecture, rows, initial_password="start-1234")

    expected = {"중학생15": True, "오늘14": True, "내일14": False, "초등10": False, "고등13": False, "고등무": True,
                "중등무": False}
    assert {item["name"]: item["is_active"] for item in result["accounts_created"]} == expected
    users = Student.objects.filter(tenant=tenant).values_list("name", "user__is_active")
    assert dict(users) == expected


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 5, 3, tzinfo=UTC), tick=False)
def test_an_inactive_imported_login_needs_the_guardians_consent(tenant, lecture):
    from apps.domains.students.accounts import GUARDIAN_CONSENT_REQUIRED, student_account_of, student_consent_required

    run(tenant, lecture, [ParsedStudentRow(row=2, name="초등10", parent_phone="01000000005",
                                           school_type="ELEMENTARY", grade=4, birth_date=date(2016, 1, 1))],
        initial_password="start-1234")

    student = Student.objects.get(tenant=tenant)
    account = student_account_of(student)
    assert (account.is_active, account.inactive_reason) == (False, GUARDIAN_CONSENT_REQUIRED)
    assert student_consent_required(student=student) is True


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 5, 3, tzinfo=UTC), tick=False)
def test_a_roster_files_birth_dates_reach_the_students_and_their_logins(tenant, lecture, roster):
    path = roster([["김철수", "010-1111-2222", "중", datetime(2011, 1, 1)],
                   ["이영희", "010-3333-4444", "중", "2016.1.1"],
                   ["박민수", "010-5555-6666", "중", "2016-02-30"]],
                  header=["이름", "학부모 전화번호", "초/중/고", "생년월일"])

    result = enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path,
                                    initial_password="start-1234", dry_run=False).to_dict()

    assert [(item["row"], item["code"]) for item in result["skipped"]] == [(4, "INVALID_BIRTH_DATE")]
    assert {item["name"]: item["is_active"] for item in result["accounts_created"]} == {"김철수": True, "이영희": False}
    assert dict(Student.objects.values_list("name", "birth_date")) == {
        "김철수": date(2011, 1, 1), "이영희": date(2016, 1, 1)}


@pytest.mark.django_db
def test_a_roster_of_only_bad_birth_dates_says_so_in_the_no_rows_message(tenant, lecture, roster):
    path = roster([["김철수", "010-1111-2222", "2099-01-01"], ["이영희", "010-3333-4444", "12.3.5"]],
                  header=["이름", "학부모 전화번호", "생년월일"])
    with pytest.raises(ExcelNoRowsError) as caught:
        enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=path, initial_password=None,
                               dry_run=False)
    assert caught.value.message == "등록할 학생 데이터가 없습니다. 2행 모두 건너뛰었습니다: 생년월일 오류 2행"
    assert db_state(tenant) == (0, 0, 0, 0, 0)
