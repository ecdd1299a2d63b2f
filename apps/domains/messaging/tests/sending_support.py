"""Fixtures of the send tests: a tenant ready to send (verified sender, 080 number, credit) and its students."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.domains.messaging.models import MessageTemplate, MessagingProfile
from apps.domains.messaging.services import credit_grant, messaging_profile_ensure

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

