"""Sends of messages (ARCHITECTURE §4 Messaging): preview, create and cancel a send.

The service loads what a send needs in a constant number of queries (students, opt-outs, consents, profile,
template), lets the pure planner (planning.py) decide every recipient row, then stores the send, its rows, the
credit reservation and the `message_send` job in one transaction; the job is dispatched when it commits. Decisions:
docs/decisions/0017-send-planning.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.models import Tenant, User
from apps.domains.enrollment.models import Attendance, AttendanceStatus, Enrollment, EnrollmentStatus
from apps.domains.lectures.models import Lecture, Session
from apps.domains.messaging import planning, rules
from apps.domains.messaging.models import (
    ConsentKind,
    MessageConsent,
    MessageOptOut,
    MessageRecipient,
    MessageSend,
    MessageTemplate,
    RecipientStatus,
    SendStatus,
    TemplateChannel,
    TemplateReviewStatus,
)
from apps.domains.messaging.refusals import MessagingRefusal
from apps.domains.messaging.rendering import korean_date
from apps.domains.messaging.selectors import credit_balance
from apps.domains.messaging.services import (
    InsufficientCreditError,
    SenderNotApprovedError,
    credit_release,
    credit_reserve,
    messaging_profile_ensure,
)
from apps.domains.students.models import Student
from apps.jobs.services import job_cancel, job_submit

logger = logging.getLogger(__name__)

# A send_at this far in the past is "now" (a clock a little behind, a form submitted slowly); further is a mistake.
SEND_AT_SLACK = dt.timedelta(minutes=1)
MAX_SCHEDULE_AHEAD = dt.timedelta(days=30)
BULK_BATCH_SIZE = 1000
SELECTIONS = ("student_ids", "lecture_id", "session_id")
TRIGGER_MAX = MessageSend._meta.get_field("trigger").max_length
TRIGGER_KEY_MAX = MessageSend._meta.get_field("trigger_key").max_length

__all__ = ["InsufficientCreditError", "SendSpec", "send_cancel", "send_create", "send_preview"]


@dataclass(frozen=True)
class SendSpec:
    audience: str = "parent"  # student / parent / both
    mode: str = "sms"  # sms / alimtalk / alimtalk_then_sms
    purpose: str = "info"  # info / ad
    template_id: int | None = None
    body: str = ""
    subject: str = ""
    send_at: dt.datetime | None = None  # aware; up to 30 days ahead
    student_ids: list[int] | None = None
    lecture_id: int | None = None
    session_id: int | None = None
    # With session_id: only these attendance statuses (e.g. ["ABSENT", "LATE"]); UNMARKED includes no row at all.
    attendance: list[str] | None = None
    # Per-student extra variables, e.g. {7: {"점수": 95}}; they override the system variables of that student.
    values: dict[int, dict[str, Any]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- errors

class SendSelectionInvalidError(DomainError):
    default_code = "SEND_SELECTION_INVALID"
    default_message = "받는 학생은 student_ids, lecture_id, session_id 중 정확히 하나로 정해 주세요."


class SendTextInvalidError(DomainError):
    default_code = "SEND_TEXT_INVALID"
    default_message = "템플릿(template_id)과 직접 쓴 본문(body) 중 하나만 보내 주세요."


class SendAtInvalidError(DomainError):
    default_code = "SEND_AT_INVALID"
    default_message = "예약 시각은 지금부터 30일 이내여야 합니다."


class AttendanceFilterInvalidError(DomainError):
    default_code = "ATTENDANCE_FILTER_INVALID"
    default_message = "출결 상태로 거르려면 수업(session_id)을 정해야 하며, 상태는 UNMARKED, PRESENT, ABSENT, LATE, " \
                      "EXCUSED 중에서 골라야 합니다."


class StudentNotFoundError(NotFoundError):
    default_code = "STUDENT_NOT_FOUND"
    default_message = "학생을 찾을 수 없습니다."


class LectureNotFoundError(NotFoundError):
    default_code = "LECTURE_NOT_FOUND"
    default_message = "강의를 찾을 수 없습니다."


class SessionNotFoundError(NotFoundError):
    default_code = "SESSION_NOT_FOUND"
    default_message = "수업을 찾을 수 없습니다."


class TemplateNotFoundError(NotFoundError):
    default_code = "TEMPLATE_NOT_FOUND"
    default_message = "메시지 템플릿을 찾을 수 없습니다."


class SendNotFoundError(NotFoundError):
    # The path's own row: NOT_FOUND like every other route's id (apps/core/tests/test_fields.py).
    default_message = "발송을 찾을 수 없습니다."


class AlimtalkTemplateNotApprovedError(DomainError):
    default_code = "ALIMTALK_TEMPLATE_NOT_APPROVED"
    default_message = "알림톡은 카카오 검수를 통과한 알림톡 템플릿으로만 보낼 수 있습니다."


class KakaoChannelRequiredError(DomainError):
    default_code = "KAKAO_CHANNEL_REQUIRED"
    default_message = "알림톡을 보내려면 메시지 설정에 카카오 채널을 등록해야 합니다."


class NoRecipientsError(DomainError):
    default_code = "NO_RECIPIENTS"
    default_message = "보낼 수 있는 받는 사람이 없습니다. 건너뛴 사유를 확인해 주세요."


class SendAlreadyStartedError(ConflictError):
    default_code = "SEND_ALREADY_STARTED"
    default_message = "이미 발송이 시작되어 남은 대기 메시지가 없습니다. 취소할 수 없습니다."


class SendAlreadyFinishedError(ConflictError):
    default_code = "SEND_ALREADY_FINISHED"
    default_message = "이미 끝난 발송은 취소할 수 없습니다."


@contextmanager
def _as_domain_errors() -> Iterator[None]:
    """The pure cores' refusals reach the caller as DomainError with the same code, message, details and status."""
    try:
        yield
    except MessagingRefusal as exc:
        raise DomainError(exc.code, exc.message, details=exc.details, status_code=exc.status_code) from exc


# ---------------------------------------------------------------------------------------------------- loading

@dataclass
class _Loaded:
    profile: Any
    template: MessageTemplate | None
    body: str
    subject: str
    students: list[planning.StudentRow]
    lecture: Lecture | None
    session: Session | None
    selection: dict[str, Any]
    at: dt.datetime
    send_at: dt.datetime | None


def _check_send_at(send_at: dt.datetime | None, now: dt.datetime) -> None:
    if send_at is None:
        return
    if timezone.is_naive(send_at):
        raise SendAtInvalidError(message="예약 시각에는 시간대가 있어야 합니다.")
    if send_at < now - SEND_AT_SLACK:
        raise SendAtInvalidError(message="예약 시각이 이미 지났습니다.", details={"send_at": send_at.isoformat()})
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise SendAtInvalidError(details={"send_at": send_at.isoformat(),
                                          "latest": (now + MAX_SCHEDULE_AHEAD).isoformat()})


def _text_of(tenant: Tenant, spec: SendSpec, profile) -> tuple[MessageTemplate | None, str, str]:
    if spec.template_id is not None and (spec.body or "").strip():
        raise SendTextInvalidError()
    template = None
    if spec.template_id is not None:
        template = MessageTemplate.objects.filter(tenant=tenant, id=spec.template_id, deleted_at__isnull=True).first()
        if template is None:
            raise TemplateNotFoundError(details={"template_id": spec.template_id})
    if spec.mode in ("alimtalk", "alimtalk_then_sms"):
        if template is None or template.channel != TemplateChannel.ALIMTALK \
                or template.review_status != TemplateReviewStatus.APPROVED or not template.provider_template_id:
            raise AlimtalkTemplateNotApprovedError(details={
                "template_id": template.id if template else None,
                "channel": template.channel if template else None,
                "review_status": template.review_status if template else None})
        if not profile.kakao_channel_id:
            raise KakaoChannelRequiredError()
    if template is not None:
        return template, template.body, template.subject
    return None, spec.body or "", spec.subject or ""


def _student_rows(tenant: Tenant, spec: SendSpec) -> tuple[list[planning.StudentRow], Lecture | None,
                                                            Session | None, dict[str, Any]]:
    chosen = [name for name in SELECTIONS if getattr(spec, name) is not None]
    if len(chosen) != 1 or (spec.student_ids is not None and not spec.student_ids):
        raise SendSelectionInvalidError(details={"given": chosen})
    if spec.attendance is not None:
        known = set(AttendanceStatus.values)
        if spec.session_id is None or not spec.attendance or any(status not in known for status in spec.attendance):
            raise AttendanceFilterInvalidError(details={"attendance": spec.attendance})
    fields = ("id", "name", "phone", "parent_phone", "deleted_at")

    if spec.student_ids is not None:
        ids = list(spec.student_ids)
        found = {row[0]: row for row in Student.objects.filter(tenant=tenant, id__in=set(ids)).values_list(*fields)}
        unknown = sorted(set(ids) - found.keys())
        if unknown:
            raise StudentNotFoundError(details={"student_ids": unknown[:planning.MAX_LISTED_STUDENTS]})
        rows = [_row(*found[student_id]) for student_id in ids]
        return rows, None, None, {"student_ids": ids}

    session = None
    if spec.session_id is not None:
        session = Session.objects.filter(tenant=tenant, id=spec.session_id).select_related("lecture").first()
        if session is None:
            raise SessionNotFoundError(details={"session_id": spec.session_id})
        lecture = session.lecture
    else:
        lecture = Lecture.objects.filter(tenant=tenant, id=spec.lecture_id).first()
        if lecture is None:
            raise LectureNotFoundError(details={"lecture_id": spec.lecture_id})
    enrollments = Enrollment.objects.filter(tenant=tenant, lecture=lecture, status=EnrollmentStatus.ACTIVE,
                                            student__deleted_at__isnull=True)
    selection: dict[str, Any] = {"lecture_id": lecture.id}
    if session is not None:
        selection = {"session_id": session.id}
        if spec.attendance:
            selection["attendance"] = list(spec.attendance)
            # A student without an attendance row has not been marked (docs/decisions/0008).
            status = Attendance.objects.filter(session=session, enrollment=OuterRef("pk")).values("status")[:1]
            enrollments = enrollments.annotate(
                attendance_status=Coalesce(Subquery(status), Value(AttendanceStatus.UNMARKED)),
            ).filter(attendance_status__in=spec.attendance)
    values = enrollments.order_by("student__name", "student_id").values_list(
        *(f"student__{name}" for name in fields))
    rows = [_row(*row) for row in values]
    return rows, lecture, session, selection


def _row(id: int, name: str, phone: str, parent_phone: str, deleted_at: dt.datetime | None) -> planning.StudentRow:
    return planning.StudentRow(id=id, name=name, phone=phone or "", parent_phone=parent_phone or "",
                               deleted=deleted_at is not None)


def _load(tenant: Tenant, spec: SendSpec, now: dt.datetime) -> _Loaded:
    if spec.audience not in planning.AUDIENCES:
        raise planning.InvalidAudience()
    rules.check_mode(spec.purpose, spec.mode)
    _check_send_at(spec.send_at, now)
    profile = messaging_profile_ensure(tenant=tenant)
    template, body, subject = _text_of(tenant, spec, profile)
    students, lecture, session, selection = _student_rows(tenant, spec)
    send_at = spec.send_at
    at = max(send_at, now) if send_at is not None else now
    return _Loaded(profile=profile, template=template, body=body, subject=subject, students=students,
                   lecture=lecture, session=session, selection=selection, at=at, send_at=send_at)


def _plan(tenant: Tenant, spec: SendSpec, loaded: _Loaded, *, strict: bool) -> planning.Plan:
    profile = loaded.profile
    student_ids = {row.id for row in loaded.students if not row.deleted}
    # The whole list: an academy's opt-outs are few next to a send's phones, and one index scan beats binding
    # 10,000 phones into an IN list.
    opted_out = frozenset(MessageOptOut.objects.filter(tenant=tenant).values_list("phone", flat=True))
    consents: dict[tuple[int, str], planning.ConsentState] = {}
    if spec.purpose == "ad" and student_ids:
        granted: dict[tuple[int, str], set[str]] = {}
        for consent in MessageConsent.objects.filter(tenant=tenant, student_id__in=student_ids,
                                                     withdrawn_at__isnull=True).values(
                "student_id", "holder", "kind", "granted_at", "reconfirmed_at"):
            if rules.consent_valid(consent["granted_at"], consent["reconfirmed_at"], loaded.at):
                granted.setdefault((consent["student_id"], consent["holder"]), set()).add(consent["kind"])
        consents = {key: planning.ConsentState(ad=ConsentKind.AD in kinds,
                                               ad_night=ConsentKind.AD in kinds and ConsentKind.AD_NIGHT in kinds)
                    for key, kinds in granted.items()}
    system_values: dict[str, Any] = {"학원명": tenant.name}
    if loaded.lecture is not None:
        system_values["강의명"] = loaded.lecture.title
    if loaded.session is not None:
        if loaded.session.date is not None:
            system_values["날짜"] = korean_date(loaded.session.date)
    else:
        system_values["날짜"] = korean_date(timezone.localtime(loaded.at, rules.KST).date())
    plan_input = planning.PlanInput(
        students=loaded.students, audience=spec.audience, mode=spec.mode, purpose=spec.purpose, body=loaded.body,
        subject=loaded.subject, academy_name=tenant.name, opt_out_number=profile.opt_out_number,
        prices={"SMS": profile.price_sms, "LMS": profile.price_lms, "ATA": profile.price_ata}, at=loaded.at,
        system_values=system_values, values=spec.values or {}, opted_out=opted_out, consents=consents,
        quiet_start=profile.quiet_hours_start, quiet_end=profile.quiet_hours_end, strict=strict)
    with _as_domain_errors():
        return planning.plan_send(plan_input)


# ---------------------------------------------------------------------------------------------------- preview

def mask_phone(digits: str) -> str:
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def send_preview(*, tenant: Tenant, spec: SendSpec, now: dt.datetime | None = None,
                 max_rows: int | None = None) -> dict:
    """What send_create would store, without storing anything: every text exactly as it would go out, skips, type
    counts, the cost, and the characters carriers cannot carry (reported here, refused at send). No recipient left
    is an empty preview, not a refusal; the sender's approval and the balance are reported, not required."""
    now = now or timezone.now()
    with _as_domain_errors():
        loaded = _load(tenant, spec, now)
    plan = _plan(tenant, spec, loaded, strict=False)
    rows = plan.recipients if max_rows is None else plan.recipients[:max_rows]
    unsupported: dict[str, None] = {}
    for row in plan.recipients:
        for _, char in row.unsupported:
            unsupported.setdefault(char)
    balance = credit_balance(tenant=tenant)
    return {
        "recipient_count": len(plan.recipients),
        "recipients": [{
            "student_id": row.student_id, "role": row.role, "phone": mask_phone(row.phone), "text": row.text,
            "subject": row.subject, "type": row.type, "fallback_type": row.fallback_type, "bytes": row.bytes,
            "not_before": row.not_before, "reserved_amount": row.reserved_amount,
            "unsupported": [{"index": index, "char": char, "codepoint": f"U+{ord(char):04X}"}
                            for index, char in row.unsupported],
        } for row in rows],
        "skipped": plan.skipped,
        "type_counts": plan.type_counts,
        "estimated_cost": plan.estimated_cost,
        "unsupported_characters": [{"char": char, "codepoint": f"U+{ord(char):04X}"} for char in unsupported],
        "sender_verified": loaded.profile.sender_verified,
        "credit_balance": balance,
        "credit_sufficient": balance >= plan.estimated_cost,
        "send_at": loaded.send_at,
    }


# ---------------------------------------------------------------------------------------------------- create

def _existing(tenant: Tenant, trigger_key: str) -> MessageSend | None:
    if not trigger_key:
        return None
    return MessageSend.objects.filter(tenant=tenant, trigger_key=trigger_key).first()


def send_create(*, tenant: Tenant, spec: SendSpec, by: User | None = None, trigger: str = "manual",
                trigger_key: str = "", now: dt.datetime | None = None) -> MessageSend:
    """Plan, store and queue a send; refused (and nothing stored) on any error.

    With a trigger_key the send is once-only: a send already made with that key is returned unchanged, also when
    two callers race (the unique constraint decides, the loser returns the winner's send).
    """
    if len(trigger) > TRIGGER_MAX or len(trigger_key) > TRIGGER_KEY_MAX:
        raise ValueError(f"trigger is at most {TRIGGER_MAX} characters and trigger_key {TRIGGER_KEY_MAX}")
    now = now or timezone.now()
    existing = _existing(tenant, trigger_key)
    if existing is not None:
        return existing
    with _as_domain_errors():
        loaded = _load(tenant, spec, now)
    if not loaded.profile.sender_verified:
        raise SenderNotApprovedError(details={"sender_number": loaded.profile.sender_number or None})
    plan = _plan(tenant, spec, loaded, strict=True)
    if not plan.recipients:
        raise NoRecipientsError(details={"skipped": plan.skipped})
    try:
        with transaction.atomic():
            send = _store(tenant=tenant, spec=spec, loaded=loaded, plan=plan, by=by, trigger=trigger,
                          trigger_key=trigger_key, now=now)
    except IntegrityError:
        existing = _existing(tenant, trigger_key)
        if existing is None:
            raise
        return existing
    logger.info("message_send_created", extra={
        "tenant_id": tenant.id, "send_id": send.id, "recipients": send.recipient_count,
        "skipped": len(plan.skipped), "status": send.status, "trigger": trigger})
    return send


def _store(*, tenant: Tenant, spec: SendSpec, loaded: _Loaded, plan: planning.Plan, by: User | None, trigger: str,
           trigger_key: str, now: dt.datetime) -> MessageSend:
    scheduled = loaded.send_at is not None and loaded.send_at > now
    send = MessageSend.objects.create(
        tenant=tenant, created_by=by, purpose=spec.purpose, mode=spec.mode, audience=spec.audience,
        template=loaded.template, subject=loaded.subject, body=loaded.body, selection=loaded.selection,
        send_at=loaded.send_at, status=SendStatus.SCHEDULED if scheduled else SendStatus.QUEUED,
        recipient_count=len(plan.recipients), skipped=plan.skipped, estimated_cost=plan.estimated_cost,
        trigger=trigger, trigger_key=trigger_key)
    _insert_recipients(tenant=tenant, send=send, plan=plan, now=now)
    if plan.estimated_cost > 0:
        credit_reserve(tenant=tenant, amount=plan.estimated_cost, reference=send.credit_reference)
    # The job waits for the send_at, and further when every recipient is held (an ad at night).
    not_before = loaded.send_at if scheduled else None
    if plan.first_allowed is not None and (not_before is None or plan.first_allowed > not_before):
        not_before = plan.first_allowed
    job = job_submit(tenant=tenant, kind="message_send", payload={"send_id": send.id}, created_by=by,
                     idempotency_key=f"send:{send.id}", not_before=not_before)
    send.job = job
    send.save(update_fields=["job"])
    return send



def _insert_recipients(*, tenant: Tenant, send: MessageSend, plan: planning.Plan, now: dt.datetime) -> None:
    """The send's rows, BULK_BATCH_SIZE per statement.

    On Postgres each batch is one `INSERT ... SELECT FROM unnest(arrays)` (as the roster import's bulk.py): building
    10,000 model instances and preparing 24 fields of each cost several times the database's work. Elsewhere (the
    embedded SQLite) bulk_create. Identifiers come from model metadata and every value is a bound parameter.
    """
    rows = plan.recipients
    if connection.vendor != "postgresql":
        MessageRecipient.objects.bulk_create((
            MessageRecipient(
                tenant=tenant, send=send, student_id=row.student_id, role=row.role, phone=row.phone, text=row.text,
                subject=row.subject, type=row.type, fallback_type=row.fallback_type, variables=row.variables,
                not_before=row.not_before, reserved_amount=row.reserved_amount)
            for row in rows), batch_size=BULK_BATCH_SIZE)
        return

    def column(name: str) -> str:
        return connection.ops.quote_name(MessageRecipient._meta.get_field(name).column)

    given = ("tenant", "send", "uid", "status", "sent_type", "provider_message_id", "provider_code", "reason",
             "updated_at", "student", "role", "phone", "text", "subject", "type", "fallback_type", "variables",
             "not_before", "reserved_amount")
    sql = (
        f"INSERT INTO {connection.ops.quote_name(MessageRecipient._meta.db_table)} "  # noqa: S608
        f"({', '.join(column(name) for name in given)}) "
        "SELECT %s, %s, gen_random_uuid(), %s, '', '', '', '', %s, t.student_id, t.role, t.phone, t.text, t.subject, "
        "t.type, t.fallback_type, t.variables, t.not_before, t.reserved_amount "
        "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::jsonb[], %s::timestamptz[], %s::numeric[]) AS t(student_id, role, phone, text, subject, type, "
        "fallback_type, variables, not_before, reserved_amount)"
    )
    empty = json.dumps({})
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BULK_BATCH_SIZE):
            batch = rows[start:start + BULK_BATCH_SIZE]
            cursor.execute(sql, [
                tenant.id, send.id, RecipientStatus.PENDING, now,
                [row.student_id for row in batch], [row.role for row in batch], [row.phone for row in batch],
                [row.text for row in batch], [row.subject for row in batch], [row.type for row in batch],
                [row.fallback_type for row in batch],
                [json.dumps(row.variables, ensure_ascii=False) if row.variables else empty for row in batch],
                [row.not_before for row in batch], [row.reserved_amount for row in batch],
            ])


# ---------------------------------------------------------------------------------------------------- cancel

@transaction.atomic
def send_cancel(*, tenant: Tenant, send_id: int, now: dt.datetime | None = None) -> MessageSend:
    """Cancel what has not gone yet, and give its reservation back.

    SCHEDULED or QUEUED: the send and all its PENDING rows become CANCELLED and its job is cancelled. SENDING: the
    rows still PENDING (not yet taken by a batch, e.g. held for 08:00) are cancelled and the send goes on with the
    rest; with none left, 409 SEND_ALREADY_STARTED. A cancelled send is returned as it is; DONE or FAILED is 409.
    The release is exactly the reservation of the rows cancelled here (the worker settles the others).
    """
    now = now or timezone.now()
    # The send row's lock orders a cancel against the worker's QUEUED → SENDING step.
    send = MessageSend.objects.select_for_update().filter(tenant=tenant, id=send_id).first()
    if send is None:
        raise SendNotFoundError(details={"send_id": send_id})
    if send.status == SendStatus.CANCELLED:
        return send
    if send.status in (SendStatus.DONE, SendStatus.FAILED):
        raise SendAlreadyFinishedError(details={"status": send.status})
    cancelling_send = send.status in (SendStatus.SCHEDULED, SendStatus.QUEUED)
    if cancelling_send:
        MessageSend.objects.filter(id=send.id, status__in=(SendStatus.SCHEDULED, SendStatus.QUEUED)).update(
            status=SendStatus.CANCELLED, cancelled_at=now)
    released = _cancel_pending_recipients(send.id)
    if not cancelling_send and released is None:
        raise SendAlreadyStartedError(details={"status": send.status})
    if released:
        credit_release(tenant=tenant, amount=released, reference=f"cancel:{send.id}")
    if cancelling_send and send.job_id is not None:
        job_cancel(job_id=send.job_id)
    send.refresh_from_db()
    logger.info("message_send_cancelled", extra={"tenant_id": tenant.id, "send_id": send.id,
                                                 "status": send.status, "released": str(released or 0)})
    return send


def _cancel_pending_recipients(send_id: int) -> Decimal | None:
    """PENDING → CANCELLED in one guarded UPDATE; the sum of their reservations, or None when none was PENDING."""
    table = MessageRecipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, updated_at = now() WHERE send_id = %s AND status = %s "  # noqa: S608
            "RETURNING reserved_amount",
            [RecipientStatus.CANCELLED, send_id, RecipientStatus.PENDING])
        amounts = [row[0] for row in cursor.fetchall()]
    if not amounts:
        return None
    return sum(amounts, Decimal(0))

