"""Issue 14, `/api/v1/me/…` reads: a student's (or a parent's child's) lectures, calendar, attendance, exam results
and messages. Every function takes the subject student resolved by apps/domains/me/subject.py and reads only their
rows; lists are querysets or a fixed number of queries per page, whatever the number of rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from apps.core.exceptions import NotFoundError
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus
from apps.domains.enrollment.selectors import (
    attendance_counts,
    attendance_rate,
    session_mark_of_student,
    sessions_in_history,
)
from apps.domains.exams.models import Exam, ExamState, SheetStatus, StudentResultDisplay
from apps.domains.exams.results_selectors import exam_is_revised, exam_student_results
from apps.domains.lectures.models import Session
from apps.domains.me.subject import Subject
from apps.domains.messaging.models import ConsentHolder, MessageRecipient, RecipientStatus
from apps.domains.students.models import Student


class MeExamNotFoundError(NotFoundError):
    # NOT_FOUND like every id in a path the caller may not see (another academy's, not theirs, not published).
    default_message = "시험 결과를 찾을 수 없습니다."


class MeLectureNotFoundError(NotFoundError):
    default_code = "LECTURE_NOT_FOUND"
    default_message = "수강 중인 강의를 찾을 수 없습니다."


# ---------------------------------------------------------------------------------------------------- who am I

def me_children(*, parent_id: int, tenant_id: int) -> list[Student]:
    """A parent's live linked children (a child who left the academy is no longer listed), by name."""
    return list(Student.objects.filter(tenant_id=tenant_id, deleted_at__isnull=True, parent_links__parent_id=parent_id)
                .order_by("name", "id"))


# ---------------------------------------------------------------------------------------------------- lectures

def me_enrollments(*, student: Student) -> QuerySet[Enrollment]:
    """The student's ACTIVE enrollments in live lectures (an archived lecture is gone from their view,
    docs/decisions/0005), with the lecture and its teacher, by lecture."""
    return (Enrollment.objects.filter(tenant_id=student.tenant_id, student_id=student.id,
                                      status=EnrollmentStatus.ACTIVE, lecture__archived_at__isnull=True)
            .select_related("lecture__teacher").order_by("lecture__title", "lecture_id"))


# ---------------------------------------------------------------------------------------------------- calendar

def me_sessions(*, student: Student, start: date, end: date) -> QuerySet[Session]:
    """Sessions dated within [start, end] of the student's active enrollments in live lectures, annotated with
    the student's `mark`, in calendar order (undated sessions are not on a calendar)."""
    return (
        Session.objects.filter(tenant_id=student.tenant_id, date__gte=start, date__lte=end,
                               lecture__archived_at__isnull=True,
                               lecture__enrollments__student_id=student.id,
                               lecture__enrollments__status=EnrollmentStatus.ACTIVE)
        .select_related("lecture")
        .annotate(mark=session_mark_of_student(student_id=student.id))
        .order_by("date", F("start_time").asc(nulls_last=True), "lecture_id", "order")
    )


# ---------------------------------------------------------------------------------------------------- attendance

def me_attendance_enrollments(*, student: Student, lecture_id: int | None = None) -> QuerySet[Enrollment]:
    enrollments = me_enrollments(student=student)
    if lecture_id is not None:
        enrollments = enrollments.filter(lecture_id=lecture_id)
    return enrollments


def me_attendance_of(*, student: Student, enrollments: list[Enrollment], today: date) -> list[dict[str, Any]]:
    """For each enrollment (one page of them), its lecture's sessions in the history (dated today or earlier, or
    marked) with the student's mark, the counts per mark and the rate. One query for the whole page."""
    sessions = Session.objects.filter(tenant_id=student.tenant_id,
                                      lecture_id__in=[enrollment.lecture_id for enrollment in enrollments])
    sessions = sessions_in_history(sessions.annotate(mark=session_mark_of_student(student_id=student.id)), today=today)
    by_lecture: dict[int, list[Session]] = {enrollment.lecture_id: [] for enrollment in enrollments}
    for session in sessions.order_by(F("date").asc(nulls_last=True), "order", "id"):
        by_lecture[session.lecture_id].append(session)
    rows = []
    for enrollment in enrollments:
        lecture_sessions = by_lecture[enrollment.lecture_id]
        counts = attendance_counts(session.mark for session in lecture_sessions)
        rows.append({"enrollment": enrollment, "lecture": enrollment.lecture, "sessions": lecture_sessions,
                     "counts": counts, "rate": attendance_rate(counts)})
    return rows


# ---------------------------------------------------------------------------------------------------- exams

def me_exams(*, student: Student) -> QuerySet[Exam]:
    """PUBLISHED exams in which the student has a graded sheet, newest first. Results stay after the student left
    the lecture: they are the student's."""
    return (Exam.objects.filter(tenant_id=student.tenant_id, state=ExamState.PUBLISHED,
                                sheets__student_id=student.id, sheets__status=SheetStatus.GRADED)
            .select_related("lecture").distinct().order_by("-date", "-id"))


def _shown(row: dict[str, Any] | None, display: str) -> dict[str, Any]:
    """The student's score, with the rank or the percentile only as the academy chose (ExamSettings)."""
    if row is None:
        return {"score": None, "correct_count": None, "rank": None, "ranked_count": None, "percentile": None}
    return {
        "score": row["score"], "correct_count": row["correct_count"],
        "rank": row["rank"] if display == StudentResultDisplay.RANK else None,
        "ranked_count": row["ranked_count"] if display == StudentResultDisplay.RANK else None,
        "percentile": row["percentile"] if display == StudentResultDisplay.PERCENTILE else None,
    }


def me_exam_rows(*, student: Student, exams: list[Exam], display: str) -> list[dict[str, Any]]:
    """One page of the student's results: the exams' scores, ranks and percentiles as the staff results compute
    them (exams.results_selectors), in one query for the page."""
    results = exam_student_results(exams=exams, student_id=student.id)
    return [{"exam": exam, "max_score": float(exam.max_score), "revised": exam_is_revised(exam),
             "display": display, **_shown(results[exam.id], display)} for exam in exams]


def me_exam_detail(*, student: Student, exam_id: int, display: str) -> dict[str, Any]:
    """One published result of the student with the questions they got wrong and the accepted answers.
    An exam that is not PUBLISHED, not the student's, or another academy's is NOT_FOUND."""
    exam = me_exams(student=student).filter(id=exam_id).first()
    if exam is None:
        raise MeExamNotFoundError(details={"exam_id": exam_id})
    row = exam_student_results(exams=[exam], student_id=student.id)[exam.id]
    if row is None:  # a graded sheet that does not count (incomplete answers): no result to show
        raise MeExamNotFoundError(details={"exam_id": exam_id})
    # `points` is what the question is worth (the row's own points are those earned: 0 for a wrong answer).
    wrong = [{"number": answer["number"], "marked": answer["marked"], "key": answer["key"],
              "points": float(exam.points_of(answer["number"]))} for answer in row["answers"] if not answer["correct"]]
    return {"exam": exam, "max_score": float(exam.max_score), "revised": exam_is_revised(exam), "display": display,
            "question_count": exam.question_count, "wrong_answers": wrong, **_shown(row, display)}


# ---------------------------------------------------------------------------------------------------- messages

# What reached (or was handed to) the provider; a queued, held or cancelled message was not sent to anyone yet.
SHOWN_RECIPIENT_STATUSES = [RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.UNKNOWN,
                            RecipientStatus.FAILED]


def _masked(phone: str) -> str:
    # The form apps/domains/messaging/retention.py leaves in a row after the retention period.
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def me_messages(*, subject: Subject, parent_phone: str | None = None) -> QuerySet[MessageRecipient]:
    """What the academy sent about the subject student, newest first (docs/decisions/0024):

    - a student sees the messages addressed to the student (role student), never those to their parents;
    - a parent sees the messages addressed to the student and those sent to their own phone about this child; a
      message to another guardian's phone (the other parent, a former number) is not theirs. After the retention
      period the phone is masked: the masked form of theirs still matches.
    """
    student = subject.student
    rows = MessageRecipient.objects.filter(tenant_id=student.tenant_id, student_id=student.id,
                                           status__in=SHOWN_RECIPIENT_STATUSES)
    if subject.is_parent and parent_phone:
        rows = rows.filter(Q(role=ConsentHolder.STUDENT)
                           | Q(role=ConsentHolder.PARENT, phone__in=[parent_phone, _masked(parent_phone)]))
    else:
        rows = rows.filter(role=ConsentHolder.STUDENT)
    return rows.select_related("send").annotate(shown_at=Coalesce("sent_at", "send__created_at")).order_by("-id")
