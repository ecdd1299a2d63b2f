"""Lecture roster export (ARCHITECTURE §4 Excel export): streamed with openpyxl write-only mode, formula-safe."""

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from apps.core.models import Tenant
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus
from apps.domains.lectures.models import Lecture
from apps.domains.students.grades import grade_label
from apps.domains.students.models import Gender, SchoolType

EXPORT_HEADERS = (
    "이름", "학부모 전화번호", "학생 전화번호", "학교", "학교급", "학년", "성별", "생년월일", "메모", "수강 상태",
    "등록일",
)
# A text cell starting with one of these is a formula to Excel, LibreOffice or a CSV re-import.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 2000
_SCHOOL_TYPES = dict(SchoolType.choices)
_GENDERS = dict(Gender.choices)
_STATUSES = dict(EnrollmentStatus.choices)


def format_phone(phone: str) -> str:
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    return phone


def safe_cell(sheet, value):
    """A write-only cell whose text is always data: never a formula, whatever the student's name says."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def enrollment_export_roster(
    *,
    tenant: Tenant,
    lecture: Lecture,
    path: str | Path | None = None,
    statuses: Iterable[str] | None = None,
) -> tuple[Path, int]:
    """Write the lecture's roster of live students to `path` (a new temp file when None).

    Returns the path and the number of student rows written (the export job's result).
    """
    if path is None:
        handle, name = tempfile.mkstemp(prefix="roster-", suffix=".xlsx")
        os.close(handle)
        path = name
    path = Path(path)
    enrollments = (
        Enrollment.objects.filter(tenant=tenant, lecture=lecture, student__deleted_at__isnull=True)
        .select_related("student")
        .order_by("student__name", "id")
    )
    if statuses:
        enrollments = enrollments.filter(status__in=list(statuses))

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="수강생 명단")
    sheet.append(EXPORT_HEADERS)
    row_count = 0
    today = timezone.localdate()
    for enrollment in enrollments.iterator(chunk_size=_CHUNK):
        row_count += 1
        student = enrollment.student
        values = (
            student.name,
            format_phone(student.parent_phone),
            format_phone(student.phone),
            student.school,
            _SCHOOL_TYPES.get(student.school_type, ""),
            # As the parser reads it back: "중2", "3학년", "예비 고2" until the school year starts.
            grade_label(school_type=student.school_type, grade=student.grade, starts_on=student.grade_starts_on,
                        today=today) or None,
            _GENDERS.get(student.gender, ""),
            student.birth_date,  # a date cell; None leaves it empty
            student.memo,
            _STATUSES.get(enrollment.status, enrollment.status),
            # Excel has no time zones: write the academy's local time.
            timezone.localtime(enrollment.enrolled_at).replace(tzinfo=None),
        )
        sheet.append([safe_cell(sheet, value) for value in values])
    workbook.save(path)
    return path, row_count
