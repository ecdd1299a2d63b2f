"""Retention: after MESSAGING_RETENTION_DAYS a finished send's bodies and full phone numbers are masked, and so are
the outbox's rows; before it nothing changes. The clock is the `now` the service is given."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string

from apps.domains.messaging.models import MessageRecipient, MessageSend, MessageType, RecipientStatus, SendStatus
from apps.domains.messaging.retention import EXPIRED_TEXT, MaskResult, messages_mask_expired
from apps.integrations.models import OutboxMessage
from apps.jobs.scheduler import all_periodic

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def make_send(tenant):
    def make(*, finished_days_ago: float | None, created_days_ago: float = 200, recipients: int = 1,
             status: str = SendStatus.DONE) -> MessageSend:
        send = MessageSend.objects.create(tenant=tenant, body="#{학생이름} 학생이 결석했습니다.", status=status,
                                          recipient_count=recipients)
        MessageSend.objects.filter(id=send.id).update(
            created_at=NOW - timedelta(days=created_days_ago),
            finished_at=None if finished_days_ago is None else NOW - timedelta(days=finished_days_ago),
        )
        MessageRecipient.objects.bulk_create([
            MessageRecipient(tenant=tenant, send=send, role="parent", phone=f"010{i:08d}",
                             text=f"김민준{i} 학생이 결석했습니다.", subject="결석 안내", type=MessageType.LMS,
                             variables={"학생이름": f"김민준{i}"}, status=RecipientStatus.DELIVERED,
                             provider_code="4000", provider_message_id=f"M{i}")
            for i in range(recipients)
        ])
        send.refresh_from_db()
        return send

    return make


def outbox_row(recipient_id: str, *, days_ago: float, to: str = "01012345678") -> OutboxMessage:
    row = OutboxMessage.objects.create(recipient_id=recipient_id, to=to, sender="0255550100", type="ATA",
                                       text="김민준 학생이 결석했습니다.", subject="", status_code="2000",
                                       kakao={"pfId": "PF", "templateId": "T", "variables": {"학생이름": "김민준"}},
                                       provider_message_id=f"OBX{recipient_id}")
    OutboxMessage.objects.filter(id=row.id).update(created_at=NOW - timedelta(days=days_ago))
    return row


def test_a_send_finished_more_than_180_days_ago_is_masked(make_send, settings):
    # Given the default retention and a send that finished 181 days ago
    assert settings.MESSAGING_RETENTION_DAYS == 180
    send = make_send(finished_days_ago=181, recipients=2)

    # When the task runs
    result = messages_mask_expired(now=NOW)

    # Then the send's body is gone, its recipients keep a masked phone only, and everything else stays
    assert result == MaskResult(sends=1, recipients=2, outbox=0)
    send.refresh_from_db()
    assert (send.body, send.masked_at) == ("", NOW)
    rows = list(send.recipients.order_by("id").values("phone", "text", "subject", "variables", "status",
                                                       "provider_code", "provider_message_id"))
    assert rows == [
        {"phone": "010****0000", "text": EXPIRED_TEXT, "subject": "", "variables": {}, "status": "DELIVERED",
         "provider_code": "4000", "provider_message_id": "M0"},
        {"phone": "010****0001", "text": EXPIRED_TEXT, "subject": "", "variables": {}, "status": "DELIVERED",
         "provider_code": "4000", "provider_message_id": "M1"},
    ]


def test_a_send_within_the_period_is_left_alone(make_send):
    # Given a send created 200 days ago that finished 179 days ago, and one finished 180 days ago to the second
    late = make_send(finished_days_ago=179)
    edge = make_send(finished_days_ago=180)

    # When the task runs
    result = messages_mask_expired(now=NOW)

    # Then neither is touched: the period counts from when the send finished
    assert result == MaskResult(sends=0, recipients=0, outbox=0)
    for send in (late, edge):
        send.refresh_from_db()
        assert send.masked_at is None
        assert send.body.startswith("#{학생이름}")
        assert send.recipients.get().phone == "01000000000"


def test_the_period_is_the_setting(make_send, settings):
    settings.MESSAGING_RETENTION_DAYS = 30
    send = make_send(finished_days_ago=31)

    assert messages_mask_expired(now=NOW).sends == 1
    assert send.recipients.get().phone == "010****0000"


def test_a_send_that_never_finished_counts_from_its_creation_and_only_once_it_can_no_longer_change(make_send):
    # Given a cancelled send without finished_at created 181 days ago, and a queued one as old
    cancelled = make_send(finished_days_ago=None, created_days_ago=181, status=SendStatus.CANCELLED)
    queued = make_send(finished_days_ago=None, created_days_ago=181, status=SendStatus.QUEUED)

    # When the task runs
    messages_mask_expired(now=NOW)

    # Then the cancelled one is masked; the queued one still needs its texts to be sent
    cancelled.refresh_from_db()
    queued.refresh_from_db()
    assert cancelled.masked_at == NOW
    assert queued.masked_at is None
    assert queued.recipients.get().text == "김민준0 학생이 결석했습니다."


@pytest.mark.parametrize("status", [RecipientStatus.PENDING, RecipientStatus.SENDING, RecipientStatus.UNKNOWN])
def test_a_finished_send_with_a_row_still_to_send_or_settle_keeps_its_texts(make_send, status):
    # Given an old DONE send with one row still to go (a held row, an SMS fallback) or to settle with the provider
    send = make_send(finished_days_ago=200, recipients=2)
    first = send.recipients.order_by("id").first()
    MessageRecipient.objects.filter(id=first.id).update(status=status)

    # When the task runs
    result = messages_mask_expired(now=NOW)

    # Then nothing of it is masked: that row may still be sent, by its phone and text
    assert result.sends == 0
    assert set(send.recipients.values_list("phone", flat=True)) == {"01000000000", "01000000001"}


def test_running_it_again_changes_nothing(make_send):
    # Given a send masked by a first pass
    send = make_send(finished_days_ago=200, recipients=3)
    messages_mask_expired(now=NOW)
    first = list(send.recipients.order_by("id").values_list("phone", "text", "updated_at"))

    # When later passes run
    second = messages_mask_expired(now=NOW + timedelta(hours=1))
    third = messages_mask_expired(now=NOW + timedelta(days=400))

    # Then they find nothing to do, and the masked rows and masked_at are as the first pass left them
    assert second == third == MaskResult(sends=0, recipients=0, outbox=0)
    send.refresh_from_db()
    assert send.masked_at == NOW
    assert list(send.recipients.order_by("id").values_list("phone", "text", "updated_at")) == first


def test_a_pass_is_bounded_and_the_next_one_goes_on(make_send):
    sends = [make_send(finished_days_ago=200 + i) for i in range(3)]

    assert messages_mask_expired(now=NOW, limit=2).sends == 2
    assert messages_mask_expired(now=NOW, limit=2).sends == 1
    assert MessageSend.objects.filter(id__in=[s.id for s in sends], masked_at__isnull=True).count() == 0


def test_a_short_phone_is_masked_whole(make_send):
    send = make_send(finished_days_ago=200)
    send.recipients.update(phone="1234567")

    messages_mask_expired(now=NOW)

    assert send.recipients.get().phone == "****"


def test_old_outbox_rows_are_masked_and_recent_ones_kept(db):
    # Given an outbox row from 181 days ago and one from yesterday
    old = outbox_row("old", days_ago=181)
    recent = outbox_row("recent", days_ago=1)

    # When the task runs twice
    first = messages_mask_expired(now=NOW)
    second = messages_mask_expired(now=NOW)

    # Then the old row keeps only what the reports need; the recent one is untouched
    assert (first.outbox, second.outbox) == (1, 0)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.to, old.text, old.subject, old.kakao, old.status_code) == ("010****5678", EXPIRED_TEXT, "", None,
                                                                           "2000")
    assert (recent.to, recent.text) == ("01012345678", "김민준 학생이 결석했습니다.")


def test_the_number_of_queries_does_not_grow_with_the_rows(make_send, db):
    # Given one expired send of 10 recipients and 10 outbox rows, then 2,000 of each
    def queries_for(recipients: int) -> tuple[int, MaskResult]:
        make_send(finished_days_ago=200, recipients=recipients)
        OutboxMessage.objects.bulk_create([
            OutboxMessage(recipient_id=f"r{recipients}-{i}", to=f"010{i:08d}", sender="0255550100", type="SMS",
                          text="안내", status_code="2000", provider_message_id=f"OBX{recipients}-{i}")
            for i in range(recipients)
        ])
        OutboxMessage.objects.update(created_at=NOW - timedelta(days=200))
        with CaptureQueriesContext(connection) as captured:
            result = messages_mask_expired(now=NOW)
        return len(captured), result

    small, small_result = queries_for(10)
    large, large_result = queries_for(2000)

    # Then both passes take the same few statements
    assert (small_result.recipients, small_result.outbox) == (10, 10)
    assert (large_result.recipients, large_result.outbox) == (2000, 2000)
    assert small == large <= 7
    assert MessageRecipient.objects.exclude(phone__contains="*").count() == 0


def test_the_scheduler_runs_it_every_hour(make_send):
    send = make_send(finished_days_ago=200)
    task = next(task for task in all_periodic() if task.name == "mask_expired_messages")

    assert task.every_seconds == 3600
    assert import_string(task.function)() == MaskResult(sends=1, recipients=1, outbox=0)
    send.refresh_from_db()
    assert send.masked_at is not None
