"""Exam reads (ARCHITECTURE §4 AI, exams)."""

from django.db.models import QuerySet

from apps.core.exceptions import NotFoundError
from apps.core.models import Tenant
from apps.domains.enrollment.models import EnrollmentStatus
from apps.domains.exams.models import Exam, ExamSettings, IdentifierSource, StudentResultDisplay
from apps.domains.exams.omr.layout import sheet_layout
from apps.domains.students.models import Student

ID_DIGITS = 8


class ExamNotFoundError(NotFoundError):
    default_code = "EXAM_NOT_FOUND"
    default_message = "시험을 찾을 수 없습니다."


def exam_list(*, tenant: Tenant) -> QuerySet[Exam]:
    return Exam.objects.for_tenant(tenant).select_related("lecture", "session")


def exam_get(*, tenant: Tenant, exam_id: int) -> Exam:
    exam = exam_list(tenant=tenant).filter(id=exam_id).first()
    if exam is None:
        raise ExamNotFoundError(details={"exam_id": exam_id})
    return exam


def exam_settings_get(*, tenant: Tenant) -> ExamSettings:
    """The tenant's settings, or the defaults (unsaved) when it never changed them."""
    return ExamSettings.objects.filter(tenant=tenant).first() or ExamSettings(
        tenant=tenant, identifier_source=IdentifierSource.PARENT_PHONE,
        student_result_display=StudentResultDisplay.PERCENTILE)


def exam_sheet_layout(*, exam: Exam) -> dict:
    return sheet_layout(exam.question_count, exam.choice_count, id_digits=ID_DIGITS)


def exam_sheet_filename(*, exam: Exam) -> str:
    # Path separators and control characters out: some browsers save the name as given.
    title = "".join(char for char in exam.title if char.isprintable() and char not in '/\\:*?"<>|').strip()
    return f"{title or '시험'}_OMR_답안지.pdf"


def exam_sheet_pdf(*, exam: Exam) -> bytes:
    """The printable sheet: the exam's title, its lecture, session and date, and what the identifier block takes."""
    # reportlab is imported here, not at start-up: only this download needs it.
    from apps.domains.exams.omr.sheet_pdf import sheet_pdf

    source = IdentifierSource(exam_settings_get(tenant=exam.tenant).identifier_source)
    parts = [exam.lecture.title]
    if exam.session is not None:
        parts.append(exam.session.title or f"{exam.session.order}회차")
    parts += [exam.date.isoformat(), f"{exam.question_count}문항 · {exam.choice_count}지선다"]
    return sheet_pdf(exam_sheet_layout(exam=exam), exam.title, " · ".join(parts), identifier_label=source.label)


def student_identifier(*, student: Student, source: str) -> str | None:
    """The 8 digits a student writes in the sheet's identifier block, or None when the student has none.

    STUDENT_NUMBER is unique among a tenant's live students, so unlike a parent's phone it never pairs siblings.
    """
    if source == IdentifierSource.PARENT_PHONE:
        digits = student.parent_phone
    elif source == IdentifierSource.STUDENT_PHONE:
        digits = student.phone
    elif source == IdentifierSource.STUDENT_NUMBER:
        digits = student.student_number
    else:
        digits = ""
    digits = "".join(char for char in digits or "" if char.isdigit())
    return digits[-ID_DIGITS:] if len(digits) >= ID_DIGITS else None


def exam_roster(*, exam: Exam) -> list[Student]:
    """The students the exam's sheets may belong to: active in its lecture, not deleted, by id."""
    return list(Student.objects.filter(
        tenant_id=exam.tenant_id, deleted_at__isnull=True, enrollments__lecture_id=exam.lecture_id,
        enrollments__status=EnrollmentStatus.ACTIVE).distinct().order_by("id"))
