"""Lecture and session writes (ARCHITECTURE §6 domains/lectures)."""

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.models import STAFF_ROLES, Tenant
from apps.domains.lectures.models import Lecture, Session

LECTURE_FIELDS = ("title", "subject", "teacher_id", "start_date", "end_date")
SESSION_FIELDS = ("order", "title", "date")


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
    if "teacher_id" in data:
        lecture.teacher = _teacher_of(lecture.tenant, data["teacher_id"])
    for name in ("title", "subject", "start_date", "end_date"):
        if name in data:
            setattr(lecture, name, data[name])
    _check_dates(lecture.start_date, lecture.end_date)
    lecture.save()
    return lecture


@transaction.atomic
def lecture_delete(*, lecture: Lecture) -> None:
    """Deletes the lecture with its sessions, enrollments and attendance (database cascade)."""
    lecture.delete()


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
                   date: date | None = None) -> Session:
    """Adds a session; without `order` it goes after the last one (the lecture row is locked meanwhile)."""
    Lecture.objects.select_for_update().filter(id=lecture.id).first()
    if order is None:
        order = (Session.objects.filter(lecture=lecture).aggregate(m=Max("order"))["m"] or 0) + 1
    session = Session(tenant_id=lecture.tenant_id, lecture=lecture, order=order, title=title, date=date)
    _save_session(session)
    return session


@transaction.atomic
def session_update(*, session: Session, data: dict[str, Any]) -> Session:
    unknown = set(data) - set(SESSION_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for name, value in data.items():
        setattr(session, name, value)
    _save_session(session)
    return session


@transaction.atomic
def session_delete(*, session: Session) -> None:
    session.delete()
