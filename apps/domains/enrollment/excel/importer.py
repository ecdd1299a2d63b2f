"""Set-based roster enrollment (ARCHITECTURE §4 Excel enrollment): one transaction, a constant number of queries
per batch of rows, no duplicate row however often it runs.

Per batch (settings.EXCEL_IMPORT_BATCH_SIZE rows) a fixed handful of queries run (5 on Postgres for new students,
at most 12 with restores, accounts and concurrent conflicts): read the students matching the batch's
(name, parent_phone) pairs, restore the soft-deleted ones, insert the missing ones, create their user accounts,
then enrollments, session enrollments and attendance rows, each inserted with ON CONFLICT DO NOTHING (see bulk.py)
so a second run adds nothing.

Counts describe what this run changed, measured against the rows present when it started. A redelivered job
therefore finds everything done and would report zeros; to report the same numbers twice, the job handler passes
`record_result`, which is called inside the import transaction, so the stored result commits together with the
rows it describes (or not at all), and a redelivery returns that stored result instead of importing again.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from apps.core.models import Tenant
from apps.core.passwords import password_check
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.selectors import LectureNotFoundError, SessionNotFoundError, SessionNotInLectureError
from apps.domains.students.accounts import student_username
from apps.domains.students.consent import consent_required
from apps.domains.students.models import Student

from .bulk import (
    insert_accounts,
    insert_enrollments,
    insert_session_rows,
    insert_students,
    lock_tenant_imports,
    select_enrollments,
    select_students,
)
from .errors import ExcelNoRowsError
from .parser import ParsedStudentRow, SkippedRow, parse_roster
from .validation import excel_file_sha256, excel_validate_upload

logger = logging.getLogger(__name__)

SKIPPED_LIST_LIMIT = 200
ACCOUNTS_LIST_LIMIT = 200
FIRST_SESSION_TITLE = "1차시"


@dataclass
class ImportResult:
    session_id: int | None
    dry_run: bool
    enrolled_count: int = 0
    already_enrolled_count: int = 0
    created_students_count: int = 0
    restored_students_count: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    sheet: str | None = None  # the sheet read (None for a CSV file or rows given directly)
    header_row: int | None = None
    warnings: list[dict] = field(default_factory=list)
    # {student_id, name, username, is_active} of every login this run created; never a password.
    accounts_created: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        ordered = sorted(self.skipped, key=lambda item: item.row)
        shown = ordered[:SKIPPED_LIST_LIMIT]
        accounts = sorted(self.accounts_created, key=lambda item: item["student_id"])
        return {
            "enrolled_count": self.enrolled_count,
            "already_enrolled_count": self.already_enrolled_count,
            "created_students_count": self.created_students_count,
            "restored_students_count": self.restored_students_count,
            "skipped_count": len(ordered),
            "skipped": [item.as_dict() for item in shown],
            "skipped_truncated": len(ordered) - len(shown),
            "session_id": self.session_id,
            "dry_run": self.dry_run,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "warnings": self.warnings,
            "accounts_created_count": len(accounts),
            "accounts_created": accounts[:ACCOUNTS_LIST_LIMIT],
            "accounts_created_truncated": max(0, len(accounts) - ACCOUNTS_LIST_LIMIT),
        }


def enrollment_import_rows(
    *,
    tenant: Tenant,
    lecture: Lecture | None,
    session: Session | None,
    rows: Sequence[ParsedStudentRow],
    initial_password: str | None,
    dry_run: bool,
    skipped: Iterable[SkippedRow] = (),
    record_result: Callable[[dict], None] | None = None,
    initial_password_hash: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    warnings: Sequence[dict] = (),
) -> ImportResult:
    """Create, restore and enroll the students of `rows`; students only when both lecture and session are None.

    Raises ExcelNoRowsError when no row is usable, NotFoundError for another tenant's lecture or session.
    With dry_run=True everything runs and is rolled back, so the counts say exactly what would happen.

    Existing students are reused as they are (the roster does not overwrite their details); a restored student
    gets back exactly the row that was deleted. An enrollment that exists in any status (even DROPPED) counts as
    already enrolled and keeps its status: re-activating is a decision for the admin, not for an upload.

    `initial_password_hash` (a Django password hash) replaces `initial_password` when the caller hashed it already,
    so a job payload never carries the plain password; a plain `initial_password` must pass the password policy
    (PasswordTooWeakError, before anything is written). New accounts are inactive when the student may be under 14
    (no school type HIGH: the roster has no birth date), and the result lists every account created, never a
    password. `sheet`, `header_row` and `warnings` say where the rows were
    read; they are reported in the result as they are.
    """
    if initial_password and initial_password_hash:
        raise ValueError("pass initial_password or initial_password_hash, not both")
    if initial_password:
        password_check(initial_password)  # the one policy (apps/core/passwords.py); PASSWORD_TOO_WEAK
    skipped = list(skipped)
    unique_rows = _unique_rows(rows, skipped)
    source = {"sheet": sheet, "header_row": header_row, "warnings": list(warnings)}
    if not unique_rows:
        preview = ImportResult(session_id=None, dry_run=dry_run, skipped=skipped, **source).to_dict()
        raise ExcelNoRowsError.skipped([item.code for item in skipped], details={
            key: preview[key] for key in ("skipped_count", "skipped", "skipped_truncated", "sheet", "header_row",
                                          "warnings")})
    lecture, session = _check_scope(tenant=tenant, lecture=lecture, session=session)
    # One hash for every account of the import: hashing is deliberately slow (hundreds of ms per call).
    password_hash = initial_password_hash or (make_password(initial_password) if initial_password else None)
    batch_size = settings.EXCEL_IMPORT_BATCH_SIZE

    with transaction.atomic():
        lock_tenant_imports(tenant=tenant)
        session_created = False
        if lecture is not None and session is None:
            session, session_created = Session.objects.get_or_create(
                tenant=tenant, lecture=lecture, order=1, defaults={"title": FIRST_SESSION_TITLE}
            )
        result = ImportResult(
            session_id=None if session is None or (dry_run and session_created) else session.id,
            dry_run=dry_run,
            skipped=skipped,
            **source,
        )
        now = timezone.now()
        for start in range(0, len(unique_rows), batch_size):
            _import_batch(
                tenant=tenant, lecture=lecture, session=session, rows=unique_rows[start:start + batch_size],
                password_hash=password_hash, now=now, result=result,
            )
        body = result.to_dict()
        if dry_run:
            transaction.set_rollback(True)
        elif record_result is not None:
            record_result(body)
    logger.info(
        "excel import finished",
        extra={"tenant_id": tenant.id, "lecture_id": getattr(lecture, "id", None), "rows": len(unique_rows),
               **{key: value for key, value in body.items() if key.endswith("_count") or key == "dry_run"}},
    )
    return result


def enrollment_import_file(
    *,
    tenant: Tenant,
    lecture: Lecture | None,
    session: Session | None,
    path: str | Path,
    initial_password: str | None,
    dry_run: bool,
    record_result: Callable[[dict], None] | None = None,
    initial_password_hash: str | None = None,
    on_stage: Callable[[str], None] | None = None,
    validated_sha256: str | None = None,
) -> ImportResult:
    """Validate, parse and import one roster file: what the excel_import job handler runs on the downloaded file.

    Raises ExcelFileError, ExcelHeaderError, ExcelFormulasNotCalculatedError, ExcelNoRowsError (all DomainError with a
    code and a Korean message)
    before any row is written. `on_stage` hears "분석" before validation and "등록" before the import.
    `validated_sha256` is the digest of the bytes `excel_validate_upload` passed at upload: a file with that digest
    is not validated a second time (the checks cost a third of the parse); any other file is.
    """
    if on_stage is not None:
        on_stage("분석")
    excel_check_downloaded(path, validated_sha256=validated_sha256)
    parsed = parse_roster(path)
    if on_stage is not None:
        on_stage("등록")
    return enrollment_import_rows(
        tenant=tenant, lecture=lecture, session=session, rows=parsed.rows, initial_password=initial_password,
        dry_run=dry_run, skipped=parsed.skipped, record_result=record_result,
        initial_password_hash=initial_password_hash, sheet=parsed.sheet_name, header_row=parsed.header_row,
        warnings=parsed.warnings,
    )


def excel_check_downloaded(path: str | Path, *, validated_sha256: str | None) -> bool:
    """Validate a roster the worker downloaded unless it is byte for byte the upload already validated; returns
    whether the full validation ran. Raises ExcelFileError as `excel_validate_upload` does."""
    if validated_sha256 and excel_file_sha256(path) == validated_sha256:
        return False
    excel_validate_upload(path)
    return True


def _unique_rows(rows: Sequence[ParsedStudentRow], skipped: list[SkippedRow]) -> list[ParsedStudentRow]:
    first_row_of: dict[tuple[str, str], int] = {}
    unique = []
    for row in rows:
        first = first_row_of.setdefault(row.key, row.row)
        if first != row.row:
            skipped.append(SkippedRow(row.row, "DUPLICATE_IN_FILE", f"{first}행과 중복됩니다."))
            continue
        unique.append(row)
    return unique


def _check_scope(*, tenant: Tenant, lecture: Lecture | None, session: Session | None):
    if lecture is not None and lecture.tenant_id != tenant.id:
        raise LectureNotFoundError()
    if session is not None:
        if session.tenant_id != tenant.id:
            raise SessionNotFoundError()
        if lecture is None:
            lecture = session.lecture
        elif session.lecture_id != lecture.id:
            raise SessionNotInLectureError()
    return lecture, session


def _import_batch(*, tenant, lecture, session, rows, password_hash, now, result: ImportResult) -> None:
    by_key = {row.key: row for row in rows}
    student_id_of = _match_students(tenant=tenant, keys=by_key, now=now, result=result)

    new_rows = [row for key, row in by_key.items() if key not in student_id_of]
    created: dict[tuple[str, str], int] = {}
    if new_rows:
        created = insert_students(tenant=tenant, rows=new_rows, now=now)
        result.created_students_count += len(created)
        student_id_of.update(created)
        if password_hash:
            _create_accounts(tenant=tenant, students=created, rows={key: by_key[key] for key in created},
                             password_hash=password_hash, now=now, result=result)

    if lecture is None:
        return
    # Students inserted just now cannot be enrolled yet: only the ones that existed need the lookup.
    existing_ids = [student_id for key, student_id in student_id_of.items() if key not in created]
    enrollment_of: dict[int, int] = {}
    if existing_ids:
        enrollment_of = select_enrollments(lecture=lecture, student_ids=existing_ids)
    result.already_enrolled_count += len(enrollment_of)
    to_enroll = [student_id for student_id in student_id_of.values() if student_id not in enrollment_of]
    if to_enroll:
        enrolled = insert_enrollments(tenant=tenant, lecture=lecture, student_ids=to_enroll, now=now)
        result.enrolled_count += len(enrolled)
        enrollment_of.update(enrolled)
    insert_session_rows(tenant=tenant, session=session, enrollment_ids=list(enrollment_of.values()), now=now)


def _match_students(*, tenant, keys: dict, now, result: ImportResult) -> dict[tuple[str, str], int]:
    """Existing students of the batch by (name, parent_phone): live ones reused, deleted ones restored."""
    live: dict[tuple[str, str], int] = {}
    deleted: dict[tuple[str, str], tuple] = {}
    for student_id, name, phone, deleted_at in select_students(tenant=tenant, keys=keys):
        key = (name, phone)
        if key not in keys:
            continue
        if deleted_at is None:
            live[key] = student_id
        elif key not in deleted or (deleted_at, student_id) > deleted[key]:
            # Several deleted twins: bring back the one deleted last.
            deleted[key] = (deleted_at, student_id)
    to_restore = {key: pair[1] for key, pair in deleted.items() if key not in live}
    if to_restore:
        Student.objects.filter(id__in=to_restore.values()).update(deleted_at=None, updated_at=now)
        result.restored_students_count += len(to_restore)
    return {**live, **to_restore}


def _create_accounts(*, tenant, students: dict[tuple[str, str], int], rows: dict, password_hash: str, now,
                     result: ImportResult) -> None:
    """Logins for the students this batch created, named as staff-created ones; a child who may be under 14 (by the
    row's birth date, else by school type) gets an inactive login until a guardian's consent is recorded
    (apps/domains/students/consent.py)."""
    today = timezone.localdate(now)
    accounts = [
        (sid, student_username(tenant=tenant, student_id=sid), rows[key].name[:150],
         not consent_required(birth_date=rows[key].birth_date, school_type=rows[key].school_type, today=today))
        for key, sid in students.items()
    ]
    linked = insert_accounts(tenant=tenant, accounts=accounts, password_hash=password_hash, now=now)
    result.accounts_created.extend(
        {"student_id": sid, "name": name, "username": username, "is_active": active}
        for sid, username, name, active in accounts if username in linked)
