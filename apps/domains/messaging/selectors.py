"""Reads of the messaging profile, the credit ledger and the catalog (ARCHITECTURE §4 Messaging)."""

import datetime as dt
from decimal import Decimal

from django.db.models import BooleanField, Case, F, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from apps.core.models import Tenant
from apps.domains.messaging import rules
from apps.domains.messaging.models import (
    AutoNoticeSetting,
    CreditEntry,
    MessageConsent,
    MessageOptOut,
    MessageTemplate,
    NoticeKind,
)


def credit_balance(*, tenant: Tenant) -> Decimal:
    total = CreditEntry.objects.for_tenant(tenant).aggregate(total=Sum("amount"))["total"]
    return total if total is not None else Decimal("0.00")


def credit_entry_list(*, tenant: Tenant | None) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id")


# ---------------------------------------------------------------------------------------------------- catalog

def message_template_list(*, tenant: Tenant | None) -> QuerySet[MessageTemplate]:
    """Live (not deleted) templates."""
    return (MessageTemplate.objects.filter(tenant=tenant, deleted_at__isnull=True).select_related("created_by")
            .order_by("name", "id"))


def consent_anchor(consent: MessageConsent, now: dt.datetime) -> dt.datetime:
    """The moment a consent's two years run from: its grant, or a later reconfirmation already past."""
    if consent.reconfirmed_at is not None and consent.granted_at < consent.reconfirmed_at <= now:
        return consent.reconfirmed_at
    return consent.granted_at


def consent_expires_on(consent: MessageConsent, now: dt.datetime) -> dt.date:
    return rules.consent_last_day(consent_anchor(consent, now).astimezone(rules.KST).date())


def consent_is_valid(consent: MessageConsent, now: dt.datetime) -> bool:
    """Not withdrawn, and within two years of its grant or reconfirmation (rules.consent_valid)."""
    return consent.withdrawn_at is None and rules.consent_valid(consent.granted_at, consent.reconfirmed_at, now)


def consent_earliest_valid_anchor(now: dt.datetime) -> dt.datetime:
    """The earliest moment (KST midnight) a grant or reconfirmation may have been and still count at `now`: the
    first day whose rules.consent_last_day is today or later."""
    today = now.astimezone(rules.KST).date()
    day = dt.date(today.year - rules.CONSENT_YEARS, today.month, min(today.day, 28))
    # Walk to the exact boundary with the (non-decreasing) rule itself, so the query and the rule cannot disagree.
    while rules.consent_last_day(day) < today:
        day += dt.timedelta(days=1)
    while rules.consent_last_day(day - dt.timedelta(days=1)) >= today:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=rules.KST)


def consent_valid_condition(now: dt.datetime) -> Q:
    """consent_is_valid as a query condition."""
    cutoff = consent_earliest_valid_anchor(now)
    reconfirmed = Q(reconfirmed_at__isnull=False, reconfirmed_at__gt=F("granted_at"), reconfirmed_at__lte=now,
                    reconfirmed_at__gte=cutoff)
    return Q(withdrawn_at__isnull=True, granted_at__lte=now) & (Q(granted_at__gte=cutoff) | reconfirmed)


def message_consent_list(*, tenant: Tenant | None, now: dt.datetime | None = None,
                         valid: bool | None = None) -> QuerySet[MessageConsent]:
    consents = MessageConsent.objects.filter(tenant=tenant).select_related("student", "recorded_by")
    if valid is not None:
        consents = consents.annotate(is_valid=Case(
            When(consent_valid_condition(now or timezone.now()), then=Value(True)),
            default=Value(False), output_field=BooleanField()))
        consents = consents.filter(is_valid=valid)
    return consents.order_by("-granted_at", "-id")


def message_opt_out_list(*, tenant: Tenant | None) -> QuerySet[MessageOptOut]:
    return MessageOptOut.objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id")


def auto_notice_setting_list(*, tenant: Tenant) -> list[AutoNoticeSetting]:
    """One setting per kind, in NoticeKind order; a kind never set is an unsaved default (off, no template)."""
    saved = {s.kind: s for s in AutoNoticeSetting.objects.for_tenant(tenant).select_related("template")}
    return [saved.get(kind) or AutoNoticeSetting(tenant=tenant, kind=kind) for kind in NoticeKind.values]


# ---------------------------------------------------------------------------------------------------- outbox

def outbox_messages_of_send(*, send) -> QuerySet:
    """What the embedded provider stored for a send's recipients (their AlimTalk and any SMS fallback), newest
    first. The outbox is keyed by our recipient id only, so the send (already tenant-checked) scopes it."""
    from apps.domains.messaging.delivery import FALLBACK_SUFFIX
    from apps.integrations.models import OutboxMessage

    uids = [str(uid) for uid in send.recipients.values_list("uid", flat=True)]
    return OutboxMessage.objects.filter(
        recipient_id__in=uids + [f"{uid}{FALLBACK_SUFFIX}" for uid in uids]).order_by("-id")
