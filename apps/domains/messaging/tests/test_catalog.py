"""The catalog services and selectors: template checks and review sync (outbox and the fake Solapi), the periodic
sync, consent recording, reconfirmation and expiry on a frozen clock, opt-out numbers, notice settings."""

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.core.exceptions import DomainError
from apps.domains.messaging import catalog, selectors
from apps.domains.messaging.catalog import (
    auto_notice_setting_update,
    message_consent_record,
    message_consent_withdraw,
    message_opt_out_add,
    message_template_create,
    message_template_soft_delete,
    message_template_sync,
    message_template_update,
    opt_out_phone_normalize,
    sync_alimtalk_templates,
)
from apps.domains.messaging.models import AutoNoticeSetting, MessageConsent, MessageOptOut, MessageTemplate
from apps.domains.messaging.rules import KST
from apps.integrations.messaging import ProviderError, reset_message_provider_for_tests
from apps.integrations.tests.conftest import fake_solapi  # noqa: F401 (the fake Solapi server fixture)
from apps.jobs import scheduler

pytestmark = pytest.mark.django_db

ABSENCE = "[#{학원명}] #{학생이름} 학생이 #{날짜} #{강의명} 수업에 결석했습니다."


@pytest.fixture
def outbox(settings):
    settings.MESSAGING_PROVIDER = "outbox"
    reset_message_provider_for_tests()
    yield
    reset_message_provider_for_tests()


def alimtalk(tenant, name="결석 알림톡", code="TPL_APPROVED", body=ABSENCE):
    return message_template_create(tenant=tenant, name=name, channel="alimtalk", category="attendance", body=body,
                                   provider_template_id=code)


def refused(code, call, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


# ---------------------------------------------------------------------------------------------------- templates

def test_an_sms_template_needs_no_review_and_an_alimtalk_one_starts_pending(tenant):
    sms = message_template_create(tenant=tenant, name="결석", body=ABSENCE + "\r\n", subject=" 결석 안내 ")
    kakao = alimtalk(tenant)

    assert (sms.review_status, sms.subject, sms.body) == ("NOT_REQUIRED", "결석 안내", ABSENCE + "\n")
    assert (kakao.review_status, kakao.review_checked_at) == ("PENDING", None)


@pytest.mark.parametrize(("fields", "code"), [
    ({"body": "  \n "}, "TEMPLATE_BODY_EMPTY"),
    ({"body": "#{학생이름 님"}, "TEMPLATE_VARIABLE_MALFORMED"),
    ({"body": "#{a#{b}}"}, "TEMPLATE_VARIABLE_MALFORMED"),
    ({"body": "안녕하세요 😀"}, "UNSUPPORTED_CHARACTERS"),
    ({"body": "안내", "subject": "🎉 공지"}, "UNSUPPORTED_CHARACTERS"),
    ({"body": "안내", "subject": "가" * 21}, "SUBJECT_TOO_LONG"),
    ({"body": "가" * 1001}, "MESSAGE_TOO_LONG"),
    ({"body": "안내", "provider_template_id": "TPL"}, "TEMPLATE_FIELD_NOT_ALLOWED"),
    ({"body": "안내", "channel": "alimtalk"}, "ALIMTALK_TEMPLATE_ID_REQUIRED"),
    ({"body": "안내", "channel": "alimtalk", "provider_template_id": "T", "subject": "제목"},
     "TEMPLATE_FIELD_NOT_ALLOWED"),
    ({"body": "안내", "channel": "alimtalk", "provider_template_id": "T", "category": "ad"},
     "ALIMTALK_AD_NOT_ALLOWED"),
    ({"body": "가" * 1001, "channel": "alimtalk", "provider_template_id": "T"}, "TEMPLATE_TOO_LONG"),
])
def test_a_template_the_carriers_or_kakao_would_refuse_is_refused_and_not_stored(tenant, fields, code):
    refused(code, message_template_create, tenant=tenant, name="x", **fields)

    assert not MessageTemplate.objects.exists()


def test_an_alimtalk_template_may_carry_emoji_and_a_literal_empty_variable(tenant):
    template = alimtalk(tenant, body="#{학생이름} 학생 출석 🙂 #{}")

    assert template.body == "#{학생이름} 학생 출석 🙂 #{}"


def test_the_sms_subject_limit_counts_euc_kr_bytes(tenant):
    message_template_create(tenant=tenant, name="x", body="안내", subject="가" * 20)

    refused("SUBJECT_TOO_LONG", message_template_create, tenant=tenant, name="y", body="안내", subject="가" * 20 + "a")


def test_names_are_unique_among_live_templates_only(tenant, other_tenant):
    first = message_template_create(tenant=tenant, name="공지", body="안내")
    message_template_create(tenant=other_tenant, name="공지", body="안내")

    refused("TEMPLATE_NAME_TAKEN", message_template_create, tenant=tenant, name=" 공지 ", body="다른 안내")
    other = message_template_create(tenant=tenant, name="공지2", body="안내")
    refused("TEMPLATE_NAME_TAKEN", message_template_update, template=other, data={"name": "공지"})
    message_template_soft_delete(template=first)
    assert message_template_create(tenant=tenant, name="공지", body="새 안내").name == "공지"


def test_editing_an_approved_alimtalk_body_or_code_puts_it_back_into_review(tenant, outbox):
    template = alimtalk(tenant)
    message_template_sync(template=template)
    template.refresh_from_db()
    assert template.review_status == "APPROVED"

    renamed = message_template_update(template=template, data={"name": "새 이름", "category": "notice"})
    assert renamed.review_status == "APPROVED"
    edited = message_template_update(template=template, data={"body": ABSENCE + " 확인 부탁드립니다."})
    assert (edited.review_status, edited.review_checked_at) == ("PENDING", None)
    message_template_sync(template=edited)
    recoded = message_template_update(template=edited, data={"provider_template_id": "TPL_OTHER"})
    assert recoded.review_status == "PENDING"


def test_an_alimtalk_template_turned_sms_needs_no_review_and_drops_its_code(tenant):
    template = alimtalk(tenant)

    changed = message_template_update(template=template, data={"channel": "sms"})

    assert (changed.channel, changed.provider_template_id, changed.review_status) == ("sms", "", "NOT_REQUIRED")


def test_a_template_a_notice_uses_cannot_be_deleted_or_change_channel(tenant):
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)
    auto_notice_setting_update(tenant=tenant, kind="absence", data={"template_id": template.id})

    error = refused("TEMPLATE_IN_USE", message_template_soft_delete, template=template)
    assert error.details == {"notices": ["absence"]}
    refused("TEMPLATE_IN_USE", message_template_update, template=template,
            data={"channel": "alimtalk", "provider_template_id": "T"})
    template.refresh_from_db()
    assert (template.deleted_at, template.channel) == (None, "sms")


@pytest.mark.parametrize(("answer", "stored"), [
    ("TPL_APPROVED", "APPROVED"), ("TPL_REJECTED", "REJECTED"), ("TPL_INSPECTING", "PENDING"),
    ("TPL_UNKNOWN", "REJECTED"),
])
def test_sync_stores_what_solapi_answers(tenant, fake_solapi, answer, stored):  # noqa: F811
    fake_solapi.templates.update({"TPL_REJECTED": "REJECTED", "TPL_INSPECTING": "INSPECTING"})
    template = alimtalk(tenant, code=answer)
    moment = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)

    result = message_template_sync(template=template, now=moment)

    template.refresh_from_db()
    assert (template.review_status, template.review_checked_at) == (stored, moment)
    assert result.provider_status == {"TPL_UNKNOWN": "NOT_FOUND", "TPL_INSPECTING": "PENDING"}.get(answer, stored)
    asked = [r.path for r in fake_solapi.requests if r.method == "GET"]
    assert asked == [f"/kakao/v2/templates/{answer}"]


def test_sync_of_an_sms_template_asks_nobody(tenant, fake_solapi):  # noqa: F811
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)

    refused("TEMPLATE_NOT_ALIMTALK", message_template_sync, template=template)

    assert fake_solapi.requests == []


def test_a_provider_error_during_sync_changes_nothing(tenant, fake_solapi):  # noqa: F811
    template = alimtalk(tenant)
    fake_solapi.fail_next(500)

    with pytest.raises(ProviderError):
        message_template_sync(template=template)

    template.refresh_from_db()
    assert (template.review_status, template.review_checked_at) == ("PENDING", None)


def test_an_answer_about_a_body_edited_meanwhile_is_not_stored(tenant, outbox, monkeypatch):
    template = alimtalk(tenant)
    provider = catalog.get_message_provider()

    def edit_while_asking(template_id):
        MessageTemplate.objects.filter(id=template.id).update(body="바뀐 본문 #{학생이름}")
        return "APPROVED"

    monkeypatch.setattr(provider, "template_status", edit_while_asking)
    message_template_sync(template=template)

    template.refresh_from_db()
    assert (template.review_status, template.review_checked_at) == ("PENDING", None)


# ---------------------------------------------------------------------------------------------------- periodic sync

def test_the_periodic_sync_is_registered_every_ten_minutes():
    [task] = [t for t in scheduler.all_periodic() if t.name == "sync_alimtalk_templates"]

    assert (task.function, task.every_seconds) == ("apps.domains.messaging.catalog.sync_alimtalk_templates", 600)


def test_the_periodic_sync_settles_pending_templates_of_every_tenant(tenant, other_tenant, fake_solapi):  # noqa: F811
    fake_solapi.templates["TPL_REJECTED"] = "REJECTED"
    a = alimtalk(tenant)
    b = alimtalk(other_tenant, code="TPL_REJECTED")
    message_template_create(tenant=tenant, name="문자", body="안내")
    deleted = alimtalk(tenant, name="지운 것", code="TPL_DELETED")
    message_template_soft_delete(template=deleted)

    counts = import_string("apps.domains.messaging.catalog.sync_alimtalk_templates")()

    assert counts == {"checked": 2, "changed": 2, "errors": 0}
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.review_status, b.review_status) == ("APPROVED", "REJECTED")
    assert sorted(r.path for r in fake_solapi.requests) == ["/kakao/v2/templates/TPL_APPROVED",
                                                            "/kakao/v2/templates/TPL_REJECTED"]
    # and a settled template is not asked about again
    assert sync_alimtalk_templates() == {"checked": 0, "changed": 0, "errors": 0}
    assert len(fake_solapi.requests) == 2


def test_the_periodic_sync_is_bounded_and_asks_the_least_recently_checked_first(tenant, fake_solapi):  # noqa: F811
    fake_solapi.templates["TPL_WAIT"] = "INSPECTING"
    templates = [alimtalk(tenant, name=f"t{i}", code="TPL_WAIT") for i in range(3)]
    MessageTemplate.objects.filter(id=templates[0].id).update(review_checked_at=timezone.now())

    first = sync_alimtalk_templates(limit=2)

    assert first == {"checked": 2, "changed": 0, "errors": 0}
    checked = {t.id for t in MessageTemplate.objects.filter(id__in=[t.id for t in templates[1:]],
                                                            review_checked_at__isnull=False)}
    assert checked == {templates[1].id, templates[2].id}


def test_the_periodic_sync_logs_provider_errors_and_goes_on(tenant, fake_solapi, caplog):  # noqa: F811
    first, second = alimtalk(tenant, name="a"), alimtalk(tenant, name="b")
    fake_solapi.fail_next(503)

    with caplog.at_level(logging.WARNING, logger="apps.domains.messaging.catalog"):
        counts = sync_alimtalk_templates()

    assert counts == {"checked": 1, "changed": 1, "errors": 1}
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
            and r.name == "apps.domains.messaging.catalog"] == ["template_sync_failed"]
    statuses = sorted(MessageTemplate.objects.filter(id__in=[first.id, second.id])
                      .values_list("review_status", flat=True))
    assert statuses == ["APPROVED", "PENDING"]


def test_a_permanent_provider_error_ends_the_pass(tenant, fake_solapi):  # noqa: F811
    alimtalk(tenant, name="a")
    alimtalk(tenant, name="b")
    fake_solapi.fail_next(401)

    assert sync_alimtalk_templates() == {"checked": 0, "changed": 0, "errors": 1}
    assert len(fake_solapi.requests) == 1


def test_the_periodic_sync_with_the_outbox_approves(tenant, outbox):
    template = alimtalk(tenant, code="ANY-CODE")

    assert sync_alimtalk_templates() == {"checked": 1, "changed": 1, "errors": 0}
    template.refresh_from_db()
    assert template.review_status == "APPROVED"


# ---------------------------------------------------------------------------------------------------- consents

def kst(*args):
    return dt.datetime(*args, tzinfo=KST)


def test_consents_are_recorded_once_per_student_and_a_second_grant_reconfirms(tenant, make_student, admin_user):
    a, b = make_student(tenant, name="가"), make_student(tenant, name="나")
    with time_machine.travel(kst(2026, 3, 2, 10), tick=False):
        first = message_consent_record(tenant=tenant, student_ids=[a.id, a.id], holder="parent", kind="ad",
                                       method=" 서면 동의서 ", by=admin_user)
    with time_machine.travel(kst(2027, 3, 2, 10), tick=False):
        second = message_consent_record(tenant=tenant, student_ids=[a.id, b.id], holder="parent", kind="ad",
                                        method="전화 녹취")

    assert [r.created for r in first] == [True]
    assert [(r.consent.student_id, r.created) for r in second] == [(a.id, False), (b.id, True)]
    consent = MessageConsent.objects.get(student=a)
    assert (consent.method, consent.granted_at, consent.reconfirmed_at, consent.recorded_by) == (
        "서면 동의서", kst(2026, 3, 2, 10), kst(2027, 3, 2, 10), admin_user)
    assert MessageConsent.objects.count() == 2


def test_a_consent_expires_after_two_years_unless_reconfirmed(tenant, make_student):
    student = make_student(tenant)
    [recorded] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="student", kind="ad",
                                        method="서면", granted_at=kst(2024, 3, 2, 15))
    consent = recorded.consent

    def state(now):
        valid_ids = set(selectors.message_consent_list(tenant=tenant, now=now, valid=True).values_list("id",
                                                                                                   flat=True))
        return (selectors.consent_is_valid(consent, now), consent.id in valid_ids,
                selectors.consent_expires_on(consent, now))

    assert state(kst(2026, 3, 2, 23, 59)) == (True, True, dt.date(2026, 3, 2))
    assert state(kst(2026, 3, 3, 0, 0)) == (False, False, dt.date(2026, 3, 2))
    with time_machine.travel(kst(2026, 3, 1, 9), tick=False):
        message_consent_record(tenant=tenant, student_ids=[student.id], holder="student", kind="ad", method="전화")
    consent.refresh_from_db()
    assert state(kst(2026, 3, 3, 0, 0)) == (True, True, dt.date(2028, 3, 1))


@pytest.mark.parametrize("granted", [
    kst(2024, 2, 29, 12), kst(2024, 2, 28, 0), kst(2024, 3, 1, 0), kst(2024, 2, 27, 23, 59),
])
@pytest.mark.parametrize("now", [kst(2026, 2, 27, 12), kst(2026, 2, 28, 23, 59), kst(2026, 3, 1, 0, 0)])
def test_the_valid_filter_agrees_with_the_rule_around_a_leap_day(tenant, make_student, granted, now):
    student = make_student(tenant)
    [recorded] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad",
                                        method="서면", granted_at=granted, now=now)

    expected = selectors.consent_is_valid(recorded.consent, now)

    assert set(selectors.message_consent_list(tenant=tenant, now=now, valid=expected)) == {recorded.consent}
    assert not selectors.message_consent_list(tenant=tenant, now=now, valid=not expected).exists()


def test_a_withdrawn_consent_is_invalid_and_withdrawing_again_keeps_the_first_moment(tenant, make_student):
    student = make_student(tenant)
    [recorded] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad_night",
                                        method="서면")
    first = message_consent_withdraw(consent=recorded.consent, now=kst(2026, 5, 1, 9))
    again = message_consent_withdraw(consent=recorded.consent, now=kst(2026, 6, 1, 9))

    assert first.withdrawn_at == again.withdrawn_at == kst(2026, 5, 1, 9)
    assert selectors.consent_is_valid(again, kst(2026, 5, 2)) is False
    # and a new consent after the withdrawal is a new record
    [new] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad_night",
                                   method="서면")
    assert new.created is True
    assert MessageConsent.objects.count() == 2


def test_a_foreign_or_deleted_student_records_nothing_for_anyone(tenant, other_tenant, make_student):
    mine = make_student(tenant)
    deleted = make_student(tenant, name="삭제", deleted_at=timezone.now())
    foreign = make_student(other_tenant)

    error = refused("STUDENT_NOT_FOUND", message_consent_record, tenant=tenant,
                    student_ids=[mine.id, foreign.id, deleted.id], holder="parent", kind="ad", method="서면")

    assert error.status_code == 404
    assert error.details == {"student_ids": [foreign.id, deleted.id]}
    assert not MessageConsent.objects.exists()


@pytest.mark.parametrize("granted_at", [kst(1999, 12, 31, 23), kst(2026, 11, 28, 10, 6)])
def test_a_consent_granted_in_the_future_or_before_2000_is_refused(tenant, make_student, granted_at):
    student = make_student(tenant)

    refused("CONSENT_GRANTED_AT_INVALID", message_consent_record, tenant=tenant, student_ids=[student.id],
            holder="parent", kind="ad", method="서면", granted_at=granted_at, now=kst(2026, 11, 28, 10, 0))

    assert not MessageConsent.objects.exists()


def test_a_browser_clock_a_little_ahead_records_now(tenant, make_student):
    student = make_student(tenant)
    now = kst(2026, 11, 28, 10, 0)

    [recorded] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad",
                                        method="서면", granted_at=now + dt.timedelta(minutes=2), now=now)

    assert recorded.consent.granted_at == now


# ---------------------------------------------------------------------------------------------------- opt-outs

@pytest.mark.parametrize(("text", "digits"), [
    ("010-1234-5678", "01012345678"), ("+82 10 1234 5678", "01012345678"), ("821012345678", "01012345678"),
    ("02-555-0100", "025550100"), ("(031) 123-4567", "0311234567"), ("070.1234.5678", "07012345678"),
    ("011-123-4567", "0111234567"), ("０１０１２３４５６７８", "01012345678"),
])
def test_opt_out_numbers_in_any_common_format_become_digits(text, digits):
    assert opt_out_phone_normalize(text) == digits


@pytest.mark.parametrize("text", ["", "010-1234-567", "1588-1234", "080-123-4567", "abc", "+1 202 555 0100",
                                  "0101234567890", "010-1234-5678 내선"])
def test_other_numbers_are_invalid_phones(text):
    with pytest.raises(DomainError) as caught:
        opt_out_phone_normalize(text)
    assert caught.value.code == "INVALID_PHONE"


def test_adding_a_number_twice_keeps_one_row(tenant, other_tenant):
    first, created = message_opt_out_add(tenant=tenant, phone="010-1234-5678", memo="전화 요청")
    again, created_again = message_opt_out_add(tenant=tenant, phone="01012345678", memo="다시")
    message_opt_out_add(tenant=other_tenant, phone="01012345678")

    assert (created, created_again, again.id, again.memo) == (True, False, first.id, "전화 요청")
    assert MessageOptOut.objects.filter(tenant=tenant).count() == 1


# ---------------------------------------------------------------------------------------------------- notices

def test_notice_settings_default_to_off_for_every_kind(tenant):
    settings = selectors.auto_notice_setting_list(tenant=tenant)

    assert [(s.kind, s.enabled, s.template_id, s.pk) for s in settings] == [
        ("absence", False, None, None), ("late", False, None, None), ("welcome", False, None, None),
        ("exam_published", False, None, None)]


def test_enabling_a_notice_needs_a_fitting_template(tenant, other_tenant, outbox):
    sms = message_template_create(tenant=tenant, name="결석", body=ABSENCE)
    kakao = alimtalk(tenant)
    foreign = message_template_create(tenant=other_tenant, name="결석", body=ABSENCE)

    refused("NOTICE_TEMPLATE_REQUIRED", auto_notice_setting_update, tenant=tenant, kind="absence",
            data={"enabled": True})
    refused("TEMPLATE_NOT_FOUND", auto_notice_setting_update, tenant=tenant, kind="absence",
            data={"template_id": foreign.id})
    refused("NOTICE_TEMPLATE_CHANNEL_MISMATCH", auto_notice_setting_update, tenant=tenant, kind="absence",
            data={"template_id": sms.id, "mode": "alimtalk"})
    refused("NOTICE_TEMPLATE_CHANNEL_MISMATCH", auto_notice_setting_update, tenant=tenant, kind="absence",
            data={"template_id": kakao.id, "mode": "sms"})
    refused("TEMPLATE_NOT_APPROVED", auto_notice_setting_update, tenant=tenant, kind="absence",
            data={"template_id": kakao.id, "mode": "alimtalk_then_sms", "enabled": True})
    assert not AutoNoticeSetting.objects.filter(template__isnull=False).exists()

    message_template_sync(template=kakao)
    setting = auto_notice_setting_update(tenant=tenant, kind="absence", data={
        "template_id": kakao.id, "mode": "alimtalk_then_sms", "enabled": True, "audience": "both"})
    assert (setting.enabled, setting.template_id, setting.mode, setting.audience) == (
        True, kakao.id, "alimtalk_then_sms", "both")
    refused("NOTICE_KIND_NOT_FOUND", auto_notice_setting_update, tenant=tenant, kind="birthday", data={})


# ---------------------------------------------------------------------------------------------------- admin, demo

@pytest.mark.parametrize("model", ["messagetemplate", "messageconsent", "messageoptout", "autonoticesetting"])
def test_the_operator_sees_the_catalog_read_only_and_never_a_full_phone_in_a_list(client, make_user, tenant,
                                                                                  make_student, model):
    operator = make_user(None, "admin", is_staff=True, is_superuser=True)
    client.force_login(operator)
    template = message_template_create(tenant=tenant, name="결석", body=ABSENCE)
    auto_notice_setting_update(tenant=tenant, kind="absence", data={"template_id": template.id})
    student = make_student(tenant, parent_phone="01077778888")
    message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad", method="서면")
    message_opt_out_add(tenant=tenant, phone="010-7777-8888")

    listing = client.get(f"/admin/messaging/{model}/?tenant__id__exact={tenant.id}&q=alpha")
    adding = client.get(f"/admin/messaging/{model}/add/")

    assert listing.status_code == 200
    assert b"01077778888" not in listing.content
    assert adding.status_code == 403
    if model == "messageoptout":
        assert "010****8888" in listing.content.decode()


@time_machine.travel(dt.datetime(2026, 3, 25, 10, tzinfo=KST), tick=False)
def test_seed_demo_adds_templates_and_turns_on_the_absence_and_late_notices_once(settings, tmp_path, outbox):
    from django.core.management import call_command

    from apps.core.models import Tenant

    settings.DEBUG = True
    call_command("seed_demo", "--sample-roster", str(tmp_path / "roster.xlsx"), stdout=None)
    tenant = Tenant.objects.get(code="demo")
    templates = {t.name: t for t in MessageTemplate.objects.filter(tenant=tenant)}
    notices = {s.kind: s for s in AutoNoticeSetting.objects.filter(tenant=tenant)}

    assert {name: (t.channel, t.review_status) for name, t in templates.items()} == {
        "결석 알림": ("sms", "NOT_REQUIRED"), "지각 알림": ("sms", "NOT_REQUIRED"),
        "계정 안내": ("sms", "NOT_REQUIRED"), "성적 발표": ("sms", "NOT_REQUIRED"),
        "결석 알림 (알림톡)": ("alimtalk", "APPROVED")}
    assert templates["결석 알림"].body == ABSENCE
    assert "#{점수}" in templates["성적 발표"].body
    assert templates["계정 안내"].body == ("[#{학원명}] #{학생이름} 학생의 아이디는 #{아이디}입니다. "
                                       "비밀번호 설정 코드: #{설정코드}")
    assert {kind: (s.enabled, s.template.name, s.mode) for kind, s in notices.items()} == {
        "absence": (True, "결석 알림", "sms"), "late": (True, "지각 알림", "sms")}

    # When the demo user turns a notice off and deletes a template, a second run brings neither back
    auto_notice_setting_update(tenant=tenant, kind="late", data={"enabled": False})
    message_template_soft_delete(template=templates["성적 발표"])
    call_command("seed_demo", "--sample-roster", str(tmp_path / "roster.xlsx"), stdout=None)

    assert MessageTemplate.objects.filter(tenant=tenant).count() == 5
    assert MessageTemplate.objects.filter(tenant=tenant, deleted_at__isnull=True).count() == 4
    assert AutoNoticeSetting.objects.get(tenant=tenant, kind="late").enabled is False
