"""ARCHITECTURE §4 Messaging, retention: a send's bodies and full phone numbers are kept MESSAGING_RETENTION_DAYS
(180 by default, as the provider keeps its history), then masked by the hourly `mask_expired_messages` task.

What stays is what an operator still needs: statuses, provider codes and ids, costs, the recipient uid (the
reconciler asks the provider by it) and the phone as `010****5678`, which still tells two parents apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Value, When
from django.db.models.functions import Coalesce, Concat, Left, Length, Right
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from apps.domains.messaging.models import MessageRecipient, MessageSend, RecipientStatus, SendStatus
from apps.integrations.models import OutboxMessage

# What a masked row's text reads in the admin and the recipients API.
EXPIRED_TEXT = "(보관 기간 만료)"
# Only a send that can no longer change is masked: a scheduled, queued or sending one still needs its texts, and so
# does a finished one with a row still to send or settle (held rows, an SMS fallback, an UNKNOWN row).
_FINISHED = [SendStatus.DONE, SendStatus.CANCELLED, SendStatus.FAILED]
_UNSETTLED = [RecipientStatus.PENDING, RecipientStatus.SENDING, RecipientStatus.UNKNOWN]
# Sends per pass: one pass of one statement per table, whatever the number of recipients of each send.
DEFAULT_SEND_LIMIT = 500
# Outbox rows per pass (the embedded provider of `make run`: one row per message).
DEFAULT_OUTBOX_LIMIT = 20_000


@dataclass(frozen=True)
class MaskResult:
    sends: int
    recipients: int
    outbox: int


def masked_phone_sql(field: str):
    """01012345678 → 010****5678 in SQL, the form `mask_phone` logs: 11 characters, so it fits the 11-digit
    column; masking a masked value gives it back unchanged, so a pass that runs twice changes nothing."""
    return Case(
        When(GreaterThanOrEqual(Length(field), 8),
             then=Concat(Left(field, 3), Value("****"), Right(field, 4), output_field=CharField())),
        default=Value("****"),
        output_field=CharField(),
    )


def messages_mask_expired(*, now: datetime | None = None, limit: int = DEFAULT_SEND_LIMIT,
                          outbox_limit: int = DEFAULT_OUTBOX_LIMIT) -> MaskResult:
    """Masks up to `limit` finished sends older than the retention period (by finished_at, else created_at) with
    all their recipients, and up to `outbox_limit` outbox rows older than it. Bulk UPDATEs, a constant number of
    queries per pass; the scheduler runs it every hour, so a backlog drains over a few passes."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.MESSAGING_RETENTION_DAYS)
    with transaction.atomic():
        send_ids = list(
            MessageSend.objects.filter(masked_at__isnull=True, status__in=_FINISHED)
            .annotate(ended_at=Coalesce(F("finished_at"), F("created_at")))
            .filter(ended_at__lt=cutoff)
            .exclude(Exists(MessageRecipient.objects.filter(send_id=OuterRef("id"), status__in=_UNSETTLED)))
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        recipients = 0
        sends = 0
        if send_ids:
            # updated_at is left as it was: masking is not a change of the message's state.
            recipients = MessageRecipient.objects.filter(send_id__in=send_ids).update(
                phone=masked_phone_sql("phone"), text=EXPIRED_TEXT, subject="", variables={},
            )
            sends = MessageSend.objects.filter(id__in=send_ids, masked_at__isnull=True).update(body="", masked_at=now)
        outbox_ids = list(
            OutboxMessage.objects.filter(created_at__lt=cutoff)
            .exclude(to__contains="*")
            .order_by("id")
            .values_list("id", flat=True)[:outbox_limit]
        )
        outbox = 0
        if outbox_ids:
            outbox = OutboxMessage.objects.filter(id__in=outbox_ids).update(
                to=masked_phone_sql("to"), text=EXPIRED_TEXT, subject="", kakao=None,
            )
    return MaskResult(sends=sends, recipients=recipients, outbox=outbox)


def mask_expired_messages() -> MaskResult:
    """The scheduler's periodic task (apps.py): one bounded pass with the defaults."""
    return messages_mask_expired()

