"""The outbox adapter beyond the shared contract: at most one row per recipient id, delivery after a delay, the
reserved failing numbers, and the admin page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.integrations import message_rules as rules
from apps.integrations.messaging import OutgoingMessage
from apps.integrations.messaging.outbox import OutboxProvider
from apps.integrations.models import OutboxMessage

pytestmark = pytest.mark.django_db


def sms(recipient_id: str, *, to: str = "010-1234-5678", text: str = "출석 안내") -> OutgoingMessage:
    return OutgoingMessage(recipient_id=recipient_id, to=to, sender="02-1234-5678", type="SMS", text=text)


def test_a_second_send_of_a_recipient_id_returns_the_first_outcome_and_stores_no_second_row():
    provider = OutboxProvider()
    [first] = provider.send_many([sms("r1", text="첫 번째")])

    [again] = provider.send_many([sms("r1", text="두 번째")])

    assert again == first
    assert list(OutboxMessage.objects.values_list("recipient_id", "text")) == [("r1", "첫 번째")]


def test_a_row_keeps_what_would_have_been_sent():
    OutboxProvider().send_many([OutgoingMessage("r1", "010-1234-5678", "02-1234-5678", "LMS", "본문", subject="제목")])

    row = OutboxMessage.objects.get()
    assert (row.to, row.sender, row.type, row.text, row.subject, row.status_code, row.delivered_at) == (
        "01012345678", "0212345678", "LMS", "본문", "제목", rules.ACCEPTED, None)
    assert row.provider_message_id.startswith("OBX")


def test_delivery_is_reported_once_the_delay_has_passed(settings):
    settings.MESSAGING_OUTBOX_DELIVERY_SECONDS = 2
    provider = OutboxProvider()
    provider.send_many([sms("fresh"), sms("old")])
    OutboxMessage.objects.filter(recipient_id="old").update(created_at=timezone.now() - timedelta(seconds=3))

    reports = provider.reports(["fresh", "old"])

    assert {i: r.state for i, r in reports.items()} == {"fresh": "SENT", "old": "DELIVERED"}
    assert OutboxMessage.objects.get(recipient_id="old").delivered_at is not None
    assert OutboxMessage.objects.get(recipient_id="fresh").delivered_at is None


def test_the_reserved_failing_range_fails_sms_as_opted_out_and_nothing_else_fails():
    outcomes = OutboxProvider().send_many([sms("fail", to="010-9999-0042"), sms("ok", to="010-9999-1042")])

    assert [(o.accepted, o.code) for o in outcomes] == [(False, rules.OPTED_OUT), (True, rules.ACCEPTED)]
    assert OutboxProvider().reports(["fail"])["fail"].state == "FAILED"


def test_the_admin_lists_outbox_rows_with_masked_phones_and_allows_no_change(admin_client_django):
    OutboxProvider().send_many([sms("r1")])

    listing = admin_client_django.get(reverse("admin:integrations_outboxmessage_changelist"))
    add = admin_client_django.get(reverse("admin:integrations_outboxmessage_add"))

    assert listing.status_code == 200
    assert "010****5678" in listing.content.decode()
    assert "01012345678" not in listing.content.decode()
    assert add.status_code == 403


@pytest.fixture
def admin_client_django(client):
    """The Django admin, logged in as an operator (a superuser without a tenant)."""
    from apps.core.models import User

    client.force_login(User.objects.create_superuser(username="operator", password="pw-12345678"))
    return client
