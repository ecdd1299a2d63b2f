"""Enrollment and attendance reads (ARCHITECTURE §6 domains/enrollment)."""

from collections.abc import Iterable
from datetime import date

from django.db.models import CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.core.models import Tenant
from apps.domains.enrollment.models import Attendance, AttendanceStatus, Enrollment, EnrollmentStatus
from apps.domains.lectures.models import Session
from apps.domains.students.models import Student


def enrollment_list(*, tenant: Tenant) -> QuerySet[Enrollment]:
    return Enrollment.objects.for_tenant(tenant).select_related("student", "lecture")


def attendance_list(*, tenant: Tenant) -> QuerySet[Attendance]:
    return Attendance.objects.for_tenant(tenant).select_related("enrollment__student")


# ---------------------------------------------------------------------------------------------------- attendance views
# The roll sheet, a student's history and their own attendance (/api/v1/me/attendance/) read marks the same way:
# a session without an Attendance row for the enrollment is UNMARKED (docs/decisions/0008), and a rate leaves out
# what nobody has marked and what was excused (docs/decisions/0024).

MARKS = [choice for choice, _ in AttendanceStatus.choices]
# Marks that count toward the rate: present or late over present, late or absent.
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
RATED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT)


def attendance_rate(counts: dict[str, int]) -> float | None:
    """(PRESENT + LATE) / (PRESENT + LATE + ABSENT), rounded to 4 places; None when nothing of those was marked."""
    rated = sum(counts.get(mark, 0) for mark in RATED)
    if not rated:
        return None
    return round(sum(counts.get(mark, 0) for mark in ATTENDED) / rated, 4)


def attendance_counts(marks: Iterable[str]) -> dict[str, int]:
    """How many of each mark, every status present (0 when none)."""
    counts = dict.fromkeys(MARKS, 0)
    for mark in marks:
        counts[mark] += 1
    return counts


def session_mark_of_student(*, student_id: int):
    """An annotation for a Session queryset: the student's mark in that session, UNMARKED without a row.

    A student has at most one enrollment per lecture, hence at most one row per session."""
    marked = Attendance.objects.filter(session_id=OuterRef("pk"), enrollment__student_id=student_id)
    return Coalesce(Subquery(marked.values("status")[:1]), Value(AttendanceStatus.UNMARKED),
                    output_field=CharField())


def sessions_in_history(sessions: QuerySet[Session], *, today: date) -> QuerySet[Session]:
    """The sessions of a history among `sessions` annotated with `mark`: every session dated today or earlier, and
    a later or undated one only once it holds a mark (an UNMARKED row written ahead by the roster import is not)."""
    return sessions.filter(Q(date__lte=today) | ~Q(mark=AttendanceStatus.UNMARKED))


def session_roll(*, session: Session) -> QuerySet[Enrollment]:
    """Every ACTIVE enrollment of the session's lecture with `mark` (UNMARKED without a row) and `memo`, by student
    name. One query, whatever the class size."""
    row = Attendance.objects.filter(session_id=session.id, enrollment_id=OuterRef("pk"))
    return (
        Enrollment.objects.filter(tenant_id=session.tenant_id, lecture_id=session.lecture_id,
                                  status=EnrollmentStatus.ACTIVE)
        .select_related("student")
        .annotate(
            mark=Coalesce(Subquery(row.values("status")[:1]), Value(AttendanceStatus.UNMARKED),
                          output_field=CharField()),
            memo=Coalesce(Subquery(row.values("memo")[:1]), Value(""), output_field=CharField()),
            marked_at=Subquery(row.values("updated_at")[:1]),
        )
        .order_by("student__name", "student_id")
    )


def student_attendance_history(*, student: Student, today: date) -> QuerySet[Session]:
    """The sessions of every lecture the student was ever enrolled in (any enrollment status, archived lectures
    included), annotated with the student's `mark`, newest first (undated last). See sessions_in_history."""
    sessions = (
        Session.objects.filter(tenant_id=student.tenant_id, lecture__enrollments__student_id=student.id)
        .select_related("lecture")
        .annotate(mark=session_mark_of_student(student_id=student.id))
    )
    return sessions_in_history(sessions, today=today).order_by(F("date").desc(nulls_last=True), "-order", "-id")


def attendance_summary(sessions: QuerySet[Session]) -> dict:
    """{"counts": {mark: n}, "rate": …} over sessions annotated with `mark`, in one query."""
    counted = sessions.order_by().aggregate(**{mark: Count("id", filter=Q(mark=mark)) for mark in MARKS})
    counts = {mark: counted[mark] or 0 for mark in MARKS}
    return {"counts": counts, "rate": attendance_rate(counts)}
