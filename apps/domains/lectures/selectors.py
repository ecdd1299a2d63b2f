"""Lecture and session reads (ARCHITECTURE §6 domains/lectures)."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.core.exceptions import DomainError, NotFoundError
from apps.core.models import Tenant
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus
from apps.domains.lectures.models import Lecture, Session


class LectureNotFoundError(NotFoundError):
    default_code = "LECTURE_NOT_FOUND"
    default_message = "강의를 찾을 수 없습니다."


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


def session_list(*, tenant: Tenant) -> QuerySet[Session]:
    return Session.objects.for_tenant(tenant)


def lecture_get(*, tenant: Tenant, lecture_id: int) -> Lecture:
    """The tenant's lecture; another tenant's (or a missing) id is LectureNotFoundError."""
    lecture = Lecture.objects.for_tenant(tenant).filter(id=lecture_id).first()
    if lecture is None:
        raise LectureNotFoundError(details={"lecture_id": lecture_id})
    return lecture


def lecture_scope(
    *, tenant: Tenant, lecture_id: int | None, session_id: int | None = None
) -> tuple[Lecture | None, Session | None]:
    """The tenant's lecture and session a request names by id (either may be None), checked to belong together."""
    lecture = lecture_get(tenant=tenant, lecture_id=lecture_id) if lecture_id is not None else None
    session = None
    if session_id is not None:
        session = Session.objects.for_tenant(tenant).filter(id=session_id).first()
        if session is None:
            raise SessionNotFoundError(details={"session_id": session_id})
        if lecture is not None and session.lecture_id != lecture.id:
            raise SessionNotInLectureError()
    return lecture, session
