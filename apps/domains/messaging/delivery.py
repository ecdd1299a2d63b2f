"""ARCHITECTURE §4 Messaging, delivery: what the send handler, the reconciler and the delivery-report webhook share —
our id for each provider message, the reasons shown for the provider's codes, the price charged, the ledger writes
of a settled batch, and how a provider's report moves a recipient row.

States and credit. A row holds its `reserved_amount` of the send's reservation while PENDING (first attempt),
SENDING or UNKNOWN; it is released when the row's attempt ends (SENT, DELIVERED, FAILED, or due for its SMS
fallback), in the same transaction as the guarded status write. References are once-only per (reference, kind):

    batch:<batch uuid>               RELEASE + CHARGE of a batch the handler recorded; RESERVE of its fallback rows
    batch:<batch uuid>:opted-out     RELEASE of the rows refused at claim time for the opt-out list
    recipient:<provider id>          RELEASE + CHARGE when the reconciler or a report settles an UNKNOWN/SENDING row,
                                     REFUND when an accepted (charged) message is later reported FAILED
    job:<job uuid>:abandoned         RELEASE of the rows a failed job leaves unsent

`<provider id>` is the row's uid for its first message and f"{uid}-sms" for its SMS fallback, so every provider
message has its own charge and refund.

AlimTalk fallback (`alimtalk_then_sms`): an AlimTalk the provider refuses or reports FAILED with a code in
FALLBACK_CODES (3104 not a KakaoTalk user, 3107 blocked / cannot receive AlimTalk, 3108 outside the AlimTalk
window) makes the row PENDING again with `sent_type` = ATA: the next claim sends its `fallback_type` as
f"{uid}-sms", reserving that price first. Other AlimTalk refusals (a template, channel or sender problem) are
configuration errors that an SMS would only hide, so they FAIL. `sent_type` is set when a message is handed to the
provider: it names the type of the row's current (or last) provider message.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.domains.messaging.models import (
    CreditEntry,
    CreditKind,
    MessageRecipient,
    MessageType,
    MessagingProfile,
    RecipientStatus,
    SendStatus,
)
from apps.integrations import message_rules as codes
from apps.integrations.messaging import DeliveryReport

logger = logging.getLogger(__name__)

FALLBACK_SUFFIX = "-sms"
FALLBACK_CODES = frozenset({codes.NOT_KAKAO_USER, "3107", codes.OUTSIDE_ALIMTALK_WINDOW})
OPTED_OUT_CODE = "OPTED_OUT"
# Our own codes fit provider_code (10 characters) beside the provider's.
NOT_FOUND_CODE = "NOT_FOUND"  # the provider has no record of it after MESSAGING_NOT_FOUND_SECONDS
NO_CREDIT_CODE = "NO_CREDIT"
JOB_FAILED_CODE = "JOB_FAILED"
PROVIDER_REFUSED_CODE = "REFUSED"
# How long an accepted (SENT) message is polled for its delivery report: carriers settle within 72 hours.
DELIVERY_POLL_WINDOW = timedelta(days=3)

REASONS = {
    codes.NO_BALANCE: "문자 서비스 잔액 부족",
    codes.OPTED_OUT: "수신거부한 번호",
    codes.OPTED_OUT_080: "080 수신거부한 번호",
    codes.UNREGISTERED_SENDER: "등록되지 않은 발신번호",
    codes.NOT_KAKAO_USER: "카카오톡 미사용자",
    "3107": "알림톡을 받을 수 없는 사용자(차단 또는 수신 불가)",
    codes.OUTSIDE_ALIMTALK_WINDOW: "알림톡 발송 가능 시간이 아님",
    codes.INVALID_MESSAGE: "형식이 올바르지 않은 메시지",
    codes.TOO_LONG: "길이 제한을 넘은 메시지",
    OPTED_OUT_CODE: "수신거부 목록에 있는 번호",
    NOT_FOUND_CODE: "문자 서비스에 발송 기록이 없음",
    NO_CREDIT_CODE: "대체 문자를 보낼 크레딧 부족",
    JOB_FAILED_CODE: "발송 작업이 실패해 보내지 못함",
    PROVIDER_REFUSED_CODE: "문자 서비스가 요청을 거절함",
}
FALLBACK_NOTE = " — 문자로 대체 발송"


def reason_for(code: str, given: str = "") -> str:
    """A Korean reason for a provider code: ours when we know the code, else the provider's text."""
    reason = REASONS.get(code) or (given or "").strip() or "발송 실패"
    if code and code not in REASONS:
        reason = f"{reason} ({code})"
    return clip(reason, 200)


def clip(text: str, length: int) -> str:
    """Text a varchar can hold: NUL and lone surrogates replaced, at most `length` characters."""
    text = str(text or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:length]


def provider_recipient_id(row) -> str:
    """Our id for the row's current (or last) provider message: uid, or f"{uid}-sms" for the SMS fallback."""
    if row.fallback_type and row.sent_type == row.fallback_type:
        return f"{row.uid}{FALLBACK_SUFFIX}"
    return str(row.uid)


def parse_provider_recipient_id(value: object) -> tuple[uuid.UUID, bool] | None:
    """(uid, is_fallback) of an id we gave the provider, None for anything else."""
    if not isinstance(value, str) or len(value) > 60:
        return None
    is_fallback = value.endswith(FALLBACK_SUFFIX)
    try:
        return uuid.UUID(value[:-len(FALLBACK_SUFFIX)] if is_fallback else value), is_fallback
    except ValueError:
        return None


def price_of(profile: MessagingProfile, message_type: str) -> Decimal:
    return {MessageType.SMS: profile.price_sms, MessageType.LMS: profile.price_lms,
            MessageType.ATA: profile.price_ata}[message_type]


def charge_for(profile: MessagingProfile, *, sent_type: str, reserved: Decimal) -> Decimal:
    """The tenant's price of what went out, never more than the row holds: the reservation was the quote when the
    send was made, so a later price rise neither overdraws the ledger nor surprises the academy."""
    price = price_of(profile, sent_type)
    return min(price, reserved) if reserved is not None else price


def falls_back(*, type: str, fallback_type: str, sent_type: str, code: str) -> bool:
    """An AlimTalk (the row's first message) that failed for a reason an SMS can overcome."""
    return (type == MessageType.ATA and bool(fallback_type) and sent_type == MessageType.ATA
            and code in FALLBACK_CODES)


# ---------------------------------------------------------------------------------------------------- ledger

@dataclass(frozen=True)
class Movement:
    kind: str
    amount: Decimal  # positive; the sign follows the kind
    reference: str


_DEBITS = {CreditKind.RESERVE, CreditKind.CHARGE}


def ledger_write(*, tenant_id: int, movements: list[Movement], memo: str = "") -> None:
    """Write `movements` at once under the tenant's profile lock, inside the caller's transaction: zero amounts are
    skipped, a (reference, kind) already written is not written again, and InsufficientCreditError is raised (nothing
    written) when their sum would take the balance below zero. Two queries, three when the sum is a debit."""
    from apps.core.models import Tenant
    from apps.domains.messaging.services import InsufficientCreditError, messaging_profile_ensure

    movements = [m for m in movements if m.amount]
    if not movements:
        return
    if not MessagingProfile.objects.select_for_update().filter(tenant_id=tenant_id).values_list("id").exists():
        messaging_profile_ensure(tenant=Tenant(id=tenant_id))
        MessagingProfile.objects.select_for_update().filter(tenant_id=tenant_id).values_list("id").get()
    signed = [(m, -m.amount if m.kind in _DEBITS else m.amount) for m in movements]
    net = sum(amount for _, amount in signed)
    if net < 0:
        balance = CreditEntry.objects.filter(tenant_id=tenant_id).aggregate(total=Sum("amount"))["total"] or 0
        if balance + net < 0:
            raise InsufficientCreditError(details={"balance": str(balance), "needed": str(-net)})
    CreditEntry.objects.bulk_create(
        [CreditEntry(tenant_id=tenant_id, kind=m.kind, amount=amount, reference=m.reference, memo=memo)
         for m, amount in signed],
        ignore_conflicts=True,
    )


# ---------------------------------------------------------------------------------------------------- reports

@dataclass
class ReportsSummary:
    received: int = 0
    ignored: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    refunded: int = 0
    fallback: int = 0
    not_found: int = 0
    unknown: int = 0

    @property
    def changed(self) -> int:
        """Rows the reports moved."""
        return (self.sent + self.delivered + self.failed + self.refunded + self.fallback + self.not_found
                + self.unknown)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def reports_apply(reports: list[DeliveryReport], *, now: datetime | None = None,
                  provider_asked: bool = False) -> ReportsSummary:
    """Move the rows the reports are about, once: a repeated report, a report of another attempt of the row, or one
    about an id we never gave changes nothing. `provider_asked`: the reports answer our question (the reconciler),
    so UNKNOWN means the provider does not know the message — after MESSAGING_NOT_FOUND_SECONDS it is FAILED.

    Rows are locked for the transaction, so the send handler's guarded settle never records over them.
    """
    now = now or timezone.now()
    summary = ReportsSummary(received=len(reports))
    wanted: dict[uuid.UUID, list[DeliveryReport]] = {}
    for report in reports:
        parsed = parse_provider_recipient_id(report.recipient_id)
        if parsed is None:
            summary.ignored += 1
            continue
        wanted.setdefault(parsed[0], []).append(report)
    if not wanted:
        return summary
    not_found_before = now - timedelta(seconds=settings.MESSAGING_NOT_FOUND_SECONDS)
    fallback_sends: dict[int, int] = {}
    with transaction.atomic():
        rows = list(MessageRecipient.objects.select_for_update().filter(uid__in=list(wanted)).order_by("id"))
        profiles = {p.tenant_id: p for p in MessagingProfile.objects.filter(tenant_id__in={r.tenant_id for r in rows})}
        changed: list[MessageRecipient] = []
        movements: dict[int, list[Movement]] = {}
        matched = 0
        for row in rows:
            pid = provider_recipient_id(row)
            for report in wanted[row.uid]:
                if report.recipient_id != pid:
                    continue  # about another attempt of the row (the AlimTalk once its SMS fallback went out)
                matched += 1
                outcome = _apply_one(row, report, profile=profiles.get(row.tenant_id), now=now,
                                     not_found_before=not_found_before if provider_asked else None)
                if outcome is None:
                    continue
                label, credit = outcome
                setattr(summary, label, getattr(summary, label) + 1)
                changed.append(row)
                movements.setdefault(row.tenant_id, []).extend(credit)
                if label == "fallback":
                    fallback_sends[row.send_id] = row.tenant_id
        summary.ignored = len(reports) - matched
        if changed:
            MessageRecipient.objects.bulk_update(changed, [
                "status", "sent_type", "provider_message_id", "provider_code", "reason", "charged_amount", "batch",
                "sent_at", "delivered_at", "updated_at"])
        for tenant_id, tenant_movements in movements.items():
            ledger_write(tenant_id=tenant_id, movements=tenant_movements, memo="발송 결과 반영")
        if fallback_sends:
            message_send_dispatch(sends=fallback_sends)
    if changed:
        logger.info("message_reports_applied", extra={"summary": summary.as_dict(), "provider_asked": provider_asked})
    return summary


def _apply_one(row: MessageRecipient, report: DeliveryReport, *, profile: MessagingProfile | None, now: datetime,
               not_found_before: datetime | None) -> tuple[str, list[Movement]] | None:
    """Change `row` in memory for `report`; (summary label, ledger movements), or None when nothing changes."""
    pid = provider_recipient_id(row)
    reference = f"recipient:{pid}"
    state = report.state
    row.updated_at = now
    if row.status in (RecipientStatus.SENDING, RecipientStatus.UNKNOWN):
        release = Movement(CreditKind.RELEASE, row.reserved_amount or Decimal(0), reference)
        if state in ("SENT", "DELIVERED"):
            charged = charge_for(profile, sent_type=row.sent_type, reserved=row.reserved_amount) if profile else 0
            row.status = RecipientStatus.DELIVERED if state == "DELIVERED" else RecipientStatus.SENT
            row.provider_message_id = clip(report.provider_message_id, 64) or row.provider_message_id
            row.provider_code = clip(report.code, 10)
            row.reason = ""
            row.charged_amount = charged
            row.sent_at = row.sent_at or now
            if state == "DELIVERED":
                row.delivered_at = now
            return ("delivered" if state == "DELIVERED" else "sent"), [
                release, Movement(CreditKind.CHARGE, Decimal(charged), reference)]
        if state == "FAILED":
            return _fail(row, report, now=now), [release]
        if not_found_before is not None and (row.sending_at or row.updated_at) < not_found_before:
            row.status = RecipientStatus.FAILED
            row.provider_code = NOT_FOUND_CODE
            row.reason = reason_for(NOT_FOUND_CODE)
            return "not_found", [release]
        if row.status == RecipientStatus.SENDING and not_found_before is not None:
            # Asked and not known (yet): its worker is gone, so the row waits as UNKNOWN for a later answer.
            row.status = RecipientStatus.UNKNOWN
            return "unknown", []
        return None
    if row.status == RecipientStatus.SENT:
        if state == "DELIVERED":
            row.status = RecipientStatus.DELIVERED
            row.delivered_at = now
            row.provider_code = clip(report.code, 10)
            return "delivered", []
        if state == "FAILED":
            refund = Movement(CreditKind.REFUND, row.charged_amount or Decimal(0), f"recipient:{pid}")
            row.charged_amount = Decimal(0)
            label = _fail(row, report, now=now)
            return ("fallback" if label == "fallback" else "refunded"), [refund]
    return None


def _fail(row: MessageRecipient, report: DeliveryReport, *, now: datetime) -> str:
    code = clip(report.code, 10)
    row.provider_message_id = clip(report.provider_message_id, 64) or row.provider_message_id
    row.provider_code = code
    if falls_back(type=row.type, fallback_type=row.fallback_type, sent_type=row.sent_type, code=code):
        # Due for its SMS fallback: PENDING again, `sent_type` still ATA, holding no credit until it is claimed.
        row.status = RecipientStatus.PENDING
        row.reason = clip(reason_for(code, report.reason) + FALLBACK_NOTE, 200)
        row.batch = None
        return "fallback"
    row.status = RecipientStatus.FAILED
    row.reason = reason_for(code, report.reason)
    return "failed"


# ---------------------------------------------------------------------------------------------------- dispatch

def message_send_dispatch(*, sends: dict[int, int], key: str | None = None) -> None:
    """Submit a message_send job for each send ({send id: tenant id}); inside a transaction it goes on commit."""
    from apps.core.models import Tenant
    from apps.jobs.services import job_submit

    tenants = Tenant.objects.in_bulk(set(sends.values()))
    for send_id, tenant_id in sends.items():
        job_submit(tenant=tenants[tenant_id], kind="message_send", payload={"send_id": send_id},
                   idempotency_key=f"send:{send_id}:{key}" if key else None)


def dispatch_held_messages(*, now: datetime | None = None) -> dict:
    """Periodic (the scheduler, every 30 s): a new message_send job for each send that has due PENDING recipients
    and no job queued or running — held recipients whose `not_before` came, an SMS fallback whose job was lost.
    The idempotency key names the latest due moment, so each wave goes out once."""
    from django.db.models import Max, Q
    from django.db.models.functions import Coalesce

    from apps.jobs.models import Job, JobState

    now = now or timezone.now()
    settled = now - timedelta(seconds=settings.MESSAGING_SENDING_STALE_SECONDS)
    due = (MessageRecipient.objects
           .filter(Q(not_before__lte=now) | Q(not_before__isnull=True, updated_at__lte=settled),
                   status=RecipientStatus.PENDING, send__status__in=[SendStatus.SENDING, SendStatus.DONE])
           .values("send_id", "tenant_id").annotate(latest=Max(Coalesce("not_before", "updated_at")))
           .order_by("send_id")[:200])
    submitted = 0
    for wave in due:
        active = Job.objects.filter(kind="message_send", state__in=[JobState.QUEUED, JobState.RUNNING],
                                    payload__send_id=wave["send_id"]).exists()
        if active:
            continue
        message_send_dispatch(sends={wave["send_id"]: wave["tenant_id"]}, key=wave["latest"].isoformat())
        submitted += 1
    return {"submitted": submitted}
