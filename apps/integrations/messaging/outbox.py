"""ARCHITECTURE §3 messaging provider, embedded adapter: sends are rows of OutboxMessage, refused by the same rules
the fake Solapi server applies, and reported DELIVERED MESSAGING_OUTBOX_DELIVERY_SECONDS after they were taken."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.integrations import message_rules as rules
from apps.integrations.messaging import (
    DeliveryReport,
    MessageProvider,
    OutgoingMessage,
    SendOutcome,
    in_send_batches,
)
from apps.integrations.models import OutboxMessage

# 010-9999-00xx never reaches anyone: a message to it fails, so a newcomer sees a failure without an account.
# AlimTalk fails as "not a KakaoTalk user" (what falls back to SMS), SMS and LMS as "opted out".
FAILING_NUMBERS = re.compile(r"^010999900\d{2}$")
# The outbox charges nothing; a balance large enough never to refuse a demo send.
OUTBOX_BALANCE = Decimal("1000000")
# A landline or mobile (0 + 8 to 10 digits) or a 15xx/16xx/18xx representative number.
_SENDER_NUMBER = re.compile(r"^(?:0\d{8,10}|1[568]\d{6})$")


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def _failing_code(message: OutgoingMessage) -> str | None:
    if not FAILING_NUMBERS.match(_digits(message.to)):
        return None
    return rules.NOT_KAKAO_USER if message.type == "ATA" else rules.OPTED_OUT


def _answer(message: OutgoingMessage) -> tuple[str, str]:
    violation = rules.message_rule_violation(type=message.type, text=message.text, subject=message.subject,
                                             has_kakao_options=message.kakao is not None)
    if violation:
        return violation
    if not _SENDER_NUMBER.match(_digits(message.sender)):
        return rules.UNREGISTERED_SENDER, "sender number not registered"
    if failing := _failing_code(message):
        return failing, "reserved failing number (outbox)"
    return rules.ACCEPTED, ""


def _row(message: OutgoingMessage) -> OutboxMessage:
    code, reason = _answer(message)
    kakao = None
    if message.kakao is not None:
        kakao = {"pfId": message.kakao.pf_id, "templateId": message.kakao.template_id,
                 "variables": dict(message.kakao.variables)}
    return OutboxMessage(
        recipient_id=message.recipient_id, to=_digits(message.to), sender=_digits(message.sender), type=message.type,
        text=message.text, subject=message.subject, kakao=kakao,
        provider_message_id=f"OBX{uuid.uuid4().hex[:24].upper()}", status_code=code, reason=reason,
    )


def _outcome(row: OutboxMessage) -> SendOutcome:
    return SendOutcome(recipient_id=row.recipient_id, accepted=row.status_code == rules.ACCEPTED,
                       provider_message_id=row.provider_message_id, code=row.status_code, reason=row.reason)


class OutboxProvider(MessageProvider):
    def send_many(self, messages):
        outcomes: list[SendOutcome] = []
        for batch in in_send_batches(list(messages)):
            outcomes += self._send_batch(batch)
        return outcomes

    def _send_batch(self, batch: list[OutgoingMessage]) -> list[SendOutcome]:
        # ignore_conflicts: a recipient id already stored keeps its first row, even when two sends race.
        with transaction.atomic():
            OutboxMessage.objects.bulk_create([_row(m) for m in batch], ignore_conflicts=True)
        stored = {row.recipient_id: row for row in
                  OutboxMessage.objects.filter(recipient_id__in=[m.recipient_id for m in batch])}
        return [_outcome(stored[m.recipient_id]) for m in batch]

    def reports(self, recipient_ids):
        ids = list(dict.fromkeys(recipient_ids))
        due = timezone.now() - timedelta(seconds=settings.MESSAGING_OUTBOX_DELIVERY_SECONDS)
        OutboxMessage.objects.filter(recipient_id__in=ids, status_code=rules.ACCEPTED, delivered_at__isnull=True,
                                     created_at__lte=due).update(delivered_at=timezone.now())
        rows = {row.recipient_id: row for row in OutboxMessage.objects.filter(recipient_id__in=ids)}
        return {i: _report(i, rows.get(i)) for i in ids}

    def balance(self):
        return OUTBOX_BALANCE

    def sender_number_status(self, number):
        return "APPROVED" if _SENDER_NUMBER.match(_digits(number)) else "NOT_REGISTERED"

    def template_status(self, template_id):
        return "APPROVED" if template_id.strip() else "NOT_FOUND"


def _report(recipient_id: str, row: OutboxMessage | None) -> DeliveryReport:
    if row is None:
        return DeliveryReport(recipient_id, "", "UNKNOWN", "", "not in the outbox")
    if row.status_code != rules.ACCEPTED:
        return DeliveryReport(recipient_id, row.provider_message_id, "FAILED", row.status_code, row.reason)
    if row.delivered_at is None:
        return DeliveryReport(recipient_id, row.provider_message_id, "SENT", row.status_code, "")
    return DeliveryReport(recipient_id, row.provider_message_id, "DELIVERED", rules.DELIVERED, "")
