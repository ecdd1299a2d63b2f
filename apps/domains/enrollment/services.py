"""Enrollment and attendance writes (ARCHITECTURE §6 domains/enrollment).

Every id that arrives in a body is looked up inside the caller's tenant; a foreign id is "not found".
"""

from django.db import IntegrityError, transaction

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.models import Tenant
from apps.domains.enrollment.models import Attendance, AttendanceStatus, Enrollment, EnrollmentStatus
from apps.domains.lectures.models import Session
from apps.domains.lectures.selectors import lecture_ensure_not_archived, lecture_get
from apps.domains.messaging import notices
from apps.domains.students.models import Student


class EnrollmentExistsError(ConflictError):
    default_code = "ENROLLMENT_EXISTS"
    default_message = "이미 이 강의에 등록된 학생입니다."


def _live_student_of(tenant: Tenant, student_id: int) -> Student:
    student = Student.objects.for_tenant(tenant).alive().filter(id=student_id).first()
    if student is None:
        raise NotFoundError("STUDENT_NOT_FOUND", "학생을 찾을 수 없습니다.", details={"student_id": student_id})
    return student


@transaction.atomic
def enrollment_create(*, tenant: Tenant, lecture_id: int, student_id: int,
                      status: str = EnrollmentStatus.ACTIVE) -> Enrollment:
    lecture = lecture_get(tenant=tenant, lecture_id=lecture_id)
    student = _live_student_of(tenant, student_id)
    enrollment = Enrollment(tenant=tenant, lecture=lecture, student=student, status=status)
    try:
        with transaction.atomic():
            enrollment.save()
    except IntegrityError as exc:
        if "uniq_enrollment" in str(exc) or Enrollment.objects.filter(lecture=lecture, student=student).exists():
            raise EnrollmentExistsError(details={"lecture_id": lecture_id, "student_id": student_id}) from exc
        raise
    return enrollment


@transaction.atomic
def enrollment_update_status(*, enrollment: Enrollment, status: str) -> Enrollment:
    lecture_ensure_not_archived(lecture=enrollment.lecture)
    enrollment.status = status
    enrollment.save(update_fields=["status"])
    return enrollment


@transaction.atomic
def enrollment_delete(*, enrollment: Enrollment) -> None:
    """Deletes the enrollment with its session enrollments and attendance (database cascade)."""
    lecture_ensure_not_archived(lecture=enrollment.lecture)
    enrollment.delete()


@transaction.atomic
def attendance_bulk_update(*, session: Session, items: list[dict]) -> list[Attendance]:
    """Set the attendance of one session: items are {"enrollment_id", "status", optional "memo"}.

    All or nothing: one unknown enrollment (another lecture's, another tenant's) refuses the whole batch.
    Upserts on (session, enrollment), so sending the same batch twice leaves the same rows.
    UNMARKED is accepted: it takes back a mark made by mistake (see docs/decisions/0008).
    """
    lecture_ensure_not_archived(lecture=session.lecture)
    ids = [item["enrollment_id"] for item in items]
    if len(ids) != len(set(ids)):
        raise DomainError("DUPLICATE_ENROLLMENT_ID", "같은 수강 등록이 두 번 들어 있습니다.")
    for item in items:
        if item["status"] not in AttendanceStatus.values:
            raise DomainError("INVALID_ATTENDANCE_STATUS", "출결 상태가 올바르지 않습니다.",
                              details={"enrollment_id": item["enrollment_id"]})
    found = set(
        Enrollment.objects.filter(tenant_id=session.tenant_id, lecture_id=session.lecture_id, id__in=ids)
        .values_list("id", flat=True)
    )
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFoundError("ENROLLMENT_NOT_FOUND", "이 수업의 수강 등록을 찾을 수 없습니다.",
                            details={"enrollment_ids": missing})
    rows = [
        Attendance(tenant_id=session.tenant_id, session=session, enrollment_id=item["enrollment_id"],
                   status=item["status"], memo=item.get("memo", ""))
        for item in items
    ]
    Attendance.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["session", "enrollment"],
        update_fields=["status", "memo", "updated_at"],
    )
    saved = list(
        Attendance.objects.filter(session=session, enrollment_id__in=ids)
        .select_related("enrollment__student")
        .order_by("enrollment_id")
    )
    # In this transaction: the parents' absence/late notices stand or fall with the marks (messaging/notices.py).
    notices.attendance_marked(session=session, rows=saved)
    return saved
