"""The catalog HTTP API: shapes, codes, staff vs admin, and every endpoint refusing another academy's ids."""

import datetime as dt

import pytest
import time_machine
from django.forms.models import model_to_dict

from apps.core.models import Role
from apps.domains.messaging.catalog import (
    auto_notice_setting_update,
    message_consent_record,
    message_opt_out_add,
    message_template_create,
)
from apps.domains.messaging.models import AutoNoticeSetting, MessageConsent, MessageOptOut, MessageTemplate
from apps.domains.messaging.rules import KST
from apps.integrations.messaging import reset_message_provider_for_tests
from apps.integrations.tests.conftest import fake_solapi  # noqa: F401 (the fake Solapi server fixture)

pytestmark = pytest.mark.django_db

TEMPLATES = "/api/v1/messaging/templates/"
CONSENTS = "/api/v1/messaging/consents/"
OPT_OUTS = "/api/v1/messaging/opt-outs/"
NOTICES = "/api/v1/messaging/notices/"
ABSENCE = "[#{학원명}] #{학생이름} 학생이 #{날짜} #{강의명} 수업에 결석했습니다."


@pytest.fixture
def teacher_client(client_for, make_user, tenant):
    return client_for(make_user(tenant, Role.TEACHER))


@pytest.fixture
def outbox(settings):
    settings.MESSAGING_PROVIDER = "outbox"
    reset_message_provider_for_tests()
    yield
    reset_message_provider_for_tests()


def korean(response) -> bool:
    return any("가" <= ch <= "힣" for ch in response.json()["message"])


# ---------------------------------------------------------------------------------------------------- templates

def test_an_admin_creates_a_template_and_sees_its_variables(admin_client, admin_user):
    response = admin_client.post(TEMPLATES, {"name": "결석 알림", "category": "attendance", "body": ABSENCE},
                                 format="json")

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"], "name": "결석 알림", "channel": "sms", "category": "attendance", "subject": "",
        "body": ABSENCE, "variables": ["학원명", "학생이름", "날짜", "강의명"], "unsupported_characters": [],
        "provider_template_id": "", "review_status": "NOT_REQUIRED", "review_checked_at": None,
        "created_by_username": admin_user.username, "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_an_alimtalk_template_reports_its_emoji_and_starts_pending(admin_client):
    response = admin_client.post(TEMPLATES, {"name": "알림톡", "channel": "alimtalk", "body": "#{학생이름} 🙂",
                                             "provider_template_id": "TPL_APPROVED"}, format="json")

    assert response.status_code == 201
    assert response.json()["review_status"] == "PENDING"
    assert response.json()["unsupported_characters"] == [{"index": 8, "char": "🙂", "codepoint": "U+1F642"}]


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"name": "x", "body": ""}, 400, "TEMPLATE_BODY_EMPTY"),
    ({"name": "x", "body": "#{이름"}, 400, "TEMPLATE_VARIABLE_MALFORMED"),
    ({"name": "x", "body": "축하해요 🎉"}, 400, "UNSUPPORTED_CHARACTERS"),
    ({"name": "x", "body": "안내", "subject": "가" * 21}, 400, "SUBJECT_TOO_LONG"),
    ({"name": "x", "body": "안내", "channel": "alimtalk"}, 400, "ALIMTALK_TEMPLATE_ID_REQUIRED"),
    ({"name": "x", "body": "안내", "channel": "fax"}, 400, "VALIDATION_ERROR"),
    ({"name": "", "body": "안내"}, 400, "VALIDATION_ERROR"),
    ({"name": "결석 알림", "body": "안내"}, 409, "TEMPLATE_NAME_TAKEN"),
])
def test_bad_templates_are_korean_errors_and_store_nothing(admin_client, tenant, data, status, code):
    message_template_create(tenant=tenant, name="결석 알림", body=ABSENCE)

    response = admin_client.post(TEMPLATES, data, format="json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert korean(response)
    assert MessageTemplate.objects.count() == 1


def test_unsupported_characters_say_where_they_are(admin_client):
    response = admin_client.post(TEMPLATES, {"name": "x", "body": "가😀나"}, format="json")

    assert response.json()["details"] == {
        "characters": [{"index": 1, "char": "😀", "codepoint": "U+1F600"}], "field": "body"}


def test_the_list_filters_by_channel_and_category_and_hides_deleted(teacher_client, admin_client, tenant):
    sms = message_template_create(tenant=tenant, name="가 결석", category="attendance", body=ABSENCE)
    message_template_create(tenant=tenant, name="나 공지", category="notice", body="공지")
    kakao = message_template_create(tenant=tenant, name="다 알림톡", channel="alimtalk", category="attendance",
                                    body=ABSENCE, provider_template_id="T")
    gone = message_template_create(tenant=tenant, name="라 지움", body="x")
    admin_client.delete(f"{TEMPLATES}{gone.id}/")

    def names(query=""):
        response = teacher_client.get(TEMPLATES + query)
        assert response.status_code == 200
        return [row["name"] for row in response.json()["results"]]

    assert names() == ["가 결석", "나 공지", "다 알림톡"]
    assert names("?category=attendance") == [sms.name, kakao.name]
    assert names("?channel=alimtalk&category=attendance") == [kakao.name]
    assert teacher_client.get(f"{TEMPLATES}{gone.id}/").status_code == 404


def test_patch_changes_the_given_fields_and_an_edited_alimtalk_body_is_reviewed_again(admin_client, tenant, outbox):
    template = message_template_create(tenant=tenant, name="알림톡", channel="alimtalk", body=ABSENCE,
                                       provider_template_id="T1")
    admin_client.post(f"{TEMPLATES}{template.id}/sync/")

    renamed = admin_client.patch(f"{TEMPLATES}{template.id}/", {"name": "결석 알림톡"}, format="json")
    edited = admin_client.patch(f"{TEMPLATES}{template.id}/", {"body": "#{학생이름} 결석"}, format="json")

    assert (renamed.status_code, renamed.json()["review_status"]) == (200, "APPROVED")
    assert (edited.status_code, edited.json()["review_status"], edited.json()["variables"]) == (
        200, "PENDING", ["학생이름"])


def test_teachers_read_templates_but_only_admins_write(teacher_client, tenant):
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)

    assert teacher_client.get(TEMPLATES).status_code == 200
    assert teacher_client.get(f"{TEMPLATES}{template.id}/").status_code == 200
    refusals = [
        teacher_client.post(TEMPLATES, {"name": "x", "body": "y"}, format="json"),
        teacher_client.patch(f"{TEMPLATES}{template.id}/", {"body": "y"}, format="json"),
        teacher_client.delete(f"{TEMPLATES}{template.id}/"),
        teacher_client.post(f"{TEMPLATES}{template.id}/sync/"),
    ]
    assert [r.status_code for r in refusals] == [403] * 4
    template.refresh_from_db()
    assert (template.body, template.deleted_at, MessageTemplate.objects.count()) == (ABSENCE, None, 1)


def test_students_and_parents_see_no_templates(client_for, make_user, tenant):
    for role in (Role.STUDENT, Role.PARENT):
        assert client_for(make_user(tenant, role)).get(TEMPLATES).status_code == 403


def test_deleting_a_template_a_notice_uses_is_409(admin_client, tenant):
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)
    auto_notice_setting_update(tenant=tenant, kind="late", data={"template_id": template.id})

    response = admin_client.delete(f"{TEMPLATES}{template.id}/")

    assert (response.status_code, response.json()["code"], response.json()["details"]) == (
        409, "TEMPLATE_IN_USE", {"notices": ["late"]})
    assert MessageTemplate.objects.get(id=template.id).deleted_at is None


@pytest.mark.parametrize(("code", "provider_status", "review_status"), [
    ("TPL_APPROVED", "APPROVED", "APPROVED"), ("TPL_REJECTED", "REJECTED", "REJECTED"),
    ("TPL_MISSING", "NOT_FOUND", "REJECTED"),
])
def test_sync_asks_solapi_and_stores_the_review(admin_client, tenant, fake_solapi, code, provider_status,  # noqa: F811
                                                review_status):
    fake_solapi.templates["TPL_REJECTED"] = "REJECTED"
    template = message_template_create(tenant=tenant, name="알림톡", channel="alimtalk", body=ABSENCE,
                                       provider_template_id=code)

    response = admin_client.post(f"{TEMPLATES}{template.id}/sync/")

    assert response.status_code == 200
    assert (response.json()["provider_status"], response.json()["review_status"]) == (provider_status,
                                                                                      review_status)
    assert response.json()["review_checked_at"] is not None


def test_sync_when_solapi_is_down_is_503_and_changes_nothing(admin_client, tenant, fake_solapi):  # noqa: F811
    template = message_template_create(tenant=tenant, name="알림톡", channel="alimtalk", body=ABSENCE,
                                       provider_template_id="TPL_APPROVED")
    fake_solapi.fail_next(500)

    response = admin_client.post(f"{TEMPLATES}{template.id}/sync/")

    assert (response.status_code, response.json()["code"]) == (503, "MESSAGE_PROVIDER_UNAVAILABLE")
    template.refresh_from_db()
    assert (template.review_status, template.review_checked_at) == ("PENDING", None)


def test_sync_with_the_outbox_approves_and_an_sms_template_is_409(admin_client, tenant, outbox):
    kakao = message_template_create(tenant=tenant, name="알림톡", channel="alimtalk", body=ABSENCE,
                                    provider_template_id="ANY")
    sms = message_template_create(tenant=tenant, name="문자", body=ABSENCE)

    approved = admin_client.post(f"{TEMPLATES}{kakao.id}/sync/")
    refused = admin_client.post(f"{TEMPLATES}{sms.id}/sync/")

    assert (approved.status_code, approved.json()["review_status"]) == (200, "APPROVED")
    assert (refused.status_code, refused.json()["code"]) == (409, "TEMPLATE_NOT_ALIMTALK")


# ---------------------------------------------------------------------------------------------------- consents

def test_a_teacher_records_consents_and_a_second_call_reconfirms(teacher_client, tenant, make_student):
    a, b = make_student(tenant, name="가"), make_student(tenant, name="나")
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, tzinfo=KST), tick=False):
        first = teacher_client.post(CONSENTS, {"student_ids": [a.id], "holder": "parent", "kind": "ad",
                                               "method": "서면 동의서"}, format="json")
    with time_machine.travel(dt.datetime(2027, 3, 2, 10, tzinfo=KST), tick=False):
        second = teacher_client.post(CONSENTS, {"student_ids": [a.id, b.id], "holder": "parent", "kind": "ad",
                                                "method": "서면 동의서"}, format="json")

    assert first.status_code == second.status_code == 201
    assert (first.json()["created_count"], first.json()["reconfirmed_count"]) == (1, 0)
    assert (second.json()["created_count"], second.json()["reconfirmed_count"]) == (1, 1)
    [row] = first.json()["consents"]
    assert (row["student_id"], row["student_name"], row["valid"], row["expires_on"], row["created"]) == (
        a.id, "가", True, "2028-03-02", True)
    rows = second.json()["consents"]
    assert [(r["student_id"], r["created"], r["expires_on"]) for r in rows] == [
        (a.id, False, "2029-03-02"), (b.id, True, "2029-03-02")]
    assert rows[0]["reconfirmed_at"] == "2027-03-02T10:00:00+09:00"


@pytest.mark.parametrize(("data", "code"), [
    ({"student_ids": []}, "VALIDATION_ERROR"),
    ({"student_ids": list(range(1, 1002))}, "VALIDATION_ERROR"),
    ({"student_ids": [0]}, "VALIDATION_ERROR"),
    ({"holder": "grandma"}, "VALIDATION_ERROR"),
    ({"kind": "spam"}, "VALIDATION_ERROR"),
    ({"method": " "}, "VALIDATION_ERROR"),
    ({"granted_at": "2099-01-01T00:00:00+09:00"}, "CONSENT_GRANTED_AT_INVALID"),
    ({"granted_at": "1990-01-01T00:00:00+09:00"}, "CONSENT_GRANTED_AT_INVALID"),
])
def test_bad_consents_are_400_and_record_nothing(teacher_client, tenant, make_student, data, code):
    student = make_student(tenant)
    body = {"student_ids": [student.id], "holder": "parent", "kind": "ad", "method": "서면", **data}

    response = teacher_client.post(CONSENTS, body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert not MessageConsent.objects.exists()


@time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=KST), tick=False)
def test_the_consent_list_filters_by_validity_student_kind_and_holder(teacher_client, tenant, make_student):
    a, b = make_student(tenant, name="가"), make_student(tenant, name="나")
    now = dt.datetime(2026, 11, 28, 12, tzinfo=KST)

    def record(student, kind, holder, granted_at):
        [r] = message_consent_record(tenant=tenant, student_ids=[student.id], holder=holder, kind=kind,
                                     method="서면", granted_at=granted_at, now=now)
        return r.consent.id

    fresh = record(a, "ad", "parent", dt.datetime(2026, 1, 5, tzinfo=KST))
    old = record(a, "ad_night", "parent", dt.datetime(2024, 11, 27, tzinfo=KST))
    own = record(b, "ad", "student", dt.datetime(2025, 6, 1, tzinfo=KST))
    withdrawn = record(b, "ad", "parent", dt.datetime(2026, 6, 1, tzinfo=KST))
    teacher_client.post(f"{CONSENTS}{withdrawn}/withdraw/")

    def ids(query):
        response = teacher_client.get(CONSENTS + query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {fresh, old, own, withdrawn}
    assert ids("?valid=true") == {fresh, own}
    assert ids("?valid=false") == {old, withdrawn}
    assert ids(f"?student={a.id}") == {fresh, old}
    assert ids("?kind=ad&holder=parent") == {fresh, withdrawn}
    assert ids(f"?student={b.id}&valid=true") == {own}
    assert teacher_client.get(CONSENTS + "?valid=maybe").status_code == 400


def test_withdrawing_is_idempotent(teacher_client, tenant, make_student):
    student = make_student(tenant)
    [recorded] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad",
                                        method="서면")

    first = teacher_client.post(f"{CONSENTS}{recorded.consent.id}/withdraw/")
    second = teacher_client.post(f"{CONSENTS}{recorded.consent.id}/withdraw/")

    assert first.status_code == second.status_code == 200
    assert first.json()["withdrawn_at"] == second.json()["withdrawn_at"] is not None
    assert first.json()["valid"] is False


# ---------------------------------------------------------------------------------------------------- opt-outs

def test_opt_outs_are_added_once_listed_masked_and_found_by_full_number(teacher_client, tenant):
    created = teacher_client.post(OPT_OUTS, {"phone": "010-1234-5678", "memo": "전화로 요청"}, format="json")
    again = teacher_client.post(OPT_OUTS, {"phone": "+82 10 1234 5678"}, format="json")
    teacher_client.post(OPT_OUTS, {"phone": "02-555-0100"}, format="json")

    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["phone"] == again.json()["phone"] == "010****5678"
    assert again.json()["memo"] == "전화로 요청"
    listing = teacher_client.get(OPT_OUTS).json()
    assert [row["phone"] for row in listing["results"]] == ["025****0100", "010****5678"]
    assert "01012345678" not in str(listing)
    found = teacher_client.get(OPT_OUTS, {"phone": "010 1234 5678"}).json()["results"]
    assert [row["id"] for row in found] == [created.json()["id"]]
    assert teacher_client.get(OPT_OUTS, {"phone": "010-9999-0000"}).json()["results"] == []


@pytest.mark.parametrize("phone", ["1588-1234", "010-12", "전화번호"])
def test_an_invalid_opt_out_number_is_400(teacher_client, phone):
    response = teacher_client.post(OPT_OUTS, {"phone": phone}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_PHONE")
    assert korean(response)
    assert teacher_client.get(OPT_OUTS, {"phone": phone}).status_code == 400
    assert not MessageOptOut.objects.exists()


def test_only_admins_remove_an_opt_out(teacher_client, admin_client, tenant):
    opt_out, _ = message_opt_out_add(tenant=tenant, phone="01012345678")

    assert teacher_client.delete(f"{OPT_OUTS}{opt_out.id}/").status_code == 403
    assert MessageOptOut.objects.filter(id=opt_out.id).exists()
    assert admin_client.delete(f"{OPT_OUTS}{opt_out.id}/").status_code == 204
    assert not MessageOptOut.objects.filter(id=opt_out.id).exists()


# ---------------------------------------------------------------------------------------------------- notices

def test_the_notice_list_has_all_four_kinds_off_by_default(admin_client):
    response = admin_client.get(NOTICES)

    assert response.status_code == 200
    assert [(r["kind"], r["enabled"], r["template"], r["mode"], r["audience"]) for r in response.json()] == [
        ("absence", False, None, "sms", "parent"), ("late", False, None, "sms", "parent"),
        ("welcome", False, None, "sms", "parent"), ("exam_published", False, None, "sms", "parent")]
    assert response.json()[0]["kind_label"] == "결석 알림"


def test_an_admin_enables_a_notice_with_a_template(admin_client, tenant):
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)

    response = admin_client.patch(f"{NOTICES}absence/", {"enabled": True, "template_id": template.id,
                                                         "audience": "both"}, format="json")

    assert response.status_code == 200
    assert response.json()["template"] == {"id": template.id, "name": "결석", "channel": "sms",
                                           "review_status": "NOT_REQUIRED"}
    listed = {r["kind"]: r for r in admin_client.get(NOTICES).json()}
    assert (listed["absence"]["enabled"], listed["absence"]["audience"], listed["late"]["enabled"]) == (
        True, "both", False)


@pytest.mark.parametrize(("kind", "data", "status", "code"), [
    ("absence", {"enabled": True}, 400, "NOTICE_TEMPLATE_REQUIRED"),
    ("absence", {"mode": "alimtalk", "template_id": "{sms}"}, 400, "NOTICE_TEMPLATE_CHANNEL_MISMATCH"),
    ("absence", {"mode": "alimtalk", "template_id": "{pending}", "enabled": True}, 409, "TEMPLATE_NOT_APPROVED"),
    ("absence", {"template_id": 999999999}, 404, "TEMPLATE_NOT_FOUND"),
    ("absence", {"mode": "pigeon"}, 400, "VALIDATION_ERROR"),
    ("birthday", {"enabled": False}, 404, "NOTICE_KIND_NOT_FOUND"),
])
def test_bad_notice_settings_are_refused_and_change_nothing(admin_client, tenant, kind, data, status, code):
    ids = {"{sms}": message_template_create(tenant=tenant, name="문자", body=ABSENCE).id,
           "{pending}": message_template_create(tenant=tenant, name="알림톡", channel="alimtalk", body=ABSENCE,
                                                provider_template_id="T").id}
    data = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in data.items()}

    response = admin_client.patch(f"{NOTICES}{kind}/", data, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not AutoNoticeSetting.objects.filter(template__isnull=False).exists()
    assert not AutoNoticeSetting.objects.filter(enabled=True).exists()


def test_teachers_cannot_see_or_change_notice_settings(teacher_client):
    assert teacher_client.get(NOTICES).status_code == 403
    assert teacher_client.patch(f"{NOTICES}absence/", {"enabled": False}, format="json").status_code == 403
    assert not AutoNoticeSetting.objects.exists()


# ---------------------------------------------------------------------------------------------------- tenants

@pytest.fixture
def world(tenant, make_student):
    """Tenant A's rows, which tenant B's admin must never reach."""
    student = make_student(tenant, name="김철수", parent_phone="01011112222")
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)
    kakao = message_template_create(tenant=tenant, name="알림톡", channel="alimtalk", body=ABSENCE,
                                    provider_template_id="T")
    [recorded] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad",
                                        method="서면")
    opt_out, _ = message_opt_out_add(tenant=tenant, phone="01011112222")
    return {"student": student.id, "template": template.id, "kakao": kakao.id, "consent": recorded.consent.id,
            "opt_out": opt_out.id}


def a_rows(tenant) -> dict:
    models = [MessageTemplate, MessageConsent, MessageOptOut, AutoNoticeSetting]
    return {m.__name__: [model_to_dict(row) for row in m.objects.filter(tenant=tenant).order_by("id")]
            for m in models}


FOREIGN_ID_CASES = {
    "template-detail": ("get", TEMPLATES + "{template}/", None),
    "template-patch": ("patch", TEMPLATES + "{template}/", {"name": "탈취"}),
    "template-delete": ("delete", TEMPLATES + "{template}/", None),
    "template-sync": ("post", TEMPLATES + "{kakao}/sync/", None),
    "consent-withdraw": ("post", CONSENTS + "{consent}/withdraw/", None),
    "opt-out-delete": ("delete", OPT_OUTS + "{opt_out}/", None),
    "body-consent-student": ("post", CONSENTS, {"student_ids": ["{student}"], "holder": "parent", "kind": "ad",
                                                "method": "서면"}),
    "body-notice-template": ("patch", NOTICES + "absence/", {"template_id": "{template}"}),
}


def fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.fixture
def b_admin(client_for, make_user, other_tenant):
    return client_for(make_user(other_tenant, Role.ADMIN))


@pytest.mark.parametrize("case", FOREIGN_ID_CASES)
def test_another_academys_ids_answer_404_and_change_nothing(world, b_admin, tenant, other_tenant, outbox, case):
    method, url, body = FOREIGN_ID_CASES[case]
    before = a_rows(tenant)

    response = getattr(b_admin, method)(fill(url, world), fill(body, world), format="json")

    assert response.status_code == 404, response.content
    assert response.json()["code"].endswith("NOT_FOUND")
    assert a_rows(tenant) == before
    assert all(rows == [] for name, rows in a_rows(other_tenant).items() if name != "AutoNoticeSetting")
    assert not AutoNoticeSetting.objects.filter(tenant=other_tenant, template__isnull=False).exists()


@pytest.mark.parametrize("url", [TEMPLATES, CONSENTS, OPT_OUTS, CONSENTS + "?student={student}",
                                 OPT_OUTS + "?phone=01011112222"])
def test_lists_never_show_another_academys_rows(world, b_admin, url):
    response = b_admin.get(fill(url, world))

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_notice_settings_are_per_academy(world, b_admin, admin_client, tenant):
    auto_notice_setting_update(tenant=tenant, kind="absence", data={"enabled": True, "template_id": world["template"]})

    theirs = {r["kind"]: r for r in b_admin.get(NOTICES).json()}
    ours = {r["kind"]: r for r in admin_client.get(NOTICES).json()}

    assert (theirs["absence"]["enabled"], theirs["absence"]["template"]) == (False, None)
    assert (ours["absence"]["enabled"], ours["absence"]["template"]["id"]) == (True, world["template"])
