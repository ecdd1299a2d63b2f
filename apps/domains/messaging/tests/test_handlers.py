"""The message_send handler against the fake Solapi (and the outbox): every outcome of a batch, the ledger after
each, duplicate delivery, the AlimTalk → SMS fallback, held recipients and the query budget."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.domains.messaging import delivery
from apps.domains.messaging.handlers import message_send_ended
from apps.domains.messaging.models import (
    CreditEntry,
    CreditKind,
    MessageOptOut,
    MessageRecipient,
    RecipientStatus,
    SendStatus,
)
from apps.domains.messaging.reconcile import messages_reconcile
from apps.domains.messaging.selectors import credit_balance
from apps.integrations.messaging import reset_message_provider_for_tests
from apps.jobs.errors import JobFailure
from apps.jobs.models import Job, JobState
from apps.worker.tests.support import free_port

from .sending_support import (
    PRICES,
    TOP_UP,
    StubContext,
    assert_ledger_consistent,
    entries,
    make_job,
    make_send,
    prepare_tenant,
    rows,
    run_handler,
    sent_ids,
    statuses,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def academy(tenant):
    prepare_tenant(tenant)
    return tenant


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def test_an_accepted_batch_is_sent_charged_once_and_the_send_is_done(academy, fake_solapi):
    send = make_send(academy, count=3)
    ctx = StubContext()

    result = run_handler(make_job(send), ctx)

    assert result["counts"]["sent"] == 3 and result["status"] == SendStatus.DONE and result["batches"] == 1
    send.refresh_from_db()
    assert send.status == SendStatus.DONE and send.finished_at is not None
    assert len(fake_solapi.sends) == 1
    for row in rows(send):
        assert (row.status, row.sent_type, row.charged_amount) == (RecipientStatus.SENT, "SMS", PRICES["SMS"])
        assert row.provider_message_id.startswith("M4V") and row.sent_at is not None and row.batch is not None
    assert sent_ids(fake_solapi) == {str(r.uid): 1 for r in rows(send)}
    assert credit_balance(tenant=academy) == TOP_UP - 3 * PRICES["SMS"]
    batch = rows(send)[0].batch
    assert set(CreditEntry.objects.filter(reference=f"batch:{batch}").values_list("kind", "amount")) == {
        (CreditKind.RELEASE, Decimal("60.00")), (CreditKind.CHARGE, Decimal("-60.00"))}
    assert ctx.progress_calls and ctx.progress_calls[-1][1] == "발송"
    assert_ledger_consistent(academy)


@pytest.mark.parametrize(("code", "reason"), [
    ("1030", "잔액 부족"), ("1061", "수신거부"), ("2061", "080 수신거부"), ("1062", "등록되지 않은 발신번호"),
    ("3104", "카카오톡 미사용자"), ("3108", "알림톡 발송 가능 시간"), ("9999", "fake rule 9999 (9999)"),
])
def test_a_rejected_message_fails_with_its_code_and_a_korean_reason_and_costs_nothing(academy, fake_solapi, code,
                                                                                      reason):
    send = make_send(academy, count=2)
    refused, accepted = rows(send)
    fake_solapi.codes_by_to[refused.phone] = code

    run_handler(make_job(send))

    refused.refresh_from_db()
    accepted.refresh_from_db()
    assert (refused.status, refused.provider_code, refused.charged_amount) == (RecipientStatus.FAILED, code, None)
    assert reason in refused.reason
    assert accepted.status == RecipientStatus.SENT
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["SMS"]
    assert_ledger_consistent(academy)


def test_a_5xx_leaves_the_batch_unknown_never_resent_and_the_reconciler_fails_it_when_solapi_never_knew(
        academy, fake_solapi, settings):
    send = make_send(academy, count=3)
    job = make_job(send)
    fake_solapi.fail_next(500)

    result = run_handler(job)

    assert result["counts"]["unknown"] == 3
    assert all(r.reason == "발송 여부 확인 중" for r in rows(send))
    again = run_handler(job)  # a redelivery, or the retry of a crash
    assert again["counts"]["unknown"] == 3 and len(fake_solapi.sends) == 1
    assert credit_balance(tenant=academy) == TOP_UP - 3 * PRICES["SMS"]  # still reserved

    messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))
    assert statuses(send) == {RecipientStatus.UNKNOWN: 3}
    messages_reconcile(now=later(settings.MESSAGING_NOT_FOUND_SECONDS + 1))

    assert statuses(send) == {RecipientStatus.FAILED: 3}
    assert {r.provider_code for r in rows(send)} == {delivery.NOT_FOUND_CODE}
    assert credit_balance(tenant=academy) == TOP_UP
    assert len(fake_solapi.sends) == 1
    assert_ledger_consistent(academy)


def test_a_timeout_after_solapi_took_the_batch_is_unknown_then_settled_and_charged_once(academy, fake_solapi, settings):
    settings.MESSAGING_HTTP_TIMEOUT_SECONDS = 0.3
    reset_message_provider_for_tests()
    send = make_send(academy, count=2)
    fake_solapi.hang_next()

    result = run_handler(make_job(send))
    fake_solapi.release()

    assert result["counts"]["unknown"] == 2
    messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))
    assert statuses(send) == {RecipientStatus.SENT: 2}
    fake_solapi.settle()
    messages_reconcile(now=later(2 * settings.MESSAGING_SENDING_STALE_SECONDS + 2))

    assert statuses(send) == {RecipientStatus.DELIVERED: 2}
    assert sent_ids(fake_solapi) == {str(r.uid): 1 for r in rows(send)}
    assert credit_balance(tenant=academy) == TOP_UP - 2 * PRICES["SMS"]
    assert CreditEntry.objects.filter(kind=CreditKind.CHARGE, reference__startswith="recipient:").count() == 2
    assert_ledger_consistent(academy)


def test_a_provider_unreachable_before_sending_puts_the_batch_back_and_asks_for_a_retry(academy, fake_solapi,
                                                                                       settings):
    send = make_send(academy, count=2)
    job = make_job(send)
    settings.SOLAPI_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens: the connection is refused
    reset_message_provider_for_tests()

    with pytest.raises(JobFailure) as caught:
        run_handler(job)

    assert (caught.value.code, caught.value.retryable) == ("MESSAGING_PROVIDER_UNAVAILABLE", True)
    assert [(r.status, r.batch, r.sent_type) for r in rows(send)] == [(RecipientStatus.PENDING, None, "")] * 2
    assert credit_balance(tenant=academy) == TOP_UP - 2 * PRICES["SMS"]
    assert not CreditEntry.objects.filter(reference__startswith="batch:").exists()

    settings.SOLAPI_BASE_URL = fake_solapi.url
    reset_message_provider_for_tests()
    result = run_handler(job)

    assert result["counts"]["sent"] == 2
    assert_ledger_consistent(academy)


def test_a_refused_request_fails_the_batch_for_good_and_releases_it(academy, fake_solapi, settings):
    settings.SOLAPI_API_SECRET = "wrong-secret-of-thirty-two-chars"
    reset_message_provider_for_tests()
    send = make_send(academy, count=2)

    result = run_handler(make_job(send))

    assert result["counts"]["failed"] == 2 and result["status"] == SendStatus.DONE
    assert {(r.provider_code, r.reason) for r in rows(send)} == {
        ("REFUSED", "문자 서비스가 요청을 거절함 (SignatureDoesNotMatch)")}
    assert credit_balance(tenant=academy) == TOP_UP
    assert_ledger_consistent(academy)


def test_a_message_accepted_then_reported_failed_is_refunded_once(academy, fake_solapi, settings):
    send = make_send(academy, count=2)
    failing, delivered = rows(send)
    fake_solapi.later_codes_by_to[failing.phone] = "3059"
    run_handler(make_job(send))
    fake_solapi.settle()

    for _ in range(2):  # asked twice: the second answer changes nothing
        messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    failing.refresh_from_db()
    delivered.refresh_from_db()
    assert (failing.status, failing.provider_code, failing.charged_amount) == (RecipientStatus.FAILED, "3059", 0)
    assert delivered.status == RecipientStatus.DELIVERED and delivered.delivered_at is not None
    assert CreditEntry.objects.get(kind=CreditKind.REFUND).reference == f"recipient:{failing.uid}"
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["SMS"]
    assert_ledger_consistent(academy)


def test_running_the_job_twice_sends_each_recipient_once(academy, fake_solapi):
    send = make_send(academy, count=4)
    job = make_job(send)

    first = run_handler(job)
    second = run_handler(job)

    assert first["counts"] == second["counts"] and second["batches"] == 0
    assert len(fake_solapi.sends) == 1 and set(sent_ids(fake_solapi).values()) == {1}
    assert_ledger_consistent(academy)


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_job_at_once_send_each_recipient_once(academy, fake_solapi, settings):
    settings.MESSAGING_BATCH_SIZE = 2
    send = make_send(academy, count=12)
    job = make_job(send)
    start = threading.Barrier(3)
    errors = []

    def deliver():
        try:
            start.wait()
            run_handler(job)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sent_ids(fake_solapi) == {str(r.uid): 1 for r in rows(send)}
    assert statuses(send) == {RecipientStatus.SENT: 12}
    assert len({r.batch for r in rows(send)}) == 6
    assert_ledger_consistent(academy)


def test_an_alimtalk_a_recipient_cannot_get_falls_back_to_sms_charged_once_as_sms(academy, fake_solapi):
    send = make_send(academy, count=2, type="ATA", fallback_type="SMS")
    kakao_less, kakao_user = rows(send)
    answer = fake_solapi._answer
    # An AlimTalk to that number fails as Kakao answers it; an SMS to it goes through.
    fake_solapi._answer = lambda m: (("3104", "카카오톡 미사용자")
                                     if m.get("type") == "ATA" and m["to"] == kakao_less.phone else answer(m))

    result = run_handler(make_job(send))

    assert result["batches"] == 2 and result["counts"]["sent"] == 2
    kakao_less.refresh_from_db()
    kakao_user.refresh_from_db()
    assert (kakao_less.sent_type, kakao_less.charged_amount) == ("SMS", PRICES["SMS"])
    assert kakao_less.reason == "카카오톡 미사용자 — 문자로 대체 발송"
    assert (kakao_user.sent_type, kakao_user.charged_amount) == ("ATA", PRICES["ATA"])
    assert sent_ids(fake_solapi) == {str(kakao_less.uid): 1, f"{kakao_less.uid}-sms": 1, str(kakao_user.uid): 1}
    ata = fake_solapi.sends[0].body["messages"][0]
    assert ata["kakaoOptions"]["pfId"] == "@academy" and ata["kakaoOptions"]["templateId"] == "TPL_APPROVED"
    assert ata["kakaoOptions"]["variables"] == {"#{학생이름}": "김민준"}
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["SMS"] - PRICES["ATA"]
    assert_ledger_consistent(academy)


def test_an_alimtalk_reported_failed_later_is_refunded_and_its_sms_fallback_goes_once(academy, fake_solapi, settings):
    send = make_send(academy, count=1, type="ATA", fallback_type="LMS")
    (row,) = rows(send)
    fake_solapi.later_codes_by_to[row.phone] = "3104"
    run_handler(make_job(send))
    fake_solapi.settle()
    fake_solapi.later_codes_by_to.clear()

    messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    row.refresh_from_db()
    assert (row.status, row.sent_type, row.charged_amount) == (RecipientStatus.PENDING, "ATA", 0)
    fallback_job = Job.objects.get(kind="message_send", payload__send_id=send.id, state=JobState.QUEUED)
    run_handler(fallback_job)
    fake_solapi.settle()
    messages_reconcile(now=later(2 * settings.MESSAGING_SENDING_STALE_SECONDS + 2))

    row.refresh_from_db()
    assert (row.status, row.sent_type, row.charged_amount) == (RecipientStatus.DELIVERED, "LMS", PRICES["LMS"])
    assert sent_ids(fake_solapi) == {str(row.uid): 1, f"{row.uid}-sms": 1}
    assert fake_solapi.sends[1].body["messages"][0]["type"] == "LMS"
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["LMS"]
    assert_ledger_consistent(academy)


def test_a_fallback_without_credit_for_its_sms_fails_unsent(tenant, fake_solapi):
    # Reserved as an AlimTalk only, with no credit left for the dearer SMS.
    prepare_tenant(tenant, top_up=PRICES["ATA"])
    send = make_send(tenant, count=1, type="ATA", fallback_type="SMS", reserve_each=PRICES["ATA"])
    (row,) = rows(send)
    fake_solapi.codes_by_to[row.phone] = "3104"

    run_handler(make_job(send))

    row.refresh_from_db()
    assert (row.status, row.provider_code) == (RecipientStatus.FAILED, delivery.NO_CREDIT_CODE)
    assert len(fake_solapi.sends) == 1
    assert credit_balance(tenant=tenant) == PRICES["ATA"]
    assert_ledger_consistent(tenant)


def test_held_recipients_wait_and_go_when_due(academy, fake_solapi):
    send = make_send(academy, count=1)
    held = make_send(academy, count=2, not_before=later(3600))
    MessageRecipient.objects.filter(send=held).update(send=send)

    first = make_job(send)
    result = run_handler(first)
    Job.objects.filter(id=first.id).update(state=JobState.DONE)  # as the worker reports it

    assert (result["held"], result["counts"]["sent"], result["status"]) == (2, 1, SendStatus.SENDING)
    assert delivery.dispatch_held_messages() == {"submitted": 0}
    due_at = timezone.now() - timedelta(seconds=1)
    MessageRecipient.objects.filter(send=send, status=RecipientStatus.PENDING).update(not_before=due_at)

    assert delivery.dispatch_held_messages() == {"submitted": 1}
    assert delivery.dispatch_held_messages() == {"submitted": 0}  # its job is queued
    job = Job.objects.get(kind="message_send", payload__send_id=send.id, state=JobState.QUEUED)
    assert job.idempotency_key == f"send:{send.id}:{due_at.isoformat()}"
    result = run_handler(job)

    assert (result["held"], result["counts"]["sent"], result["status"]) == (0, 3, SendStatus.DONE)
    assert set(sent_ids(fake_solapi).values()) == {1}


def test_a_batch_refused_whole_for_the_opt_out_list_does_not_stop_the_send(academy, fake_solapi, settings):
    settings.MESSAGING_BATCH_SIZE = 2
    send = make_send(academy, count=3)
    for row in rows(send)[:2]:
        MessageOptOut.objects.create(tenant=academy, phone=row.phone)

    result = run_handler(make_job(send))

    assert (result["counts"]["failed"], result["counts"]["sent"], result["status"]) == (2, 1, SendStatus.DONE)
    assert_ledger_consistent(academy)


def test_an_opted_out_phone_is_refused_at_send_time_and_released(academy, fake_solapi):
    send = make_send(academy, count=2)
    opted, other = rows(send)
    MessageOptOut.objects.create(tenant=academy, phone=opted.phone, source="080")

    run_handler(make_job(send))

    opted.refresh_from_db()
    other.refresh_from_db()
    assert other.status == RecipientStatus.SENT
    assert (opted.status, opted.provider_code, opted.sent_type) == (RecipientStatus.FAILED, "OPTED_OUT", "")
    assert str(opted.uid) not in sent_ids(fake_solapi)
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["SMS"]
    assert_ledger_consistent(academy)


def test_a_cancelled_send_sends_nothing(academy, fake_solapi):
    send = make_send(academy, count=2)
    send.status = SendStatus.CANCELLED
    send.save()

    result = run_handler(make_job(send))

    assert result["batches"] == 0 and fake_solapi.sends == []
    assert statuses(send) == {RecipientStatus.PENDING: 2}


def test_a_send_of_another_academy_is_not_found(academy, other_tenant, fake_solapi):
    prepare_tenant(other_tenant)
    send = make_send(other_tenant, count=1)
    job = make_job(send)
    Job.objects.filter(id=job.id).update(tenant=academy)

    with pytest.raises(JobFailure) as caught:
        run_handler(job)

    assert caught.value.code == "MESSAGE_SEND_NOT_FOUND" and fake_solapi.sends == []


def test_a_job_that_failed_for_good_fails_its_waiting_recipients_and_releases_them(academy, fake_solapi):
    send = make_send(academy, count=2)
    job = make_job(send)
    Job.objects.filter(id=job.id).update(state=JobState.DEAD)

    message_send_ended(Job.objects.get(id=job.id))
    message_send_ended(Job.objects.get(id=job.id))

    assert statuses(send) == {RecipientStatus.FAILED: 2}
    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert credit_balance(tenant=academy) == TOP_UP
    assert_ledger_consistent(academy)


def test_the_outbox_sends_and_the_reconciler_sees_the_delivery(academy, settings):
    settings.MESSAGING_PROVIDER = "outbox"
    settings.MESSAGING_OUTBOX_DELIVERY_SECONDS = 0
    reset_message_provider_for_tests()
    send = make_send(academy, count=2, type="LMS")

    run_handler(make_job(send))
    assert statuses(send) == {RecipientStatus.SENT: 2}
    messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    assert statuses(send) == {RecipientStatus.DELIVERED: 2}
    assert credit_balance(tenant=academy) == TOP_UP - 2 * PRICES["LMS"]
    assert_ledger_consistent(academy)
    reset_message_provider_for_tests()


def test_a_thousand_recipients_take_at_most_ten_queries_and_one_provider_request(academy, fake_solapi):
    send = make_send(academy, count=1000)
    job = make_job(send)
    job = Job.objects.get(id=job.id)
    from apps.domains.messaging.handlers import message_send

    with CaptureQueriesContext(connection) as queries:
        result = message_send(job, StubContext())

    # The test's own transaction turns each atomic block into a savepoint, which production's autocommit does not.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert result["counts"]["sent"] == 1000
    assert len(statements) <= 10, [sql[:70] for sql in statements]
    assert len(fake_solapi.sends) == 1
    assert entries(academy, CreditKind.CHARGE) == -1000 * PRICES["SMS"]


class _EmbeddedDatabase:
    """The connection as the handler sees it on `make run`'s SQLite: not Postgres, so no SKIP LOCKED, no arrays."""

    vendor = "sqlite"

    def __getattr__(self, name):
        return getattr(connection, name)


def test_the_portable_claim_and_record_give_the_same_outcomes_as_postgres(academy, fake_solapi, monkeypatch):
    from apps.domains.messaging import handlers

    monkeypatch.setattr(handlers, "connection", _EmbeddedDatabase())
    send = make_send(academy, count=3, type="ATA", fallback_type="SMS")
    kakao_less, opted, kakao_user = rows(send)
    MessageOptOut.objects.create(tenant=academy, phone=opted.phone, source="080")
    answer = fake_solapi._answer
    fake_solapi._answer = lambda m: (("3104", "카카오톡 미사용자")
                                     if m.get("type") == "ATA" and m["to"] == kakao_less.phone else answer(m))

    with CaptureQueriesContext(connection) as queries:
        result = run_handler(make_job(send))
        again = run_handler(make_job(send))

    assert not [q for q in queries.captured_queries if "SKIP LOCKED" in q["sql"] or "unnest" in q["sql"]]
    assert result["counts"]["sent"] == 2 and again["batches"] == 0
    for row in (kakao_less, opted, kakao_user):
        row.refresh_from_db()
    assert (kakao_less.status, kakao_less.sent_type, kakao_less.charged_amount) == ("SENT", "SMS", PRICES["SMS"])
    assert (opted.status, opted.provider_code, opted.batch) == (RecipientStatus.FAILED, "OPTED_OUT", opted.batch)
    assert (kakao_user.status, kakao_user.sent_type) == ("SENT", "ATA")
    assert sent_ids(fake_solapi) == {str(kakao_less.uid): 1, f"{kakao_less.uid}-sms": 1, str(kakao_user.uid): 1}
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["SMS"] - PRICES["ATA"]
    assert_ledger_consistent(academy)
