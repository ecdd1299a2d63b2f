"""The Solapi delivery-report webhook: its path secret, hostile bodies (4xx or 200, never 5xx), reports applied once."""

import json

import pytest
from rest_framework.test import APIClient

from apps.domains.messaging.models import CreditEntry, CreditKind, RecipientStatus
from apps.domains.messaging.selectors import credit_balance

from .sending_support import (
    PRICES,
    TOP_UP,
    assert_ledger_consistent,
    make_job,
    make_send,
    prepare_tenant,
    rows,
    run_handler,
    statuses,
)

pytestmark = pytest.mark.django_db

SECRET = "w" * 20 + "-webhook-secret-43"


@pytest.fixture
def webhook(settings):
    settings.MESSAGING_WEBHOOK_SECRET = SECRET
    client = APIClient()

    def post(body, *, secret: str = SECRET, raw: bool = False, content_type: str = "application/json"):
        data = body if raw else json.dumps(body)
        return client.generic("POST", f"/api/v1/messaging/webhooks/solapi/{secret}/", data, content_type=content_type)

    return post


@pytest.fixture
def sent_send(tenant, fake_solapi):
    prepare_tenant(tenant)
    send = make_send(tenant, count=2)
    run_handler(make_job(send))
    return send


def report(row, code: str, *, suffix: str = "", message_id: str | None = None) -> dict:
    return {"messageId": message_id or row.provider_message_id, "groupId": "G4VTEST", "to": row.phone,
            "type": "SMS", "statusCode": code, "statusMessage": "전송 결과",
            "customFields": {"recipientId": f"{row.uid}{suffix}"}, "dateReported": "2026-03-02 10:00:00"}


@pytest.mark.parametrize("secret", ["wrong", SECRET[:-1], SECRET + "x", "%20" + SECRET])
def test_a_wrong_secret_is_404_and_changes_nothing(webhook, sent_send, secret):
    delivered = rows(sent_send)[0]

    response = webhook([report(delivered, "4000")], secret=secret)

    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert statuses(sent_send) == {RecipientStatus.SENT: 2}


def test_a_blank_setting_turns_the_webhook_off(webhook, sent_send, settings):
    settings.MESSAGING_WEBHOOK_SECRET = ""

    response = webhook([report(rows(sent_send)[0], "4000")], secret="anything")

    assert response.status_code == 404
    assert statuses(sent_send) == {RecipientStatus.SENT: 2}


def test_reports_deliver_and_fail_and_a_repeat_changes_nothing(webhook, sent_send, tenant):
    delivered, failed = rows(sent_send)
    body = [report(delivered, "4000"), report(failed, "3059")]

    first = webhook(body)
    balance = credit_balance(tenant=tenant)
    second = webhook(body)

    assert first.status_code == second.status_code == 200
    assert first.json() == {"received": 2, "applied": 2, "ignored": 0}
    assert second.json() == {"received": 2, "applied": 0, "ignored": 0}
    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert delivered.status == RecipientStatus.DELIVERED and delivered.delivered_at is not None
    assert (failed.status, failed.provider_code, failed.charged_amount) == (RecipientStatus.FAILED, "3059", 0)
    assert credit_balance(tenant=tenant) == balance == TOP_UP - PRICES["SMS"]
    assert CreditEntry.objects.filter(kind=CreditKind.REFUND).count() == 1
    assert_ledger_consistent(tenant)


def test_a_report_of_a_message_the_worker_never_recorded_settles_it_once(webhook, tenant, fake_solapi):
    prepare_tenant(tenant)
    send = make_send(tenant, count=1)
    (row,) = rows(send)
    type(row).objects.filter(id=row.id).update(status=RecipientStatus.UNKNOWN, sent_type="SMS")

    response = webhook([report(row, "2000", message_id="M4VLATE")])

    row.refresh_from_db()
    assert response.json()["applied"] == 1
    assert (row.status, row.provider_message_id, row.charged_amount) == (RecipientStatus.SENT, "M4VLATE",
                                                                         PRICES["SMS"])
    assert credit_balance(tenant=tenant) == TOP_UP - PRICES["SMS"]


def test_a_report_about_another_attempt_of_the_row_is_ignored(webhook, sent_send):
    row = rows(sent_send)[0]

    response = webhook([report(row, "3104", suffix="-sms")])

    assert response.json() == {"received": 1, "applied": 0, "ignored": 1}
    assert statuses(sent_send) == {RecipientStatus.SENT: 2}


def test_the_wrapped_and_single_object_shapes_are_read(webhook, sent_send):
    first, second = rows(sent_send)

    wrapped = webhook({"messageList": {"M1": report(first, "4000")}})
    single = webhook(report(second, 4000))

    assert wrapped.json()["applied"] == single.json()["applied"] == 1
    assert statuses(sent_send) == {RecipientStatus.DELIVERED: 2}


@pytest.mark.parametrize("body", [
    {}, "text", 12, None, True, {"messageList": "x"}, {"data": []}, {"messageList": 5},
])
def test_a_body_of_another_shape_is_400(webhook, sent_send, body):
    response = webhook(body)

    assert response.status_code == 400 and response.json()["code"] == "WEBHOOK_PAYLOAD_INVALID"
    assert statuses(sent_send) == {RecipientStatus.SENT: 2}


@pytest.mark.parametrize("items", [
    [], [1, "x", None, [], True], [{"customFields": "x", "statusCode": "4000"}],
    [{"customFields": {"recipientId": 5}, "statusCode": "4000"}],
    [{"customFields": {"recipientId": "not-a-uuid"}, "statusCode": "4000"}],
    [{"customFields": {"recipientId": "00000000-0000-0000-0000-000000000000"}, "statusCode": "4000"}],
    [{"customFields": {"recipientId": "00000000-0000-0000-0000-000000000000" * 50}, "statusCode": "4000"}],
    [{"customFields": {"recipientId": "\x00\ud800"}, "statusCode": ["4000"]}],
    [{"customFields": {"recipientId": "x"}, "statusCode": "4" * 10_000, "messageId": {"a": 1}}],
    [{"customFields": {"recipientId": "a" * 100_000}, "statusCode": {"nested": [[[[]]]]}}],
])
def test_items_we_cannot_read_or_do_not_know_are_ignored_with_200(webhook, sent_send, items):
    response = webhook(items)

    assert response.status_code == 200
    assert response.json()["applied"] == 0 and response.json()["received"] == len(items)
    assert statuses(sent_send) == {RecipientStatus.SENT: 2}


def test_hostile_field_values_on_a_known_row_are_stored_within_their_columns(webhook, sent_send):
    row = rows(sent_send)[0]
    hostile = {**report(row, "9\x00" + "9" * 50), "messageId": "M" * 500 + "\x00",
               "statusMessage": "\ud800" + "실패" * 500}

    response = webhook([hostile])

    row.refresh_from_db()
    assert response.status_code == 200
    assert (row.status, len(row.provider_code), len(row.provider_message_id)) == (RecipientStatus.FAILED, 10, 64)
    assert len(row.reason) <= 200


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b"\xff\xfe\x00", "application/json", 400),
    (b"a=1&b=2", "application/x-www-form-urlencoded", 400),
    (b"<xml/>", "application/xml", 415),
])
def test_a_body_that_is_not_json_is_refused_with_a_4xx(webhook, sent_send, data, content_type, status):
    response = webhook(data, raw=True, content_type=content_type)

    assert response.status_code == status
    assert statuses(sent_send) == {RecipientStatus.SENT: 2}


def test_too_many_reports_in_one_call_are_refused(webhook, sent_send):
    response = webhook([{}] * 10_001)

    assert response.status_code == 400 and response.json()["code"] == "WEBHOOK_PAYLOAD_INVALID"


def test_the_webhook_is_documented_under_messaging_without_authentication(client):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/messaging/webhooks/solapi/{secret}/"]["post"]
    assert operation["tags"] == ["문자"] and "웹훅" in operation["summary"]
    assert {"200", "400", "404"} <= set(operation["responses"])


def test_production_refuses_a_webhook_secret_shorter_than_32_characters():
    from apps.api.config.settings import checks
    from apps.core.tests.settings_support import API_SAFE_ENV

    safe = {**API_SAFE_ENV, "DEBUG": False}

    short = checks.production_problems({**safe, "MESSAGING_WEBHOOK_SECRET": "s" * 31}, profile=checks.API)
    off = checks.production_problems({**safe, "MESSAGING_WEBHOOK_SECRET": ""}, profile=checks.API)
    long = checks.production_problems({**safe, "MESSAGING_WEBHOOK_SECRET": "s" * 32}, profile=checks.API)

    assert short == ["MESSAGING_WEBHOOK_SECRET is shorter than 32 characters"]
    assert off == long == []
