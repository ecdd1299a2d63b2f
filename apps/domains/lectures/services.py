"""Lecture and session writes (ARCHITECTURE §6 domains/lectures)."""

import logging
from datetime import date, time
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.models import STAFF_ROLES, Tenant
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.selectors import lecture_ensure_not_archived, lecture_history_counts
from apps.domains.video.models import Video, VideoState

logger = logging.getLogger(__name__)

LECTURE_FIELDS = ("title", "subject", "teacher_id", "start_date", "end_date")
SESSION_FIELDS = ("order", "title", "date", "start_time", "end_time")


def _teacher_of(tenant: Tenant, teacher_id: int | None):
    if teacher_id is None:
        return None
    teacher = get_user_model().objects.filter(id=teacher_id, tenant=tenant, role__in=STAFF_ROLES).first()
    if teacher is None:
        raise NotFoundError("TEACHER_NOT_FOUND", "강사를 찾을 수 없습니다.", details={"teacher_id": teacher_id})
    return teacher


def _check_dates(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise DomainError("INVALID_DATE_RANGE", "종료일은 시작일보다 빠를 수 없습니다.")


def _check_times(start: time | None, end: time | None) -> None:
    # The database holds the same rule (session_end_after_start); this says it in Korean first.
    if start is not None and end is not None and end <= start:
        raise DomainError("INVALID_TIME_RANGE", "수업 종료 시각은 시작 시각보다 늦어야 합니다.",
                          details={"start_time": start.isoformat(), "end_time": end.isoformat()})


@transaction.atomic
def lecture_create(*, tenant: Tenant, title: str, subject: str = "", teacher_id: int | None = None,
                   start_date: date | None = None, end_date: date | None = None) -> Lecture:
    teacher = _teacher_of(tenant, teacher_id)
    _check_dates(start_date, end_date)
    return Lecture.objects.create(tenant=tenant, title=title.strip(), subject=subject, teacher=teacher,
                                  start_date=start_date, end_date=end_date)


@transaction.atomic
def lecture_update(*, lecture: Lecture, data: dict[str, Any]) -> Lecture:
    unknown = set(data) - set(LECTURE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    lecture_ensure_not_archived(lecture=_locked(lecture))
    if "teacher_id" in data:
        lecture.teacher = _teacher_of(lecture.tenant, data["teacher_id"])
    for name in ("title", "subject", "start_date", "end_date"):
        if name in data:
            setattr(lecture, name, data[name])
    _check_dates(lecture.start_date, lecture.end_date)
    lecture.save()
    return lecture


class LectureNotArchivedError(ConflictError):
    default_code = "LECTURE_NOT_ARCHIVED"
    default_message = "보관된 강의만 완전히 삭제할 수 있습니다. 먼저 강의를 보관해 주세요."


class LectureHasHistoryError(ConflictError):
    default_code = "LECTURE_HAS_HISTORY"
    default_message = "수강 등록, 출결, 영상 기록이 남아 있는 강의는 완전히 삭제할 수 없습니다."


def _locked(lecture: Lecture) -> Lecture:
    # Archive, restore, purge and session_create take the row lock: none of them acts on a stale archived_at.
    return Lecture.objects.select_for_update().get(id=lecture.id)


@transaction.atomic
def lecture_archive(*, lecture: Lecture) -> Lecture:
    """Archive the lecture: hidden from the list and read-only, its sessions, enrollments, attendance and videos kept.

    Archiving an archived lecture keeps its first archive time (DELETE stays idempotent).
    """
    locked = _locked(lecture)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.save(update_fields=["archived_at"])
        logger.info("lecture_archived", extra={"tenant_id": locked.tenant_id, "lecture_id": locked.id})
    return locked


@transaction.atomic
def lecture_restore(*, lecture: Lecture) -> Lecture:
    """Bring an archived lecture back as it was; restoring a live lecture changes nothing."""
    locked = _locked(lecture)
    if locked.archived_at is not None:
        locked.archived_at = None
        locked.save(update_fields=["archived_at"])
        logger.info("lecture_restored", extra={"tenant_id": locked.tenant_id, "lecture_id": locked.id})
    return locked


@transaction.atomic
def lecture_purge(*, lecture: Lecture) -> None:
    """Delete an archived lecture for good, only when nothing depends on it.

    Refused (LectureHasHistoryError, details = lecture_history_counts) while it has enrollments, attendance, sessions
    with records or videos not DELETED. What may go goes in order: DELETED videos are detached (their rows stay for
    the job records), then the empty sessions, then the lecture; the PROTECT foreign keys refuse anything else.
    """
    locked = _locked(lecture)
    if locked.archived_at is None:
        raise LectureNotArchivedError(details={"lecture_id": locked.id})
    counts = lecture_history_counts(lecture=locked)
    if any(counts.values()):
        raise LectureHasHistoryError(details={"lecture_id": locked.id, **counts})
    Video.objects.filter(lecture=locked, state=VideoState.DELETED).update(lecture=None, session=None)
    try:
        with transaction.atomic():
            Session.objects.filter(lecture=locked).delete()
            locked.delete()
    except ProtectedError as exc:
        # A row the counts do not cover: refuse rather than lose it.
        counts = lecture_history_counts(lecture=locked)
        raise LectureHasHistoryError(details={"lecture_id": locked.id, **counts}) from exc
    logger.info("lecture_purged", extra={"tenant_id": locked.tenant_id, "lecture_id": lecture.id})


class SessionOrderTakenError(ConflictError):
    default_code = "SESSION_ORDER_TAKEN"
    default_message = "같은 회차 번호의 수업이 이미 있습니다."


def _save_session(session: Session) -> None:
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as exc:
        taken = Session.objects.filter(lecture_id=session.lecture_id, order=session.order).exclude(id=session.id)
        if "uniq_session_order" in str(exc) or taken.exists():
            raise SessionOrderTakenError(details={"order": session.order}) from exc
        raise


@transaction.atomic
def session_create(*, lecture: Lecture, order: int | None = None, title: str = "",
                   date: date | None = None, start_time: time | None = None,
                   end_time: time | None = None) -> Session:
    """Adds a session; without `order` it goes after the last one (the lecture row is locked meanwhile)."""
    _check_times(start_time, end_time)
    lecture_ensure_not_archived(lecture=_locked(lecture))
    if order is None:
        order = (Session.objects.filter(lecture=lecture).aggregate(m=Max("order"))["m"] or 0) + 1
    session = Session(tenant_id=lecture.tenant_id, lecture=lecture, order=order, title=title, date=date,
                      start_time=start_time, end_time=end_time)
    _save_session(session)
    return session


@transaction.atomic
def session_update(*, session: Session, data: dict[str, Any]) -> Session:
    unknown = set(data) - set(SESSION_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    lecture_ensure_not_archived(lecture=session.lecture)
    for name, value in data.items():
        setattr(session, name, value)
    _check_times(session.start_time, session.end_time)
    _save_session(session)
    return session


@transaction.atomic
def session_delete(*, session: Session) -> None:
    lecture_ensure_not_archived(lecture=session.lecture)
    session.delete()
