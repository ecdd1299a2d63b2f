import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.core.models import Role
from apps.domains.messaging.models import CreditEntry, MessageConsent, MessageRecipient, MessageSend, MessageTemplate
from apps.domains.messaging.sending import SendSpec, send_create
from apps.domains.messaging.tests.sending_support import NOON, ready
from apps.jobs.models import Job

SENDS = "/api/v1/messaging/sends/"
PREVIEW = "/api/v1/messaging/sends/preview/"


def detail(send_id):
    return f"{SENDS}{send_id}/"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOON, tick=True):
        yield


@pytest.fixture
def staff_client(make_user, client_for, tenant):
    return client_for(make_user(tenant, Role.TEACHER))


def korean(message: str) -> bool:
    return any("가" <= char <= "힣" for char in message)


def test_a_send_is_accepted_with_its_counts_skips_and_cost(staff_client, tenant, make_student):
    ready(tenant)
    first = make_student(tenant, "김민준", parent_phone="01011112222", phone="01055556666")
    second = make_student(tenant, "이서연", parent_phone="01033334444")

    response = staff_client.post(SENDS, {"to": "both", "body": "#{학생이름} 안내",
                                         "student_ids": [first.id, second.id]}, format="json")

    assert response.status_code == 202
    send = MessageSend.objects.get(tenant=tenant)
    assert response.json() == {
        "send_id": send.id, "job_id": str(send.job_id), "recipient_count": 3,
        "skipped": [{"student_id": second.id, "role": "student", "code": "NO_PHONE"}],
        "estimated_cost": "60.00", "status": "QUEUED", "send_at": None}
    assert send.audience == "both"


def test_a_scheduled_send_answers_its_send_at(staff_client, tenant, make_student):
    ready(tenant)

    response = staff_client.post(SENDS, {"body": "안내", "student_ids": [make_student(tenant).id],
                                         "send_at": "2026-11-25T09:00:00+09:00"}, format="json")

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["send_at"]) == ("SCHEDULED", "2026-11-25T09:00:00+09:00")
    assert Job.objects.get().not_before == dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("data", "code", "status"), [
    ({"body": "안내"}, "SEND_SELECTION_INVALID", 400),
    ({"body": "안내", "student_ids": []}, "VALIDATION_ERROR", 400),
    ({"body": "안내", "student_ids": [0]}, "VALIDATION_ERROR", 400),
    ({"body": "안내", "student_ids": [2**63]}, "VALIDATION_ERROR", 400),
    ({"to": "teacher", "body": "안내", "student_ids": ["S"]}, "VALIDATION_ERROR", 400),
    ({"mode": "fax", "body": "안내", "student_ids": ["S"]}, "VALIDATION_ERROR", 400),
    ({"body": "안내", "session_id": 1, "attendance": ["SICK"]}, "VALIDATION_ERROR", 400),
    ({"body": "#{점수}", "student_ids": ["S"], "values": {"abc": {"점수": 1}}}, "VALIDATION_ERROR", 400),
    ({"body": "#{점수}", "student_ids": ["S"], "values": {"S": {"점수": True}}}, "VALIDATION_ERROR", 400),
    ({"body": "#{점수}", "student_ids": ["S"], "values": {"S": {"점수": {"a": 1}}}}, "VALIDATION_ERROR", 400),
    ({"body": "#{점수}", "student_ids": ["S"], "values": {"S": 5}}, "VALIDATION_ERROR", 400),
    ({"body": "#{점수}", "student_ids": ["S"], "values": ["S"]}, "VALIDATION_ERROR", 400),
    ({"body": "#{점수}", "student_ids": ["S"]}, "TEMPLATE_VARIABLES_MISSING", 400),
    ({"body": "축하 🎉", "student_ids": ["S"]}, "UNSUPPORTED_CHARACTERS", 400),
    ({"purpose": "ad", "mode": "alimtalk", "body": "특강", "student_ids": ["S"]}, "ALIMTALK_AD_NOT_ALLOWED", 400),
    ({"body": "안내", "student_ids": ["S"], "send_at": "2026-12-30T00:00:00+09:00"}, "SEND_AT_INVALID", 400),
    ({"body": "안내", "student_ids": ["S"], "send_at": "2026-11-24T13:00:00+09:00"}, "SEND_AT_INVALID", 400),
    ({"body": "안내", "student_ids": ["S", 10**9]}, "STUDENT_NOT_FOUND", 404),
    ({"body": "가" * 1001, "student_ids": ["S"]}, "MESSAGE_TOO_LONG", 400),
])
def test_bad_sends_are_refused_in_korean_and_store_nothing(staff_client, tenant, make_student, data, code, status):
    ready(tenant)
    student = make_student(tenant)
    data = {**data}
    if "student_ids" in data:
        data["student_ids"] = [student.id if item == "S" else item for item in data["student_ids"]]
    if isinstance(data.get("values"), dict):
        data["values"] = {str(student.id) if key == "S" else key: value for key, value in data["values"].items()}

    for url in (SENDS, PREVIEW):
        response = staff_client.post(url, data, format="json")

        if url == PREVIEW and code == "UNSUPPORTED_CHARACTERS":
            assert response.status_code == 200  # the preview reports them
            continue
        assert (response.status_code, response.json()["code"]) == (status, code), response.json()
        assert korean(response.json()["message"])
    assert not MessageSend.objects.exists()
    assert not CreditEntry.objects.exclude(kind="TOP_UP").exists()
    assert not Job.objects.exists()


def test_a_short_balance_is_402(staff_client, tenant, make_student):
    ready(tenant, credit="10")

    response = staff_client.post(SENDS, {"body": "안내", "student_ids": [make_student(tenant).id]}, format="json")

    assert (response.status_code, response.json()["code"]) == (402, "INSUFFICIENT_CREDIT")
    assert not MessageSend.objects.exists()


def test_an_unverified_sender_is_409(staff_client, tenant, make_student):
    ready(tenant, sender_verified_at=None)

    response = staff_client.post(SENDS, {"body": "안내", "student_ids": [make_student(tenant).id]}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "SENDER_NOT_APPROVED")


def test_the_preview_shows_the_ad_as_it_goes_out_with_masked_phones_and_stores_nothing(
        staff_client, tenant, make_student):
    ready(tenant)
    agreed = make_student(tenant, "김민준", parent_phone="01012345678")
    refused = make_student(tenant, "이서연")
    MessageConsent.objects.create(tenant=tenant, student=agreed, holder="parent", kind="ad", method="서면",
                                  granted_at=NOON - dt.timedelta(days=1))

    response = staff_client.post(PREVIEW, {"purpose": "ad", "body": "#{학생이름} 겨울 특강 😀",
                                           "student_ids": [agreed.id, refused.id]}, format="json")

    assert response.status_code == 200
    body = response.json()
    text = "(광고)alpha 학원\n김민준 겨울 특강 😀\n무료수신거부 080-123-4567"
    assert body["recipients"] == [{
        "student_id": agreed.id, "role": "parent", "phone": "010****5678", "text": text, "subject": "",
        "type": "SMS", "fallback_type": "", "bytes": 62, "not_before": None, "reserved_amount": "20.00",
        "unsupported": [{"index": 23, "char": "😀", "codepoint": "U+1F600"}]}]
    assert text[23] == "😀"
    assert body["skipped"] == [{"student_id": refused.id, "role": "parent", "code": "NO_AD_CONSENT"}]
    assert (body["recipient_count"], body["type_counts"], body["estimated_cost"]) == (1, {"SMS": 1}, "20.00")
    assert body["unsupported_characters"] == [{"char": "😀", "codepoint": "U+1F600"}]
    assert (body["sender_verified"], body["credit_balance"], body["credit_sufficient"]) == (True, "100000.00", True)
    assert "01012345678" not in response.content.decode()
    assert not MessageSend.objects.exists()


def test_the_preview_of_nobody_is_empty_not_refused(staff_client, tenant, make_lecture):
    ready(tenant, sender_verified_at=None, credit=None)

    response = staff_client.post(PREVIEW, {"body": "안내", "lecture_id": make_lecture(tenant).id}, format="json")

    assert response.status_code == 200
    assert (response.json()["recipients"], response.json()["recipient_count"], response.json()["sender_verified"],
            response.json()["credit_sufficient"]) == ([], 0, False, True)


def make_send(tenant, student, **spec):
    return send_create(tenant=tenant, spec=SendSpec(student_ids=[student.id], **{"body": "안내", **spec}))


def test_the_list_is_newest_first_paginated_and_filters_by_status(staff_client, tenant, make_student):
    ready(tenant)
    student = make_student(tenant)
    older = make_send(tenant, student, body="첫째")
    newer = make_send(tenant, student, body="둘째", send_at=NOON + dt.timedelta(hours=3))

    everything = staff_client.get(SENDS)
    scheduled = staff_client.get(SENDS, {"status": "SCHEDULED", "page_size": 1})

    assert everything.status_code == 200
    assert [row["id"] for row in everything.json()["results"]] == [newer.id, older.id]
    assert everything.json()["results"][1] | {"created_at": None} == {
        "id": older.id, "status": "QUEUED", "purpose": "info", "mode": "sms", "to": "parent", "template_id": None,
        "subject": "", "body": "첫째", "selection": {"student_ids": [student.id]}, "send_at": None,
        "recipient_count": 1, "skipped_count": 0, "estimated_cost": "20.00", "trigger": "manual", "trigger_key": "",
        "job_id": str(older.job_id), "created_by_id": None, "created_by_name": None, "created_at": None,
        "finished_at": None, "cancelled_at": None}
    assert [row["id"] for row in scheduled.json()["results"]] == [newer.id]
    assert scheduled.json()["count"] == 1
    assert staff_client.get(SENDS, {"status": "LOST"}).status_code == 400


def test_the_detail_counts_recipients_by_status(staff_client, tenant, make_student):
    ready(tenant)
    send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름}", student_ids=[
        make_student(tenant, "가은").id, make_student(tenant, "나연").id, make_student(tenant, "다인", phone="").id]))
    first = MessageRecipient.objects.filter(send=send).order_by("id").first()
    MessageRecipient.objects.filter(id=first.id).update(status="DELIVERED", charged_amount=Decimal("20"))

    response = staff_client.get(detail(send.id))

    assert response.status_code == 200
    body = response.json()
    assert body["status_counts"] == {"PENDING": 2, "SENDING": 0, "SENT": 0, "DELIVERED": 1, "FAILED": 0,
                                     "UNKNOWN": 0, "CANCELLED": 0}
    assert (body["charged_total"], body["skipped"], body["recipient_count"]) == ("20.00", [], 3)


def test_recipients_are_listed_with_masked_phones_and_filtered_by_status(staff_client, tenant, make_student):
    ready(tenant)
    first = make_student(tenant, "김민준", parent_phone="01011112222")
    second = make_student(tenant, "이서연", parent_phone="01033334444")
    send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 안내", student_ids=[first.id, second.id]))
    failed = MessageRecipient.objects.get(send=send, student=second)
    MessageRecipient.objects.filter(id=failed.id).update(status="FAILED", provider_code="3104",
                                                         reason="카카오톡 사용자가 아닙니다.", sent_type="ATA")

    everything = staff_client.get(f"{detail(send.id)}recipients/")
    only_failed = staff_client.get(f"{detail(send.id)}recipients/", {"status": "FAILED"})

    assert everything.status_code == 200
    assert [(row["student_name"], row["phone"], row["status"]) for row in everything.json()["results"]] == [
        ("김민준", "010****2222", "PENDING"), ("이서연", "010****4444", "FAILED")]
    row = only_failed.json()["results"][0]
    assert (only_failed.json()["count"], row["provider_code"], row["reason"], row["sent_type"], row["text"]) == (
        1, "3104", "카카오톡 사용자가 아닙니다.", "ATA", "이서연 안내")
    assert "01011112222" not in everything.content.decode() and "01033334444" not in everything.content.decode()


def test_cancel_over_http(staff_client, tenant, make_student):
    ready(tenant)
    send = make_send(tenant, make_student(tenant))

    response = staff_client.post(f"{detail(send.id)}cancel/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancelled_at"] is not None) == ("CANCELLED", True)
    MessageSend.objects.filter(id=send.id).update(status="DONE", cancelled_at=None)
    finished = staff_client.post(f"{detail(send.id)}cancel/")
    assert (finished.status_code, finished.json()["code"]) == (409, "SEND_ALREADY_FINISHED")


def test_the_outbox_shows_what_the_embedded_provider_took_with_masked_phones(staff_client, tenant, make_student,
                                                                            settings):
    from apps.domains.messaging.tests.sending_support import run_handler

    settings.MESSAGING_PROVIDER = "outbox"
    ready(tenant)
    student = make_student(tenant, "김민준", parent_phone="01011112222")
    send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 학생 내일 휴강", student_ids=[student.id]))
    recipient = MessageRecipient.objects.get(send=send)

    before = staff_client.get(f"{detail(send.id)}outbox/")
    run_handler(send.job)
    after = staff_client.get(f"{detail(send.id)}outbox/")

    assert (before.status_code, before.json()["count"]) == (200, 0)
    assert after.status_code == 200
    [row] = after.json()["results"]
    assert (row["recipient_id"], row["to"], row["text"], row["type"], row["status_code"]) == (
        str(recipient.uid), "010****2222", "김민준 학생 내일 휴강", "SMS", "2000")
    assert "01011112222" not in after.content.decode()
    listed = staff_client.get(f"{detail(send.id)}recipients/").json()["results"][0]
    assert (listed["uid"], listed["provider_message_id"]) == (str(recipient.uid), row["provider_message_id"])


def test_the_outbox_is_409_where_a_real_provider_sends(staff_client, tenant, make_student, settings):
    ready(tenant)
    send = make_send(tenant, make_student(tenant))
    settings.MESSAGING_PROVIDER = "solapi"

    response = staff_client.get(f"{detail(send.id)}outbox/")

    assert (response.status_code, response.json()["code"]) == (409, "OUTBOX_NOT_IN_USE")
    assert korean(response.json()["message"])


# ---------------------------------------------------------------------------------------------------- who and whose

@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.TEACHER, Role.STAFF])
def test_every_staff_role_may_send(make_user, client_for, tenant, make_student, role):
    ready(tenant)

    response = client_for(make_user(tenant, role)).post(
        SENDS, {"body": "안내", "student_ids": [make_student(tenant).id]}, format="json")

    assert response.status_code == 202


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_students_and_parents_may_not_touch_sends(make_user, client_for, tenant, make_student, role):
    ready(tenant)
    send = make_send(tenant, make_student(tenant))
    client = client_for(make_user(tenant, role))

    answers = [client.post(SENDS, {"body": "안내", "student_ids": [send.recipients.first().student_id]},
                           format="json"),
               client.post(PREVIEW, {"body": "안내", "student_ids": [1]}, format="json"),
               client.get(SENDS), client.get(detail(send.id)), client.get(f"{detail(send.id)}recipients/"),
               client.get(f"{detail(send.id)}outbox/"), client.post(f"{detail(send.id)}cancel/")]

    assert [answer.status_code for answer in answers] == [403] * 7
    assert MessageSend.objects.get(id=send.id).status == "QUEUED"


def test_anonymous_callers_are_401():
    client = APIClient()

    assert [client.get(SENDS).status_code, client.post(PREVIEW, {}, format="json").status_code] == [401, 401]


def test_another_academys_send_is_404_everywhere(staff_client, tenant, other_tenant, make_student):
    ready(tenant)
    ready(other_tenant)
    theirs = make_send(other_tenant, make_student(other_tenant))
    make_send(tenant, make_student(tenant))

    answers = [staff_client.get(detail(theirs.id)), staff_client.get(f"{detail(theirs.id)}recipients/"),
               staff_client.get(f"{detail(theirs.id)}outbox/"), staff_client.post(f"{detail(theirs.id)}cancel/")]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(404, "NOT_FOUND")] * 4
    assert theirs.id not in [row["id"] for row in staff_client.get(SENDS).json()["results"]]
    assert MessageSend.objects.get(id=theirs.id).status == "QUEUED"
    assert not CreditEntry.objects.filter(tenant=other_tenant, kind="RELEASE").exists()


@pytest.mark.parametrize("kind", ["student", "lecture", "session", "template"])
def test_another_academys_rows_are_404_to_send_and_preview(
        staff_client, tenant, other_tenant, make_student, make_lecture, make_session, kind):
    ready(tenant)
    mine = make_student(tenant)
    their_lecture = make_lecture(other_tenant)
    data, code = {
        "student": ({"body": "안내", "student_ids": [make_student(other_tenant).id]}, "STUDENT_NOT_FOUND"),
        "lecture": ({"body": "안내", "lecture_id": their_lecture.id}, "LECTURE_NOT_FOUND"),
        "session": ({"body": "안내", "session_id": make_session(their_lecture).id}, "SESSION_NOT_FOUND"),
        "template": ({"template_id": MessageTemplate.objects.create(tenant=other_tenant, name="t", body="안내").id,
                      "student_ids": [mine.id]}, "TEMPLATE_NOT_FOUND"),
    }[kind]

    answers = [staff_client.post(url, data, format="json") for url in (SENDS, PREVIEW)]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(404, code), (404, code)]
    assert not MessageSend.objects.exists()
