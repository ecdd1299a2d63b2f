"""The messaging provider contract: what the outbox and Solapi (on the fake server) both promise."""

import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core.logging import PHONE_IN_TEXT
from apps.core.tests.log_capture import logged_text
from apps.integrations import message_rules as rules
from apps.integrations.messaging import (
    DeliveryReport,
    KakaoOptions,
    OutgoingMessage,
    get_message_provider,
    reset_message_provider_for_tests,
)
from apps.integrations.messaging.outbox import OutboxProvider

SENDER = "02-1234-5678"


def sms(recipient_id: str, *, to: str = "010-1234-5678", text: str = "출석 안내", **kwargs) -> OutgoingMessage:
    return OutgoingMessage(recipient_id=recipient_id, to=to, sender=kwargs.pop("sender", SENDER),
                           type=kwargs.pop("type", "SMS"), text=text, **kwargs)


def alimtalk(recipient_id: str, *, to: str = "010-1234-5678") -> OutgoingMessage:
    return OutgoingMessage(recipient_id=recipient_id, to=to, sender=SENDER, type="ATA",
                           text="김철수 학생이 결석했습니다.",
                           kakao=KakaoOptions("PF01", "TPL_APPROVED", {"학생이름": "김철수"}))


def test_accepted_messages_come_back_in_order_with_provider_ids(message_provider):
    provider, _ = message_provider
    messages = [sms("r1"), sms("r2", type="LMS", text="가" * 1000, subject="공지"), alimtalk("r3")]

    outcomes = provider.send_many(messages)

    assert [(o.recipient_id, o.accepted, o.code) for o in outcomes] == [
        ("r1", True, "2000"), ("r2", True, "2000"), ("r3", True, "2000")]
    assert all(o.provider_message_id for o in outcomes)
    assert len({o.provider_message_id for o in outcomes}) == 3


@pytest.mark.parametrize(("message", "code"), [
    (sms("long", text="가" * 46), rules.TOO_LONG),  # 92 bytes in EUC-KR
    (sms("lms-long", type="LMS", text="가" * 1001), rules.TOO_LONG),
    (sms("subject", text="짧은 글", subject="제목"), rules.INVALID_MESSAGE),
    (sms("emoji", text="안녕 😀"), rules.INVALID_MESSAGE),
    (OutgoingMessage("no-kakao", "01012345678", SENDER, "ATA", "알림"), rules.INVALID_MESSAGE),
    (sms("sender", sender="12"), rules.UNREGISTERED_SENDER),
])
def test_a_message_breaking_a_rule_is_refused_with_its_code_and_the_others_go(message_provider, message, code):
    provider, _ = message_provider

    outcomes = provider.send_many([message, sms("fine")])

    assert [(o.recipient_id, o.accepted, o.code) for o in outcomes] == [
        (message.recipient_id, False, code), ("fine", True, "2000")]
    assert outcomes[0].reason != ""


def test_sms_of_exactly_90_bytes_goes(message_provider):
    provider, _ = message_provider

    [outcome] = provider.send_many([sms("edge", text="가" * 45)])

    assert (outcome.accepted, outcome.code) == (True, "2000")


def test_the_reserved_failing_number_fails_alimtalk_as_not_a_kakao_user(message_provider):
    provider, harness = message_provider

    [outcome] = provider.send_many([alimtalk("fails", to=harness.failing_number)])

    assert (outcome.accepted, outcome.code) == (False, rules.NOT_KAKAO_USER)


def test_reports_follow_a_message_from_sent_to_delivered_by_our_recipient_id(message_provider):
    provider, harness = message_provider
    [sent] = provider.send_many([sms("r-sent")])
    [refused] = provider.send_many([sms("r-refused", sender="12")])

    before = provider.reports(["r-sent", "r-refused", "never-sent"])
    harness.settle()
    after = provider.reports(["r-sent"])

    assert before["r-sent"] == DeliveryReport("r-sent", sent.provider_message_id, "SENT", "2000", "")
    assert (before["r-refused"].state, before["r-refused"].code) == ("FAILED", rules.UNREGISTERED_SENDER)
    assert before["r-refused"].provider_message_id == refused.provider_message_id
    assert (before["never-sent"].state, before["never-sent"].provider_message_id) == ("UNKNOWN", "")
    assert (after["r-sent"].state, after["r-sent"].code) == ("DELIVERED", rules.DELIVERED)


def test_status_queries(message_provider):
    provider, _ = message_provider

    assert provider.sender_number_status("0212345678") == "APPROVED"
    assert provider.template_status("TPL_APPROVED") == "APPROVED"
    assert provider.template_status("") == "NOT_FOUND"
    assert isinstance(provider.balance(), Decimal)
    assert provider.balance() > 0


def test_sending_and_reporting_log_neither_a_body_nor_a_full_phone(message_provider, caplog):
    # Given every logger at DEBUG (the HTTP client's too), and messages whose bodies and numbers are easy to find
    provider, harness = message_provider
    caplog.set_level(logging.DEBUG)
    body = "민준 학생 수학 92점 비밀"
    messages = [
        sms("r-ok", to="010-2345-6789", text=body),
        sms("r-long", to="01034567890", text=body * 10),  # refused: too long for an SMS
        sms("r-failing", to=harness.failing_number, text=body),
        alimtalk("r-ata", to="+82 10 4567 8901"),
    ]

    # When they are sent, settled and reported
    outcomes = provider.send_many(messages)
    harness.settle()
    provider.reports([m.recipient_id for m in messages])

    # Then something was logged or not, but never a text, a variable or a full number
    assert [o.accepted for o in outcomes] == [True, False, False, True]
    logged = logged_text(caplog.records)
    assert PHONE_IN_TEXT.search(logged) is None, PHONE_IN_TEXT.search(logged).group()
    assert "92점" not in logged
    assert "김철수" not in logged


def test_the_outbox_is_the_default_provider(settings):
    settings.MESSAGING_PROVIDER = "outbox"
    reset_message_provider_for_tests()
    try:
        assert isinstance(get_message_provider(), OutboxProvider)
    finally:
        reset_message_provider_for_tests()


@pytest.mark.parametrize(("provider", "keys", "message"), [
    ("solapi", ("", ""), "SOLAPI_API_KEY"),
    ("twilio", ("k", "s"), "'outbox' or 'solapi'"),
])
def test_a_misconfigured_provider_is_refused_by_name(settings, provider, keys, message):
    settings.MESSAGING_PROVIDER = provider
    settings.SOLAPI_API_KEY, settings.SOLAPI_API_SECRET = keys
    reset_message_provider_for_tests()
    try:
        with pytest.raises(ImproperlyConfigured, match=message):
            get_message_provider()
    finally:
        reset_message_provider_for_tests()
