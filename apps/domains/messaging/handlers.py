"""ARCHITECTURE §4 Messaging: the messaging fleet's `message_send` handler and the hook of its job kind.

message_send        payload {"send_id"}: send the send's due PENDING recipients, batch by batch, then finish the send
message_send_ended  on_terminal: a job that failed for good leaves no recipient waiting and no credit held

A batch is taken with one guarded UPDATE (PENDING → SENDING, a fresh `batch` uuid, FOR UPDATE SKIP LOCKED), handed
to the provider in one call, and recorded with one UPDATE and its ledger movements in one transaction. Delivery is
at least once and a message at most once: a row another attempt took (SENDING) is never taken again — if that
attempt died, the reconciler asks the provider about it (reconcile.py). Whatever the provider may have taken without
saying so is UNKNOWN, never resent. The credit references and the AlimTalk → SMS fallback are described in
delivery.py.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from apps.domains.messaging import delivery
from apps.domains.messaging.delivery import Movement
from apps.domains.messaging.models import (
    CreditKind,
    MessageOptOut,
    MessageRecipient,
    MessageSend,
    MessageType,
    MessagingProfile,
    RecipientStatus,
    SendStatus,
)
from apps.integrations.messaging import (
    KakaoOptions,
    OutgoingMessage,
    ProviderError,
    ProviderUncertain,
    SendOutcome,
    batch_size,
    get_message_provider,
)
from apps.jobs.errors import JobFailure, JobInterrupted
from apps.jobs.models import Job, JobState

logger = logging.getLogger(__name__)

STAGE_SENDING = "발송"
SEND_NOT_FOUND = ("MESSAGE_SEND_NOT_FOUND", "발송 요청을 찾을 수 없습니다.")
PROVIDER_UNAVAILABLE = ("MESSAGING_PROVIDER_UNAVAILABLE", "문자 서비스에 연결할 수 없습니다. 자동으로 다시 시도합니다.")
UNKNOWN_REASON = "발송 여부 확인 중"

_R = MessageRecipient._meta.db_table
# Table names come from model metadata and every value is a bound parameter (the S608 waivers).
_CLAIM_SQL = f"""
WITH picked AS (
    SELECT r.id FROM {_R} r
    WHERE r.send_id = %(send_id)s AND r.status = 'PENDING' AND (r.not_before IS NULL OR r.not_before <= %(now)s)
      AND EXISTS (SELECT 1 FROM {MessageSend._meta.db_table} s WHERE s.id = r.send_id AND s.status <> 'CANCELLED')
    ORDER BY r.id
    LIMIT %(limit)s
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE {_R} AS r
SET status = 'SENDING', batch = %(batch)s, sending_at = %(now)s, updated_at = %(now)s,
    sent_type = CASE WHEN r.sent_type = '' THEN r.type ELSE r.fallback_type END
FROM picked
WHERE r.id = picked.id AND r.status = 'PENDING'
RETURNING r.id, r.uid, r.phone, r.text, r.subject, r.type, r.fallback_type, r.sent_type, r.variables,
          r.reserved_amount,
          EXISTS (SELECT 1 FROM {MessageOptOut._meta.db_table} o WHERE o.tenant_id = r.tenant_id AND o.phone = r.phone)
"""  # noqa: S608
# One UPDATE for a whole batch's outcomes, guarded: only rows of this batch still SENDING (the reconciler or a
# report may have settled some meanwhile). `revert` puts a row back as it was before the claim (nothing was sent).
_RECORD_SQL = f"""
UPDATE {_R} AS r
SET status = v.status,
    provider_message_id = COALESCE(NULLIF(v.pmid, ''), r.provider_message_id),
    provider_code = COALESCE(v.code, r.provider_code), reason = COALESCE(v.reason, r.reason),
    charged_amount = CASE WHEN v.status = 'SENT' THEN v.charged ELSE r.charged_amount END,
    reserved_amount = CASE WHEN v.reserved IS NULL THEN r.reserved_amount ELSE v.reserved END,
    sent_at = CASE WHEN v.status = 'SENT' THEN %(now)s ELSE r.sent_at END,
    sent_type = CASE WHEN v.revert THEN (CASE WHEN r.sent_type = r.type THEN '' ELSE r.type END) ELSE r.sent_type END,
    batch = CASE WHEN v.status = 'PENDING' THEN NULL ELSE r.batch END,
    updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(statuses)s::varchar[], %(pmids)s::varchar[], %(codes)s::varchar[],
            %(reasons)s::varchar[], %(charged)s::numeric[], %(reserved)s::numeric[], %(reverts)s::boolean[])
     AS v(id, status, pmid, code, reason, charged, reserved, revert)
WHERE r.id = v.id AND r.batch = %(batch)s AND r.status = 'SENDING'
RETURNING r.id
"""  # noqa: S608


@dataclass
class Claimed:
    id: int
    uid: uuid.UUID
    phone: str
    text: str
    subject: str
    type: str
    fallback_type: str
    sent_type: str
    variables: dict
    reserved: Decimal
    opted_out: bool

    @property
    def is_fallback(self) -> bool:
        return bool(self.fallback_type) and self.sent_type == self.fallback_type

    @property
    def provider_id(self) -> str:
        return f"{self.uid}{delivery.FALLBACK_SUFFIX}" if self.is_fallback else str(self.uid)


@dataclass
class Plan:
    """What recording does to one claimed row; `release`: its reservation ends with this write. None keeps the
    row's value (a fallback's SENT keeps the reason its AlimTalk failed)."""

    status: str
    release: bool
    pmid: str = ""
    code: str | None = None
    reason: str | None = None
    charged: Decimal = Decimal(0)
    revert: bool = False
    reserved: Decimal | None = None


def message_send(job: Job, ctx) -> dict:
    send_id = job.payload.get("send_id")
    if not isinstance(send_id, int) or isinstance(send_id, bool):
        raise JobFailure(*SEND_NOT_FOUND)
    send = (MessageSend.objects.select_related("template", "tenant__messaging_profile")
            .filter(tenant_id=job.tenant_id, id=send_id).first())
    if send is None:
        raise JobFailure(*SEND_NOT_FOUND)
    extra = {"job_id": str(job.id), "tenant_id": job.tenant_id, "send_id": send.id}
    if send.status == SendStatus.CANCELLED:
        logger.info("message_send_cancelled", extra=extra)
        return _result(send, now=timezone.now(), batches=0)
    # DONE too: an SMS fallback or held recipients can reopen a send that had finished.
    if MessageSend.objects.filter(id=send.id, status__in=[SendStatus.QUEUED, SendStatus.SCHEDULED, SendStatus.DONE]
                                  ).update(status=SendStatus.SENDING):
        send.status = SendStatus.SENDING
    sender = _Sender(send=send, ctx=ctx, extra=extra)
    batches = 0
    while True:
        if ctx.stop_requested:
            raise JobInterrupted()
        claimed = sender.claim()
        if claimed is None:
            break
        batches += 1
        sender.send_batch(claimed)
    now = timezone.now()
    result = _result(send, now=now, batches=batches)
    if not result["held"] and not result["counts"]["pending"]:
        MessageSend.objects.filter(id=send.id, status=SendStatus.SENDING).update(status=SendStatus.DONE,
                                                                                finished_at=now)
        result["status"] = SendStatus.DONE.value
    logger.info("message_send_handled", extra={**extra, "batches": batches, "counts": result["counts"],
                                               "held": result["held"]})
    return result


def _result(send: MessageSend, *, now, batches: int) -> dict:
    aggregates = {status.lower(): Count("id", filter=Q(status=status)) for status in RecipientStatus.values}
    counts = MessageRecipient.objects.filter(send_id=send.id).aggregate(
        **aggregates, held=Count("id", filter=Q(status=RecipientStatus.PENDING, not_before__gt=now)))
    held = counts.pop("held")
    return {"send_id": send.id, "status": send.status, "batches": batches, "held": held, "counts": counts}


class _Sender:
    def __init__(self, *, send: MessageSend, ctx, extra: dict):
        self.send = send
        self.ctx = ctx
        self.extra = extra
        self.tenant_id = send.tenant_id
        try:
            self.profile = send.tenant.messaging_profile
        except MessagingProfile.DoesNotExist:
            from apps.domains.messaging.services import messaging_profile_ensure

            self.profile = messaging_profile_ensure(tenant=send.tenant)
        self.taken = 0

    # -- Claim ----------------------------------------------------------------
    def claim(self) -> list[Claimed] | None:
        """Take up to MESSAGING_BATCH_SIZE due PENDING rows; in the same transaction refuse the opted-out ones and
        reserve the price of the SMS fallbacks among them. Returns the rows to hand to the provider (none when all
        were refused), None when there was nothing to take."""
        batch = uuid.uuid4()
        now = timezone.now()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(_CLAIM_SQL, {"send_id": self.send.id, "now": now, "limit": batch_size(),
                                                "batch": batch})
                    rows = [_claimed(values) for values in cursor.fetchall()]
            else:
                rows = [_claimed(values) for values in _claim_portable(self.send.id, now, batch_size(), batch)]
            if not rows:
                return None
            self.batch = batch
            opted = [r for r in rows if r.opted_out]
            if opted:
                self._refuse_opted_out(opted, now=now)
            fallbacks = [r for r in rows if r.is_fallback and not r.opted_out]
            refused = self._reserve_fallbacks(fallbacks, now=now) if fallbacks else set()
        self.taken += len(rows)
        return [r for r in rows if not r.opted_out and r.id not in refused]

    def _refuse_opted_out(self, rows: list[Claimed], *, now) -> None:
        """수신거부 at send time: FAILED OPTED_OUT, their reservation released (a fallback row holds none yet)."""
        plans = {r.id: Plan(RecipientStatus.FAILED, release=not r.is_fallback, code=delivery.OPTED_OUT_CODE,
                            reason=delivery.reason_for(delivery.OPTED_OUT_CODE), revert=True) for r in rows}
        self._record(plans, rows, now=now, reference=f"batch:{self.batch}:opted-out", charge=False)

    def _reserve_fallbacks(self, rows: list[Claimed], *, now) -> set[int]:
        """Reserve each SMS fallback's price (its AlimTalk's reservation was settled); with too little credit the
        fallbacks FAIL unsent. Returns the ids refused."""
        from apps.domains.messaging.services import InsufficientCreditError

        prices = {r.id: delivery.price_of(self.profile, r.fallback_type) for r in rows}
        try:
            with transaction.atomic():
                delivery.ledger_write(tenant_id=self.tenant_id, memo="대체 문자 예약", movements=[
                    Movement(CreditKind.RESERVE, sum(prices.values(), Decimal(0)), f"batch:{self.batch}")])
        except InsufficientCreditError:
            plans = {r.id: Plan(RecipientStatus.FAILED, release=False, code=delivery.NO_CREDIT_CODE,
                                reason=delivery.reason_for(delivery.NO_CREDIT_CODE), reserved=Decimal(0))
                     for r in rows}
            self._record(plans, rows, now=now, reference=f"batch:{self.batch}", charge=False)
            return set(plans)
        for row in rows:
            row.reserved = prices[row.id]
        plans = {r.id: Plan(RecipientStatus.SENDING, release=False, reserved=prices[r.id]) for r in rows}
        self._record(plans, rows, now=now, reference="", charge=False)
        return set()

    # -- Send and record -----------------------------------------------------------
    def send_batch(self, rows: list[Claimed]) -> None:
        if not rows:
            return
        messages = [self._message(r) for r in rows]
        by_id = {r.provider_id: r for r in rows}
        plans: dict[int, Plan] = {}
        failure: JobFailure | None = None
        crash: BaseException | None = None
        try:
            outcomes = get_message_provider().send_many(messages)
        except ProviderUncertain as exc:
            self._plan_outcomes(plans, by_id, exc.completed)
            uncertain = set(exc.recipient_ids)
            for pid, row in by_id.items():
                if row.id in plans:
                    continue
                plans[row.id] = (Plan(RecipientStatus.UNKNOWN, release=False, reason=UNKNOWN_REASON)
                                 if pid in uncertain else _not_sent(row))
            logger.warning("message_send_uncertain", extra={**self.extra, "unknown": len(uncertain)})
        except ProviderError as exc:
            self._plan_outcomes(plans, by_id, exc.completed)
            for row in by_id.values():
                if row.id not in plans:
                    plans[row.id] = (_refused(exc) if exc.permanent else _not_sent(row))
            logger.warning("message_send_provider_error", extra={**self.extra, "permanent": exc.permanent,
                                                                  "error_code": exc.code})
            if not exc.permanent:
                failure = JobFailure(*PROVIDER_UNAVAILABLE, retryable=True)
        except Exception as exc:  # a bug, or an error no adapter should raise: it may have been sent
            for row in by_id.values():
                plans[row.id] = Plan(RecipientStatus.UNKNOWN, release=False, reason=UNKNOWN_REASON)
            crash = exc
        else:
            self._plan_outcomes(plans, by_id, outcomes)
            for row in by_id.values():
                # An adapter answers every message; one it did not is treated as possibly sent.
                plans.setdefault(row.id, Plan(RecipientStatus.UNKNOWN, release=False, reason=UNKNOWN_REASON))
        with transaction.atomic():
            self._record(plans, rows, now=timezone.now(), reference=f"batch:{self.batch}", charge=True)
        self.ctx.progress(min(99, 100 * self.taken // max(1, self.send.recipient_count)), STAGE_SENDING)
        if crash is not None:
            raise crash
        if failure is not None:
            raise failure

    def _plan_outcomes(self, plans: dict[int, Plan], by_id: dict[str, Claimed], outcomes: list[SendOutcome]) -> None:
        for outcome in outcomes:
            row = by_id.get(outcome.recipient_id)
            if row is None:
                continue
            if outcome.accepted:
                charged = delivery.charge_for(self.profile, sent_type=row.sent_type, reserved=row.reserved)
                plans[row.id] = Plan(RecipientStatus.SENT, release=True, pmid=delivery.clip(outcome.provider_message_id,
                                                                                            64),
                                     code=delivery.clip(outcome.code, 10), charged=charged)
                continue
            code = delivery.clip(outcome.code, 10)
            reason = delivery.reason_for(code, outcome.reason)
            pmid = delivery.clip(outcome.provider_message_id, 64)
            if delivery.falls_back(type=row.type, fallback_type=row.fallback_type, sent_type=row.sent_type,
                                   code=code):
                plans[row.id] = Plan(RecipientStatus.PENDING, release=True, pmid=pmid, code=code,
                                     reason=delivery.clip(reason + delivery.FALLBACK_NOTE, 200))
            else:
                plans[row.id] = Plan(RecipientStatus.FAILED, release=True, pmid=pmid, code=code, reason=reason)

    def _record(self, plans: dict[int, Plan], rows: list[Claimed], *, now, reference: str, charge: bool) -> None:
        """One guarded UPDATE for the planned rows, then the release (and charge) of those it moved."""
        ids = list(plans)
        if connection.vendor != "postgresql":
            moved = _record_portable(plans, batch=self.batch, now=now)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_RECORD_SQL, {
                    "now": now, "batch": self.batch, "ids": ids,
                    "statuses": [plans[i].status for i in ids], "pmids": [plans[i].pmid for i in ids],
                    "codes": [plans[i].code for i in ids], "reasons": [plans[i].reason for i in ids],
                    "charged": [plans[i].charged for i in ids], "reserved": [plans[i].reserved for i in ids],
                    "reverts": [plans[i].revert for i in ids],
                })
                moved = {values[0] for values in cursor.fetchall()}
        if not reference:
            return
        reserved = {r.id: r.reserved for r in rows}
        release = sum((reserved[i] for i in moved if plans[i].release), Decimal(0))
        charged = sum((plans[i].charged for i in moved if plans[i].status == RecipientStatus.SENT), Decimal(0))
        delivery.ledger_write(tenant_id=self.tenant_id, memo=f"발송 {self.send.id}", movements=[
            Movement(CreditKind.RELEASE, release, reference),
            *([Movement(CreditKind.CHARGE, charged, reference)] if charge else []),
        ])

    def _message(self, row: Claimed) -> OutgoingMessage:
        kakao = None
        if row.sent_type == MessageType.ATA:
            template = self.send.template
            kakao = KakaoOptions(pf_id=self.profile.kakao_channel_id,
                                 template_id=template.provider_template_id if template else "",
                                 variables={str(k): str(v) for k, v in (row.variables or {}).items()})
        return OutgoingMessage(recipient_id=row.provider_id, to=row.phone, sender=self.profile.sender_number,
                               type=row.sent_type, text=row.text,
                               subject=row.subject if row.sent_type == MessageType.LMS else "", kakao=kakao)


# ---------------------------------------------------------------------------------------------------- SQLite
# `make run`'s embedded database has neither SKIP LOCKED nor arrays. SQLite has one writer at a time, so the same
# guarded transitions written with the ORM are as safe there; row by row is fine for a newcomer's sends.

def _claim_portable(send_id: int, now, limit: int, batch: uuid.UUID) -> list[tuple]:
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    ids = list(MessageRecipient.objects.filter(due, send_id=send_id, status=RecipientStatus.PENDING)
               .exclude(send__status=SendStatus.CANCELLED).order_by("id").values_list("id", flat=True)[:limit])
    MessageRecipient.objects.filter(id__in=ids, status=RecipientStatus.PENDING).update(
        status=RecipientStatus.SENDING, batch=batch, sending_at=now, updated_at=now,
        sent_type=Case(When(sent_type="", then=F("type")), default=F("fallback_type")))
    opted_out = Exists(MessageOptOut.objects.filter(tenant_id=OuterRef("tenant_id"), phone=OuterRef("phone")))
    return list(MessageRecipient.objects.filter(id__in=ids, batch=batch, status=RecipientStatus.SENDING)
                .annotate(opted_out=opted_out).order_by("id")
                .values_list("id", "uid", "phone", "text", "subject", "type", "fallback_type", "sent_type",
                             "variables", "reserved_amount", "opted_out"))


def _record_portable(plans: dict[int, Plan], *, batch: uuid.UUID, now) -> set[int]:
    """_RECORD_SQL one row at a time, with the same guard (this batch, still SENDING) and the same rules."""
    moved: set[int] = set()
    for row_id, plan in plans.items():
        changes = {"status": plan.status, "updated_at": now}
        if plan.pmid:
            changes["provider_message_id"] = plan.pmid
        if plan.code is not None:
            changes["provider_code"] = plan.code
        if plan.reason is not None:
            changes["reason"] = plan.reason
        if plan.status == RecipientStatus.SENT:
            changes.update(charged_amount=plan.charged, sent_at=now)
        if plan.reserved is not None:
            changes["reserved_amount"] = plan.reserved
        if plan.revert:
            changes["sent_type"] = Case(When(sent_type=F("type"), then=Value("")), default=F("type"))
        if plan.status == RecipientStatus.PENDING:
            changes["batch"] = None
        if MessageRecipient.objects.filter(id=row_id, batch=batch, status=RecipientStatus.SENDING).update(**changes):
            moved.add(row_id)
    return moved


def _claimed(values) -> Claimed:
    (id_, uid, phone, text, subject, type_, fallback_type, sent_type, variables, reserved, opted_out) = values
    if isinstance(variables, str):
        variables = json.loads(variables)
    return Claimed(id=id_, uid=uuid.UUID(str(uid)), phone=phone, text=text, subject=subject, type=type_,
                   fallback_type=fallback_type, sent_type=sent_type,
                   variables=variables if isinstance(variables, dict) else {},
                   reserved=reserved if reserved is not None else Decimal(0), opted_out=bool(opted_out))


def _not_sent(row: Claimed) -> Plan:
    """Back to PENDING as before the claim: nothing reached the provider. A fallback gives its reservation back."""
    return Plan(RecipientStatus.PENDING, release=row.is_fallback, revert=True)


def _refused(exc: ProviderError) -> Plan:
    reason = delivery.reason_for(delivery.PROVIDER_REFUSED_CODE)
    if exc.code:
        reason = delivery.clip(f"{reason} ({exc.code})", 200)
    return Plan(RecipientStatus.FAILED, release=True, code=delivery.PROVIDER_REFUSED_CODE, reason=reason)


# ---------------------------------------------------------------------------------------------------- on_terminal

def message_send_ended(job: Job) -> None:
    """A message_send job that FAILED or went DEAD (its attempts spent on an unreachable provider): the send's
    PENDING recipients will not go — FAILED, their reservation released — and the send is FAILED."""
    if job.state not in (JobState.FAILED, JobState.DEAD):
        return
    send_id = job.payload.get("send_id")
    if not isinstance(send_id, int):
        return
    now = timezone.now()
    reason = delivery.reason_for(delivery.JOB_FAILED_CODE)
    with transaction.atomic():
        rows = list(MessageRecipient.objects.select_for_update().filter(
            tenant_id=job.tenant_id, send_id=send_id, status=RecipientStatus.PENDING))
        if not rows:
            return
        # A fallback-due row (sent_type set) holds no reservation: its AlimTalk was settled.
        release = sum((r.reserved_amount for r in rows if not r.sent_type), Decimal(0))
        MessageRecipient.objects.filter(id__in=[r.id for r in rows], status=RecipientStatus.PENDING).update(
            status=RecipientStatus.FAILED, provider_code=delivery.JOB_FAILED_CODE, reason=reason, updated_at=now)
        delivery.ledger_write(tenant_id=job.tenant_id, memo=f"발송 {send_id}", movements=[
            Movement(CreditKind.RELEASE, release, f"job:{job.id}:abandoned")])
        MessageSend.objects.filter(id=send_id, status__in=[SendStatus.QUEUED, SendStatus.SCHEDULED,
                                                           SendStatus.SENDING]).update(status=SendStatus.FAILED,
                                                                                       finished_at=now)
    logger.warning("message_send_abandoned", extra={"job_id": str(job.id), "tenant_id": job.tenant_id,
                                                    "send_id": send_id, "recipients": len(rows)})
