"""ARCHITECTURE §4 Messaging, reconciliation: the periodic task that settles what sending could not know.

- SENDING rows older than MESSAGING_SENDING_STALE_SECONDS (their worker died between the claim and the record) and
  UNKNOWN rows (a timeout, a 5xx, a lost answer) are asked about by our id: what the provider took becomes SENT or
  DELIVERED and is charged once, what it refused FAILED and released; what it still does not know after
  MESSAGING_NOT_FOUND_SECONDS is FAILED NOT_FOUND and released. Nothing is ever resent from here.
- SENT rows are polled for their delivery (DELIVERY_POLL_WINDOW): DELIVERED, or FAILED with the charge refunded
  (and the SMS fallback of a failed AlimTalk queued).

Rows asked about are touched (`updated_at`), so each run asks about the ones asked least recently, `limit` at most.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.domains.messaging import delivery
from apps.domains.messaging.models import MessageRecipient, RecipientStatus
from apps.integrations.messaging import MessageProvider, ProviderError, get_message_provider

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 500


def reconcile_candidates(*, now: datetime, limit: int) -> tuple[list[MessageRecipient], list[MessageRecipient]]:
    """(unsettled rows: stale SENDING and UNKNOWN, SENT rows awaiting delivery), least recently asked first."""
    stale = now - timedelta(seconds=settings.MESSAGING_SENDING_STALE_SECONDS)
    unsettled = list(MessageRecipient.objects.filter(
        Q(status=RecipientStatus.SENDING, sending_at__lt=stale) | Q(status=RecipientStatus.UNKNOWN),
    ).order_by("updated_at", "id")[:limit])
    sent = list(MessageRecipient.objects.filter(
        status=RecipientStatus.SENT, sent_at__gte=now - delivery.DELIVERY_POLL_WINDOW, updated_at__lt=stale,
    ).order_by("updated_at", "id")[:max(0, limit - len(unsettled))])
    return unsettled, sent


def messages_reconcile(*, now: datetime | None = None, limit: int = DEFAULT_LIMIT, dry_run: bool = False,
                       provider: MessageProvider | None = None) -> dict:
    """Ask the provider about the rows above and apply its answers; returns a summary. `dry_run`: count only."""
    now = now or timezone.now()
    unsettled, sent = reconcile_candidates(now=now, limit=limit)
    summary = {"unsettled": len(unsettled), "awaiting_delivery": len(sent)}
    rows = unsettled + sent
    if dry_run or not rows:
        return summary
    ids = [delivery.provider_recipient_id(row) for row in rows]
    try:
        reports = (provider or get_message_provider()).reports(ids)
    except ProviderError as exc:
        logger.warning("messages_reconcile_provider_error", extra={"error_code": exc.code, "rows": len(rows)})
        return {**summary, "error": "provider_unavailable"}
    applied = delivery.reports_apply([reports[i] for i in ids if i in reports], now=now, provider_asked=True)
    # Asked: to the back of the line, so the next run asks about others first.
    MessageRecipient.objects.filter(id__in=[r.id for r in rows], status__in=[
        RecipientStatus.SENT, RecipientStatus.UNKNOWN, RecipientStatus.SENDING]).update(updated_at=now)
    summary.update(applied.as_dict())
    logger.info("messages_reconciled", extra={"summary": summary})
    return summary


def messages_reconcile_task() -> dict:
    """The scheduler's periodic entry (every 60 s)."""
    return messages_reconcile()
