"""Student writes (ARCHITECTURE §6 domains/students): create, update, soft delete, restore and the repair services.

The partial unique constraint on live (tenant, name, parent_phone) is the truth; the checks before a save
only give the common case a clear message, and the IntegrityError path covers the race.
"""

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError
from apps.core.models import Role, Tenant
from apps.core.phone import InvalidPhoneError, normalize_optional_phone, normalize_phone
from apps.domains.students.accounts import student_account_deactivate, student_account_sync
from apps.domains.students.grades import Grade, parse_grade, resolve_grade, school_year_start
from apps.domains.students.models import Student
from apps.domains.students.selectors import (
    DeletedDuplicateGroup,
    student_deleted_duplicates,
    student_live_twin_exists,
    student_number_taken,
    student_purge_candidates,
)

logger = logging.getLogger(__name__)

LIVE_UNIQUE_CONSTRAINT = "uniq_live_student_per_tenant"
NUMBER_UNIQUE_CONSTRAINT = "uniq_live_student_number_per_tenant"
EDITABLE_FIELDS = ("name", "parent_phone", "phone", "school", "school_type", "grade", "gender", "memo",
                   "student_number", "birth_date")
# What decides whether the student's login needs a guardian's consent (apps/domains/students/consent.py).
ACTIVATION_FIELDS = ("birth_date", "school_type")
STUDENT_NUMBER_RE = re.compile(r"[0-9]{8}", re.ASCII)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class StudentDuplicateError(ConflictError):
    default_code = "STUDENT_DUPLICATE"
    default_message = "같은 이름과 학부모 전화번호로 등록된 학생이 이미 있습니다."


class StudentRestoreConflictError(ConflictError):
    default_code = "STUDENT_RESTORE_CONFLICT"
    default_message = "같은 이름과 학부모 전화번호의 재원 학생이 있어 복원할 수 없습니다."


class InvalidStudentNumberError(DomainError):
    default_code = "INVALID_STUDENT_NUMBER"
    default_message = "학생번호는 숫자 8자리여야 합니다."


class StudentNumberTakenError(ConflictError):
    default_code = "STUDENT_NUMBER_TAKEN"
    default_message = "같은 학생번호를 쓰는 학생이 이미 있습니다."


class InvalidBirthDateError(DomainError):
    default_code = "INVALID_BIRTH_DATE"
    default_message = "생년월일은 1900년 1월 1일부터 오늘 사이여야 합니다."


def normalize_student_number(value: Any) -> str:
    """"" for blank, else exactly 8 ASCII digits; full-width digits ("１２３４５６７８") are folded by NFKC.

    Anything else (hyphens, letters, 7 or 9 digits, other scripts' digits) raises InvalidStudentNumberError.
    """
    if value is None:
        return ""
    if type(value) is not str:
        raise InvalidStudentNumberError()
    folded = unicodedata.normalize("NFKC", value).strip()
    if folded and not STUDENT_NUMBER_RE.fullmatch(folded):
        raise InvalidStudentNumberError()
    return folded


def _clean(data: dict[str, Any], *, student: Student | None = None) -> dict[str, Any]:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    cleaned = dict(data)
    if "name" in cleaned:
        cleaned["name"] = cleaned["name"].strip()
    try:
        if "parent_phone" in cleaned:
            cleaned["parent_phone"] = normalize_phone(cleaned["parent_phone"])
    except InvalidPhoneError as exc:
        raise InvalidPhoneError(details={"field": "parent_phone"}) from exc
    try:
        if "phone" in cleaned:
            cleaned["phone"] = normalize_optional_phone(cleaned["phone"])
    except InvalidPhoneError as exc:
        raise InvalidPhoneError(details={"field": "phone"}) from exc
    if "student_number" in cleaned:
        cleaned["student_number"] = normalize_student_number(cleaned["student_number"])
    if cleaned.get("birth_date") is not None and not (
            EARLIEST_BIRTH_DATE <= cleaned["birth_date"] <= timezone.localdate()):
        raise InvalidBirthDateError()
    if "grade" in cleaned or "school_type" in cleaned:
        cleaned.update(_grade_fields(cleaned, student=student))
    return cleaned


def _grade_fields(data: dict[str, Any], *, student: Student | None) -> dict[str, Any]:
    """school_type, grade (and grade_starts_on when the grade is given) checked together.

    A stated school type must agree with a notation naming one; when only the grade is given, the notation's
    school type replaces the stored one ("중2" → MIDDLE), and when only the school type is given, the stored grade
    must fit it. Raises InvalidGradeError.
    """
    stated = data.get("school_type") or ""
    inferred = student.school_type if student is not None and "school_type" not in data else ""
    if "grade" in data:
        notation = parse_grade(data["grade"])
    else:
        notation = Grade(grade=student.grade if student is not None else None)
    resolved = resolve_grade(notation, school_type=stated, inferred_school_type=inferred)
    fields = {"school_type": resolved.school_type, "grade": resolved.grade}
    if "grade" in data:
        fields["grade_starts_on"] = school_year_start(timezone.localdate()) if resolved.upcoming else None
    return fields


def _save_live(student: Student, error: type[ConflictError] = StudentDuplicateError) -> None:
    """Save in a savepoint; a live twin committed by a concurrent request surfaces as the domain conflict."""
    try:
        with transaction.atomic():
            student.save()
    except IntegrityError as exc:
        if NUMBER_UNIQUE_CONSTRAINT in str(exc):
            raise StudentNumberTakenError() from exc
        # Postgres names the constraint; SQLite (dev) names only columns, so look for the twin too.
        if LIVE_UNIQUE_CONSTRAINT in str(exc) or student_live_twin_exists(
            tenant_id=student.tenant_id, name=student.name, parent_phone=student.parent_phone, exclude_id=student.id
        ):
            raise error() from exc
        raise


@transaction.atomic
def student_create(*, tenant: Tenant, name: str, parent_phone: str, phone: str = "", school: str = "",
                   school_type: str = "", grade: int | str | None = None, gender: str = "", memo: str = "",
                   student_number: str = "", birth_date: date | None = None) -> Student:
    fields = _clean({"name": name, "parent_phone": parent_phone, "phone": phone, "school": school,
                     "school_type": school_type, "grade": grade, "gender": gender, "memo": memo,
                     "student_number": student_number, "birth_date": birth_date})
    if student_live_twin_exists(tenant_id=tenant.id, name=fields["name"], parent_phone=fields["parent_phone"]):
        raise StudentDuplicateError()
    if student_number_taken(tenant_id=tenant.id, number=fields["student_number"]):
        raise StudentNumberTakenError()
    student = Student(tenant=tenant, **fields)
    _save_live(student)
    return student


@transaction.atomic
def student_update(*, student: Student, data: dict[str, Any]) -> Student:
    fields = _clean(data, student=student)
    activation_changed = any(getattr(student, name) != fields[name] for name in ACTIVATION_FIELDS if name in fields)
    for name, value in fields.items():
        setattr(student, name, value)
    if student.deleted_at is None and student_live_twin_exists(
        tenant_id=student.tenant_id, name=student.name, parent_phone=student.parent_phone, exclude_id=student.id
    ):
        raise StudentDuplicateError()
    if student.deleted_at is None and student_number_taken(
        tenant_id=student.tenant_id, number=student.student_number, exclude_id=student.id
    ):
        raise StudentNumberTakenError()
    _save_live(student)
    if activation_changed:
        # A birth date showing 14 or older activates a login waiting for consent; one under 14 without consent
        # deactivates it (apps/domains/students/accounts.py).
        student_account_sync(student=student)
    return student


@transaction.atomic
def student_soft_delete(*, student: Student) -> Student:
    """Mark the student deleted; deleting an already deleted student keeps its first deletion time.

    The student's own login stops with it (inactive, every token ended): a student who left keeps no way in.
    Restoring the student does not reopen it; staff reset the password (apps/domains/students/accounts.py)."""
    now = timezone.now()
    deleted = Student.objects.filter(id=student.id, deleted_at__isnull=True).update(deleted_at=now, updated_at=now)
    student.refresh_from_db(fields=["deleted_at", "updated_at"])
    if deleted and student.user_id is not None and student.user.role == Role.STUDENT:
        student_account_deactivate(student=student)
    return student


@transaction.atomic
def student_restore(*, student: Student) -> Student:
    locked = Student.objects.select_for_update().get(id=student.id)
    if locked.deleted_at is None:
        return locked
    if student_live_twin_exists(tenant_id=locked.tenant_id, name=locked.name, parent_phone=locked.parent_phone):
        raise StudentRestoreConflictError()
    # The number may have been given to another student meanwhile: say so rather than drop it silently.
    if student_number_taken(tenant_id=locked.tenant_id, number=locked.student_number, exclude_id=locked.id):
        raise StudentNumberTakenError()
    locked.deleted_at = None
    _save_live(locked, StudentRestoreConflictError)
    return locked


def student_hard_delete(*, student_ids: Iterable[int]) -> dict[str, int]:
    """Delete students for good with their dependent rows and their own login account.

    Enrollments, session enrollments and attendance go by the database cascade; a linked account is
    removed only when it is a student account, so a staff member linked by mistake keeps their login.
    Call inside a transaction. Returns deleted row counts per model label.
    """
    ids = list(student_ids)
    user_ids = list(Student.objects.filter(id__in=ids, user__role=Role.STUDENT).values_list("user_id", flat=True))
    _, counts = Student.objects.filter(id__in=ids).delete()
    if user_ids:
        _, user_counts = get_user_model().objects.filter(id__in=user_ids).delete()
        for label, n in user_counts.items():
            counts[label] = counts.get(label, 0) + n
    return {label: n for label, n in counts.items() if n}


@dataclass
class DuplicateFixResult:
    groups: list[DeletedDuplicateGroup]
    deleted_ids: list[int]
    counts: dict[str, int]


@transaction.atomic
def student_deleted_duplicates_fix(*, tenant: Tenant | None = None) -> DuplicateFixResult:
    """"중복 정리": in each group of deleted twins keep the oldest deletion, delete the rest for good."""
    groups = student_deleted_duplicates(tenant=tenant, lock=True)
    deleted_ids = [s.id for group in groups for s in group.remove]
    counts = student_hard_delete(student_ids=deleted_ids) if deleted_ids else {}
    if deleted_ids:
        logger.info("deleted student duplicates fixed",
                    extra={"tenant_id": tenant.id if tenant else None, "groups": len(groups),
                           "deleted_ids": deleted_ids})
    return DuplicateFixResult(groups=groups, deleted_ids=deleted_ids, counts=counts)


@dataclass
class PurgeResult:
    students: list[Student]
    counts: dict[str, int]


@transaction.atomic
def student_purge_deleted(*, cutoff: datetime, dry_run: bool = False) -> PurgeResult:
    """Delete for good the students soft-deleted before `cutoff` (every tenant)."""
    students = list(student_purge_candidates(cutoff=cutoff).select_for_update())
    if dry_run or not students:
        return PurgeResult(students=students, counts={})
    counts = student_hard_delete(student_ids=[s.id for s in students])
    logger.info("deleted students purged", extra={"cutoff": cutoff.isoformat(), "count": len(students)})
    return PurgeResult(students=students, counts=counts)
