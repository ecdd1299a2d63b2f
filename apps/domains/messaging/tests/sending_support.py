"""What the send tests share. For send_create and the sends API: a tenant ready to send (verified sender, 080
number, credit) and its students. For the send handler, reconciler and webhook tests: sends made as send_create
makes them (recipient rows PENDING with their reservation, one RESERVE entry after a TOP_UP), a context that records
progress, the fake Solapi and the ledger's invariants."""

import datetime as dt
import itertools
import json
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.domains.messaging.models import (
    CreditEntry,
    CreditKind,
    MessageRecipient,
    MessageSend,
    MessageTemplate,
    MessagingProfile,
    RecipientStatus,
    SendMode,
    TemplateChannel,
    TemplateReviewStatus,
)
from apps.domains.messaging.selectors import credit_balance
from apps.domains.messaging.services import (
    credit_grant,
    credit_reserve,
    messaging_profile_ensure,
    messaging_profile_update,
)
from apps.jobs.models import Job, JobState

KST = ZoneInfo("Asia/Seoul")
# A Tuesday afternoon in Seoul: outside the ad night and any quiet hours the tests set.
NOON = dt.datetime(2026, 11, 24, 14, 0, tzinfo=KST)


def kst(hour: int, minute: int = 0, day: int = 24) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=KST)


def ready(tenant, *, credit: Decimal | str | None = "100000", **profile_fields) -> MessagingProfile:
    """The tenant's profile with a verified sender and an 080 number, and `credit` won on its ledger."""
    profile = messaging_profile_ensure(tenant=tenant)
    fields = {"sender_number": "01000000000", "sender_verified_at": timezone.now(),
              "opt_out_number": "080-123-4567", "kakao_channel_id": "@academy", **profile_fields}
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save()
    if credit:
        credit_grant(tenant=tenant, amount=Decimal(credit))
    return profile


def alimtalk_template(tenant, body="#{학생이름} 학생이 오늘 결석했습니다.", **fields) -> MessageTemplate:
    values = {"name": "결석 알림", "channel": "alimtalk", "category": "attendance", "body": body,
              "provider_template_id": "KA01TP0001", "review_status": "APPROVED", **fields}
    return MessageTemplate.objects.create(tenant=tenant, **values)


@pytest.fixture
def sender(tenant):
    return ready(tenant)


SENDER = "0212345678"  # ACTIVE at the fake Solapi
TOP_UP = Decimal("100000")
PRICES = {"SMS": Decimal("20.00"), "LMS": Decimal("50.00"), "ATA": Decimal("15.00")}
_phones = itertools.count(10_000_001)


def new_phone() -> str:
    return f"010{next(_phones):08d}"


class StubContext:
    """The JobContext a handler gets, without the worker's API calls."""

    def __init__(self, attempt: int = 1):
        self.attempt = attempt
        self.progress_calls: list[tuple[int, str]] = []
        self.stop_requested = False

    def progress(self, percent: int, stage: str = "") -> None:
        self.progress_calls.append((percent, stage))

    def heartbeat(self) -> None:
        pass


def prepare_tenant(tenant, *, top_up: Decimal = TOP_UP) -> None:
    messaging_profile_update(tenant=tenant, data={
        "sender_number": SENDER, "kakao_channel_id": "@academy", "price_sms": PRICES["SMS"],
        "price_lms": PRICES["LMS"], "price_ata": PRICES["ATA"]})
    credit_grant(tenant=tenant, amount=top_up, memo="test top-up")


def make_send(tenant, *, count: int = 3, type: str = "SMS", fallback_type: str = "",
              phones: list[str] | None = None, not_before=None, text: str = "내일 수업은 휴강입니다.",
              reserve_each: Decimal | None = None) -> MessageSend:
    """A send as send_create leaves it: QUEUED, its rows PENDING with their reservation, one RESERVE entry."""
    mode = {"SMS": SendMode.SMS, "LMS": SendMode.SMS, "ATA": SendMode.ALIMTALK_THEN_SMS if fallback_type
            else SendMode.ALIMTALK}[type]
    template = None
    if type == "ATA":
        template = MessageTemplate.objects.create(
            tenant=tenant, name=f"안내 {next(_phones)}", channel=TemplateChannel.ALIMTALK, body=text,
            provider_template_id="TPL_APPROVED", review_status=TemplateReviewStatus.APPROVED)
    phones = phones or [new_phone() for _ in range(count)]
    if reserve_each is None:
        reserve_each = max(PRICES[type], PRICES.get(fallback_type, Decimal(0)))
    send = MessageSend.objects.create(tenant=tenant, mode=mode, template=template, body=text,
                                      recipient_count=len(phones), estimated_cost=reserve_each * len(phones))
    MessageRecipient.objects.bulk_create([
        MessageRecipient(tenant=tenant, send=send, role="parent", phone=phone, text=text, type=type,
                         fallback_type=fallback_type, variables={"학생이름": "김민준"} if type == "ATA" else {},
                         not_before=not_before, reserved_amount=reserve_each,
                         subject="안내" if type == "LMS" else "")
        for phone in phones])
    credit_reserve(tenant=tenant, amount=reserve_each * len(phones), reference=send.credit_reference)
    return send


def make_job(send: MessageSend) -> Job:
    return Job.objects.create(tenant_id=send.tenant_id, kind="message_send", payload={"send_id": send.id},
                              state=JobState.RUNNING, attempts=1)


def run_handler(job: Job, ctx: StubContext | None = None) -> dict:
    """As a worker runs it: the job loaded afresh, its payload through JSON as a queue message carries it."""
    from apps.domains.messaging.handlers import message_send

    job = Job.objects.get(id=job.id)
    job.payload = json.loads(json.dumps(job.payload))
    return message_send(job, ctx or StubContext())


def rows(send: MessageSend) -> list[MessageRecipient]:
    return list(MessageRecipient.objects.filter(send=send).order_by("id"))


def statuses(send: MessageSend) -> Counter:
    return Counter(MessageRecipient.objects.filter(send=send).values_list("status", flat=True))


def sent_ids(fake) -> Counter:
    """How many times each recipient id reached the fake Solapi."""
    return Counter(message["customFields"]["recipientId"] for request in fake.sends
                   for message in (request.body or {}).get("messages", []))


def entries(tenant, kind: str) -> Decimal:
    return CreditEntry.objects.filter(tenant=tenant, kind=kind).aggregate(s=Sum("amount"))["s"] or Decimal(0)


def assert_ledger_consistent(tenant, *, settled: bool = True) -> None:
    """The balance is the sum of the entries and never negative; once every row is settled, each reservation was
    released or charged exactly, and charges minus refunds are what the rows say they cost."""
    total = CreditEntry.objects.filter(tenant=tenant).aggregate(s=Sum("amount"))["s"]
    assert credit_balance(tenant=tenant) == total >= 0
    if settled:
        held = MessageRecipient.objects.filter(tenant=tenant, status__in=[
            RecipientStatus.PENDING, RecipientStatus.SENDING, RecipientStatus.UNKNOWN])
        assert not held.exists(), list(held.values_list("status", flat=True))
        assert entries(tenant, CreditKind.RESERVE) + entries(tenant, CreditKind.RELEASE) == 0
        cost = MessageRecipient.objects.filter(tenant=tenant).aggregate(s=Sum("charged_amount"))["s"] or 0
        assert -(entries(tenant, CreditKind.CHARGE) + entries(tenant, CreditKind.REFUND)) == cost
