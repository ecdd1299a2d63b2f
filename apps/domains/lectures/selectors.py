"""Lecture and session reads (ARCHITECTURE §6 domains/lectures)."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.models import Tenant
from apps.domains.enrollment.models import Attendance, Enrollment, EnrollmentStatus, SessionEnrollment
from apps.domains.lectures.models import Lecture, Session
from apps.domains.video.models import Video, VideoState


class LectureNotFoundError(NotFoundError):
    default_code = "LECTURE_NOT_FOUND"
    default_message = "강의를 찾을 수 없습니다."


class LectureArchivedError(ConflictError):
    default_code = "LECTURE_ARCHIVED"
    default_message = "보관된 강의는 변경할 수 없습니다. 먼저 강의를 복원해 주세요."


class SessionNotFoundError(NotFoundError):
    default_code = "SESSION_NOT_FOUND"
    default_message = "차시를 찾을 수 없습니다."


class SessionNotInLectureError(DomainError):
    default_code = "SESSION_NOT_IN_LECTURE"
    default_message = "선택한 차시가 이 강의에 속하지 않습니다."


def _count_per_lecture(queryset) -> Coalesce:
    # One correlated count per table: joining sessions and enrollments in one query would multiply their rows
    # (40 sessions x 300 students = 12,000 rows per lecture) before counting.
    counted = queryset.filter(lecture=OuterRef("pk")).order_by().values("lecture").annotate(n=Count("id"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), Value(0))


def lecture_list(*, tenant: Tenant) -> QuerySet[Lecture]:
    return (
        Lecture.objects.for_tenant(tenant)
        .select_related("teacher")
        .annotate(
            session_count=_count_per_lecture(Session.objects.all()),
            active_enrollment_count=_count_per_lecture(Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)),
        )
        .order_by("id")
    )


def lecture_history_counts(*, lecture: Lecture) -> dict[str, int]:
    """What a purge would destroy: enrollments, attendance, sessions holding records, videos not DELETED."""
    sessions = Session.objects.filter(lecture=lecture)
    attendance = Attendance.objects.filter(session__lecture=lecture)
    enrolled = SessionEnrollment.objects.filter(session__lecture=lecture)
    return {
        "enrollments": Enrollment.objects.filter(lecture=lecture).count(),
        "attendance": attendance.count(),
        "sessions_with_records": sessions.filter(
            Q(id__in=attendance.values("session_id")) | Q(id__in=enrolled.values("session_id"))
        ).count(),
        "videos": Video.objects.filter(lecture=lecture).exclude(state=VideoState.DELETED).count(),
    }


def session_list(*, tenant: Tenant) -> QuerySet[Session]:
    return Session.objects.for_tenant(tenant)


def lecture_ensure_not_archived(*, lecture: Lecture) -> None:
    """The one guard of every write into a lecture (its sessions, enrollments, attendance, imports, videos)."""
    if lecture.archived_at is not None:
        raise LectureArchivedError(details={"lecture_id": lecture.id})


def lecture_get(*, tenant: Tenant, lecture_id: int, archived_ok: bool = False) -> Lecture:
    """The tenant's lecture to write into; another tenant's (or a missing) id is LectureNotFoundError.

    An archived lecture is LectureArchivedError (409) unless `archived_ok`: only reads of its history pass that.
    """
    lecture = Lecture.objects.for_tenant(tenant).filter(id=lecture_id).first()
    if lecture is None:
        raise LectureNotFoundError(details={"lecture_id": lecture_id})
    if not archived_ok:
        lecture_ensure_not_archived(lecture=lecture)
    return lecture


def lecture_scope(
    *, tenant: Tenant, lecture_id: int | None, session_id: int | None = None, archived_ok: bool = False
) -> tuple[Lecture | None, Session | None]:
    """The tenant's lecture and session a request names by id (either may be None), checked to belong together.

    A session's archived lecture is refused like a named one (LectureArchivedError) unless `archived_ok`.
    """
    lecture = None
    if lecture_id is not None:
        lecture = lecture_get(tenant=tenant, lecture_id=lecture_id, archived_ok=archived_ok)
    session = None
    if session_id is not None:
        session = Session.objects.for_tenant(tenant).select_related("lecture").filter(id=session_id).first()
        if session is None:
            raise SessionNotFoundError(details={"session_id": session_id})
        if lecture is not None and session.lecture_id != lecture.id:
            raise SessionNotInLectureError()
        if not archived_ok:
            lecture_ensure_not_archived(lecture=session.lecture)
    return lecture, session
