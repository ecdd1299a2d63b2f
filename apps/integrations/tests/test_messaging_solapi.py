"""The Solapi adapter against the fake Solapi server: signature, request fields, per-message codes, batching,
failures that are permanent, retryable or uncertain, and reconciliation by our recipient id."""

import hashlib
import hmac
import logging
import re
import socket
from datetime import UTC, datetime

import pytest

from apps.core.logging import PHONE_IN_TEXT
from apps.core.tests.log_capture import logged_text
from apps.integrations import message_rules as rules
from apps.integrations.messaging import KakaoOptions, OutgoingMessage, ProviderError, ProviderUncertain
from apps.integrations.messaging.solapi import SolapiProvider, authorization_header

SENDER = "0212345678"


def sms(recipient_id: str, *, to: str = "01012345678", **kwargs) -> OutgoingMessage:
    return OutgoingMessage(recipient_id=recipient_id, to=to, sender=SENDER, type=kwargs.pop("type", "SMS"),
                           text=kwargs.pop("text", "출석 안내"), **kwargs)


def test_every_request_is_signed_with_hmac_sha256_of_date_and_salt(fake_solapi):
    # Given the adapter pointed at the fake
    provider = SolapiProvider()

    # When it makes two calls
    provider.send_many([sms("r1")])
    provider.balance()

    # Then each carries apiKey, an ISO 8601 UTC date, a fresh salt and hex HMAC-SHA256(secret, date + salt)
    headers = [r.headers["Authorization"] for r in fake_solapi.requests]
    parsed = [re.match(r"^HMAC-SHA256 apiKey=(\S+), date=(\S+), salt=(\S+), signature=([0-9a-f]{64})$", h).groups()
              for h in headers]
    for api_key, date, salt, signature in parsed:
        assert api_key == fake_solapi.api_key
        assert abs((datetime.now(UTC) - datetime.fromisoformat(date.replace("Z", "+00:00"))).total_seconds()) < 60
        assert signature == hmac.new(fake_solapi.api_secret.encode(), (date + salt).encode(),
                                     hashlib.sha256).hexdigest()
    assert parsed[0][2] != parsed[1][2]


def test_the_header_matches_solapis_documented_example():
    header = authorization_header("NCSAYU7YDBXYORXC", "secret", date="2019-07-01T00:41:48Z", salt="jqsba2jxjnrjor")

    expected = hmac.new(b"secret", b"2019-07-01T00:41:48Zjqsba2jxjnrjor", hashlib.sha256).hexdigest()
    assert header == (f"HMAC-SHA256 apiKey=NCSAYU7YDBXYORXC, date=2019-07-01T00:41:48Z, salt=jqsba2jxjnrjor, "
                      f"signature={expected}")


def test_a_wrong_secret_is_a_permanent_error_and_nothing_is_sent(fake_solapi, settings):
    settings.SOLAPI_API_SECRET = "not-the-secret"

    with pytest.raises(ProviderError) as caught:
        SolapiProvider().send_many([sms("r1")])

    assert (caught.value.permanent, caught.value.code) == (True, "SignatureDoesNotMatch")
    assert fake_solapi.messages == {}


def test_a_send_carries_solapis_field_names_and_our_recipient_id(fake_solapi):
    message = OutgoingMessage("r-ata", "010-1234-5678", "02-1234-5678", "ATA", "김철수 학생 결석",
                              kakao=KakaoOptions("PF01", "TPL_APPROVED", {"학생이름": "김철수", "#{날짜}": "3/2"}))
    lms = sms("r-lms", type="LMS", text="긴 공지", subject="공지")

    SolapiProvider().send_many([message, lms])

    [send] = fake_solapi.sends
    assert send.body == {"messages": [
        {"to": "01012345678", "from": "0212345678", "text": "김철수 학생 결석", "type": "ATA",
         "autoTypeDetect": False, "customFields": {"recipientId": "r-ata"},
         "kakaoOptions": {"pfId": "PF01", "templateId": "TPL_APPROVED",
                          "variables": {"#{학생이름}": "김철수", "#{날짜}": "3/2"}, "disableSms": True}},
        {"to": "01012345678", "from": "0212345678", "text": "긴 공지", "type": "LMS", "autoTypeDetect": False,
         "customFields": {"recipientId": "r-lms"}, "subject": "공지"},
    ]}


@pytest.mark.parametrize("code", [rules.NO_BALANCE, rules.OPTED_OUT, rules.OPTED_OUT_080, rules.NOT_KAKAO_USER,
                                  rules.OUTSIDE_ALIMTALK_WINDOW])
def test_a_per_message_code_refuses_that_message_only(fake_solapi, code):
    fake_solapi.codes_by_to["01000000001"] = code

    outcomes = SolapiProvider().send_many([sms("bad", to="01000000001"), sms("good")])

    assert [(o.recipient_id, o.accepted, o.code) for o in outcomes] == [("bad", False, code), ("good", True, "2000")]
    assert outcomes[0].reason == f"fake rule {code}"


def test_an_empty_balance_refuses_with_1030(fake_solapi):
    fake_solapi.balance = 0

    [outcome] = SolapiProvider().send_many([sms("r1")])

    assert (outcome.accepted, outcome.code) == (False, rules.NO_BALANCE)


def test_an_unregistered_sender_is_1062(fake_solapi):
    fake_solapi.senders = {"0299999999": "ACTIVE"}

    [outcome] = SolapiProvider().send_many([sms("r1")])

    assert (outcome.accepted, outcome.code) == (False, rules.UNREGISTERED_SENDER)


def test_10000_messages_are_one_request_at_the_default_batch_size(fake_solapi):
    messages = [sms(f"r{i}", to=f"010{i:08d}") for i in range(10_000)]

    outcomes = SolapiProvider().send_many(messages)

    assert len(fake_solapi.sends) == 1
    assert [o.recipient_id for o in outcomes] == [m.recipient_id for m in messages]
    assert all(o.accepted for o in outcomes)


def test_a_longer_list_is_split_into_batches_of_the_set_size(fake_solapi, settings):
    settings.MESSAGING_BATCH_SIZE = 3

    outcomes = SolapiProvider().send_many([sms(f"r{i}") for i in range(7)])

    assert [len(r.body["messages"]) for r in fake_solapi.sends] == [3, 3, 1]
    assert [o.recipient_id for o in outcomes] == [f"r{i}" for i in range(7)]


def test_a_timeout_after_the_send_went_out_is_uncertain_and_reconciliation_finds_the_messages(fake_solapi, settings):
    # Given a provider that takes the messages and then does not answer before the client's read timeout
    settings.MESSAGING_HTTP_TIMEOUT_SECONDS = 0.3
    fake_solapi.hang_next()
    provider = SolapiProvider()

    # When the batch is sent
    with pytest.raises(ProviderUncertain) as caught:
        provider.send_many([sms("r1"), sms("r2")])
    fake_solapi.release()

    # Then the messages are uncertain, the send was made once, and asking by our ids finds them accepted
    assert caught.value.recipient_ids == ["r1", "r2"]
    assert len(fake_solapi.sends) == 1
    reports = provider.reports(["r1", "r2"])
    assert {i: r.state for i, r in reports.items()} == {"r1": "SENT", "r2": "SENT"}
    assert len(fake_solapi.sends) == 1


@pytest.mark.parametrize("status", [500, 502, 429])
def test_a_5xx_or_429_on_a_send_is_uncertain(fake_solapi, status):
    fake_solapi.fail_next(status)

    with pytest.raises(ProviderUncertain) as caught:
        SolapiProvider().send_many([sms("r1")])

    assert caught.value.recipient_ids == ["r1"]
    assert len(fake_solapi.sends) == 1


@pytest.mark.parametrize("status", [500, 429])
def test_a_5xx_or_429_on_a_query_is_retryable(fake_solapi, status):
    fake_solapi.fail_next(status)

    with pytest.raises(ProviderError) as caught:
        SolapiProvider().balance()

    assert caught.value.permanent is False


def test_a_refused_connection_sent_nothing_and_is_retryable(settings, fake_solapi):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.SOLAPI_BASE_URL = f"http://127.0.0.1:{closed_port}"

    with pytest.raises(ProviderError) as caught:
        SolapiProvider().send_many([sms("r1")])

    assert caught.value.permanent is False
    assert fake_solapi.requests == []


def test_a_failure_in_a_later_batch_keeps_the_outcomes_of_the_earlier_ones(fake_solapi, settings):
    settings.MESSAGING_BATCH_SIZE = 2
    provider = SolapiProvider()
    original = fake_solapi.send_many
    calls = []

    def second_batch_fails(body):
        calls.append(body)
        if len(calls) == 2:
            return 503, {"errorCode": "Unavailable", "errorMessage": "down"}
        return original(body)

    fake_solapi.send_many = second_batch_fails

    with pytest.raises(ProviderUncertain) as caught:
        provider.send_many([sms(f"r{i}") for i in range(4)])

    assert [o.recipient_id for o in caught.value.completed] == ["r0", "r1"]
    assert caught.value.recipient_ids == ["r2", "r3"]


def test_an_accepted_message_later_reported_failed(fake_solapi):
    fake_solapi.later_codes_by_to["01000000002"] = rules.NOT_KAKAO_USER
    provider = SolapiProvider()
    provider.send_many([sms("later", to="01000000002"), sms("fine")])

    fake_solapi.settle()
    reports = provider.reports(["later", "fine"])

    assert (reports["later"].state, reports["later"].code) == ("FAILED", rules.NOT_KAKAO_USER)
    assert (reports["fine"].state, reports["fine"].code) == ("DELIVERED", rules.DELIVERED)
    assert [r.query for r in fake_solapi.requests if r.path == "/messages/v4/list"] == [
        {"criteria": "customFields.recipientId", "cond": "eq", "value": "later", "limit": "1"},
        {"criteria": "customFields.recipientId", "cond": "eq", "value": "fine", "limit": "1"}]


@pytest.mark.parametrize(("state", "expected"), [("ACTIVE", "APPROVED"), ("PENDING", "PENDING"),
                                                 ("INACTIVE", "NOT_REGISTERED")])
def test_sender_number_status(fake_solapi, state, expected):
    fake_solapi.senders = {"0311112222": state}

    assert SolapiProvider().sender_number_status("031-111-2222") == expected
    assert SolapiProvider().sender_number_status("0319999999") == "NOT_REGISTERED"


@pytest.mark.parametrize(("state", "expected"), [("APPROVED", "APPROVED"), ("PENDING", "PENDING"),
                                                 ("INSPECTING", "PENDING"), ("REJECTED", "REJECTED")])
def test_template_status(fake_solapi, state, expected):
    fake_solapi.templates = {"TPL1": state}

    assert SolapiProvider().template_status("TPL1") == expected
    assert SolapiProvider().template_status("TPL-missing") == "NOT_FOUND"


def test_balance(fake_solapi):
    fake_solapi.balance = 12345

    assert str(SolapiProvider().balance()) == "12345"


def test_logs_and_errors_carry_neither_text_nor_phone_numbers(fake_solapi, caplog, settings):
    # Given every logger at DEBUG (urllib3's too), and each way a send can end: uncertain, refused per message,
    # accepted, refused whole (a wrong secret)
    fake_solapi.fail_next(500)
    fake_solapi.codes_by_to["01023456789"] = rules.OPTED_OUT
    caplog.set_level(logging.DEBUG)
    provider = SolapiProvider()
    errors = []

    with pytest.raises(ProviderUncertain) as uncertain:
        provider.send_many([sms("r1", text="비밀 성적 안내")])
    errors.append(uncertain.value)
    provider.send_many([sms("r2", text="비밀 성적 안내"), sms("r3", to="010-2345-6789", text="비밀 성적 안내")])
    provider.reports(["r1", "r2", "r3"])
    settings.SOLAPI_API_SECRET = "wrong-secret-of-thirty-two-chars"
    with pytest.raises(ProviderError) as refused:
        SolapiProvider().send_many([sms("r4", to="+82-10-3456-7890", text="비밀 성적 안내")])
    errors.append(refused.value)

    # Then the calls were logged, and neither the logs nor the errors a worker records show a text or a number
    logged = logged_text(caplog.records) + " ".join(str(e) for e in errors)
    assert "solapi send-many" in logged
    assert "solapi call refused" in logged
    assert "비밀" not in logged
    assert PHONE_IN_TEXT.search(logged) is None, PHONE_IN_TEXT.search(logged).group()


def test_an_answer_missing_some_messages_keeps_the_outcomes_it_did_give(fake_solapi):
    # Given Solapi answers a send of three messages but leaves r1 out of its answer
    provider = SolapiProvider()
    original = fake_solapi.send_many

    def answer_without_r1(body):
        status, answer = original(body)
        answer["messageList"] = [item for item in answer["messageList"]
                                 if item["customFields"].get("recipientId") != "r1"]
        return status, answer

    fake_solapi.send_many = answer_without_r1

    # When the three are sent
    with pytest.raises(ProviderUncertain) as caught:
        provider.send_many([sms("r0"), sms("r1"), sms("r2")])

    # Then only r1 is uncertain, and the accepted r0 and r2 are not lost from the outcomes
    assert caught.value.recipient_ids == ["r1"]
    assert [(o.recipient_id, o.accepted) for o in caught.value.completed] == [("r0", True), ("r2", True)]
