import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
import time_machine

from apps.core.exceptions import DomainError
from apps.domains.messaging import sending
from apps.domains.messaging.models import (
    CreditEntry,
    MessageConsent,
    MessageOptOut,
    MessageRecipient,
    MessageSend,
    MessageTemplate,
)
from apps.domains.messaging.selectors import credit_balance
from apps.domains.messaging.sending import SendSpec, send_cancel, send_create, send_preview
from apps.domains.messaging.tests.sending_support import NOON, alimtalk_template, kst, ready
from apps.jobs.models import Job, JobState


@pytest.fixture(autouse=True)
def clock():
    # The job's not_before is compared with the real clock when it is dispatched: the tests live at NOON.
    with time_machine.travel(NOON, tick=True) as traveller:
        yield traveller


def rows(send, *fields):
    return list(MessageRecipient.objects.filter(send=send).order_by("id").values_list(*fields))


def assert_nothing_stored(tenant):
    assert MessageSend.objects.filter(tenant=tenant).count() == 0
    assert MessageRecipient.objects.filter(tenant=tenant).count() == 0
    assert list(CreditEntry.objects.filter(tenant=tenant).exclude(kind="TOP_UP")) == []
    assert Job.objects.filter(tenant=tenant).count() == 0


def refused(tenant, spec, code, *, status=400, **kwargs):
    with pytest.raises(DomainError) as caught:
        send_create(tenant=tenant, spec=spec, now=NOON, **kwargs)
    assert (caught.value.code, caught.value.status_code) == (code, status), caught.value.message
    assert any("가" <= char <= "힣" for char in caught.value.message)
    assert_nothing_stored(tenant)
    return caught.value


# ---------------------------------------------------------------------------------------------------- the happy path

def test_a_send_stores_its_rows_reserves_the_estimate_and_queues_one_job(tenant, make_student, admin_user):
    ready(tenant)
    first = make_student(tenant, "김민준", parent_phone="01011112222")
    second = make_student(tenant, "이서연", parent_phone="01033334444")

    send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 학생 안내입니다. #{학원명}",
                                                    student_ids=[first.id, second.id]), by=admin_user, now=NOON)

    assert rows(send, "student_id", "role", "phone", "text", "type", "fallback_type", "reserved_amount",
                "status", "not_before") == [
        (first.id, "parent", "01011112222", "김민준 학생 안내입니다. alpha 학원", "SMS", "", Decimal("20.00"),
         "PENDING", None),
        (second.id, "parent", "01033334444", "이서연 학생 안내입니다. alpha 학원", "SMS", "", Decimal("20.00"),
         "PENDING", None),
    ]
    assert (send.status, send.recipient_count, send.estimated_cost, send.skipped, send.trigger, send.created_by) == (
        "QUEUED", 2, Decimal("40.00"), [], "manual", admin_user)
    assert send.selection == {"student_ids": [first.id, second.id]}
    reserve = CreditEntry.objects.get(tenant=tenant, kind="RESERVE")
    assert (reserve.amount, reserve.reference) == (Decimal("-40.00"), f"send:{send.id}")
    assert credit_balance(tenant=tenant) == Decimal("99960.00")
    job = Job.objects.get(id=send.job_id)
    assert (job.kind, job.payload, job.idempotency_key, job.state, job.not_before, job.created_by) == (
        "message_send", {"send_id": send.id}, f"send:{send.id}", JobState.QUEUED, None, admin_user)


def test_both_audiences_send_to_the_student_and_the_parent_and_a_blank_phone_is_skipped(tenant, make_student):
    ready(tenant)
    with_phone = make_student(tenant, "김민준", parent_phone="01011112222", phone="01055556666")
    without = make_student(tenant, "이서연", parent_phone="01033334444")

    send = send_create(tenant=tenant, spec=SendSpec(audience="both", body="안내",
                                                    student_ids=[with_phone.id, without.id]), now=NOON)

    assert rows(send, "student_id", "role", "phone") == [
        (with_phone.id, "student", "01055556666"), (with_phone.id, "parent", "01011112222"),
        (without.id, "parent", "01033334444")]
    assert send.skipped == [{"student_id": without.id, "role": "student", "code": "NO_PHONE"}]


def test_a_phone_that_is_not_a_mobile_is_skipped(tenant, make_student):
    ready(tenant)
    landline = make_student(tenant, "김민준", phone="0255550100")
    blank = make_student(tenant, "이서연")
    mobile = make_student(tenant, "박지후", phone="01055556666")

    send = send_create(tenant=tenant, spec=SendSpec(audience="student", body="안내",
                                                    student_ids=[landline.id, blank.id, mobile.id]), now=NOON)

    assert rows(send, "student_id", "phone") == [(mobile.id, "01055556666")]
    assert send.skipped == [{"student_id": landline.id, "role": "student", "code": "INVALID_PHONE"},
                            {"student_id": blank.id, "role": "student", "code": "NO_PHONE"}]


def test_a_deleted_student_listed_by_id_is_skipped(tenant, make_student):
    ready(tenant)
    alive = make_student(tenant, "김민준")
    gone = make_student(tenant, "이서연", deleted_at=NOON)

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[alive.id, gone.id]), now=NOON)

    assert rows(send, "student_id") == [(alive.id,)]
    assert send.skipped == [{"student_id": gone.id, "role": None, "code": "STUDENT_DELETED"}]


# ---------------------------------------------------------------------------------------------------- selections

def test_a_lecture_sends_to_its_active_enrollments_and_fills_the_lecture_name(
        tenant, make_student, make_lecture, make_enrollment):
    ready(tenant)
    lecture = make_lecture(tenant, "수학 A반")
    active = make_student(tenant, "김민준")
    paused = make_student(tenant, "박지후")
    deleted = make_student(tenant, "최유나", deleted_at=NOON)
    other_lecture = make_student(tenant, "정하윤")
    make_enrollment(lecture, active)
    make_enrollment(lecture, paused, status="PAUSED")
    make_enrollment(lecture, deleted)
    make_enrollment(make_lecture(tenant, "영어"), other_lecture)

    send = send_create(tenant=tenant, spec=SendSpec(body="#{강의명} #{학생이름} #{날짜}", lecture_id=lecture.id),
                       now=NOON)

    assert rows(send, "student_id", "text") == [(active.id, "수학 A반 김민준 11월 24일(화)")]
    assert send.selection == {"lecture_id": lecture.id}
    assert send.skipped == []


def test_a_session_filtered_by_attendance_counts_a_student_without_a_row_as_unmarked(
        tenant, make_student, make_lecture, make_session, make_enrollment, make_attendance):
    ready(tenant)
    lecture = make_lecture(tenant, "수학 A반")
    session = make_session(lecture, date=dt.date(2026, 11, 28))
    students = {name: make_student(tenant, name) for name in ("가은", "나연", "다인", "라희", "마루")}
    enrollments = {name: make_enrollment(lecture, student) for name, student in students.items()}
    make_attendance(session, enrollments["가은"], "ABSENT")
    make_attendance(session, enrollments["나연"], "LATE")
    make_attendance(session, enrollments["다인"], "PRESENT")
    make_attendance(session, enrollments["라희"], "UNMARKED")
    # 마루 has no row at all

    absent_or_late = send_create(tenant=tenant, spec=SendSpec(
        body="#{학생이름} #{강의명} #{날짜}", session_id=session.id, attendance=["ABSENT", "LATE"]), now=NOON)
    unmarked = send_create(tenant=tenant, spec=SendSpec(
        body="#{학생이름} 미확인", session_id=session.id, attendance=["UNMARKED"]), now=NOON)
    everyone = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 전체", session_id=session.id), now=NOON)

    assert rows(absent_or_late, "text") == [("가은 수학 A반 11월 28일(토)",), ("나연 수학 A반 11월 28일(토)",)]
    assert absent_or_late.selection == {"session_id": session.id, "attendance": ["ABSENT", "LATE"]}
    assert rows(unmarked, "text") == [("라희 미확인",), ("마루 미확인",)]
    assert len(rows(everyone, "id")) == 5


def test_per_student_values_fill_the_template_and_may_be_numbers(tenant, make_student):
    ready(tenant)
    first, second = make_student(tenant, "김민준"), make_student(tenant, "이서연")
    template = MessageTemplate.objects.create(tenant=tenant, name="성적", body="#{학생이름} #{점수}점")

    send = send_create(tenant=tenant, spec=SendSpec(template_id=template.id, student_ids=[first.id, second.id],
                                                    values={first.id: {"점수": 95}, second.id: {"점수": 87.5}}),
                       now=NOON)

    assert rows(send, "text") == [("김민준 95점",), ("이서연 87.5점",)]
    assert send.template == template and send.body == "#{학생이름} #{점수}점"


# ---------------------------------------------------------------------------------------------------- refusals

@pytest.mark.parametrize(("spec", "code"), [
    (SendSpec(body="안내"), "SEND_SELECTION_INVALID"),
    (SendSpec(body="안내", student_ids=[]), "SEND_SELECTION_INVALID"),
    (SendSpec(body="안내", student_ids=[1], lecture_id=1), "SEND_SELECTION_INVALID"),
    (SendSpec(body="  \r\n ", student_ids=[1]), "MESSAGE_EMPTY"),
    (SendSpec(body="안내", student_ids=[1], attendance=["ABSENT"]), "ATTENDANCE_FILTER_INVALID"),
    (SendSpec(audience="teacher", body="안내", student_ids=[1]), "SEND_AUDIENCE_INVALID"),
    (SendSpec(mode="fax", body="안내", student_ids=[1]), "MESSAGE_MODE_INVALID"),
    (SendSpec(purpose="spam", body="안내", student_ids=[1]), "MESSAGE_PURPOSE_INVALID"),
    (SendSpec(purpose="ad", mode="alimtalk", body="안내", student_ids=[1]), "ALIMTALK_AD_NOT_ALLOWED"),
    (SendSpec(purpose="ad", mode="alimtalk_then_sms", body="안내", student_ids=[1]), "ALIMTALK_AD_NOT_ALLOWED"),
    (SendSpec(body="안내", subject="제" * 21, student_ids=[1]), "SUBJECT_TOO_LONG"),
    (SendSpec(body="가" * 1000 + "a", student_ids=[1]), "MESSAGE_TOO_LONG"),
    (SendSpec(body="#{학생이름} #{점수}", student_ids=[1]), "TEMPLATE_VARIABLES_MISSING"),
    (SendSpec(body="#{강의명}", student_ids=[1]), "TEMPLATE_VARIABLES_MISSING"),
    (SendSpec(body="#{점수}", student_ids=[1], values={1: {"점수": True}}), "TEMPLATE_VALUE_INVALID"),
    (SendSpec(body="#{점수}", student_ids=[1], values={1: {"점수": [1]}}), "TEMPLATE_VALUE_INVALID"),
    (SendSpec(body="좋아요 😀", student_ids=[1]), "UNSUPPORTED_CHARACTERS"),
    (SendSpec(body="똠방각하", student_ids=[1]), "UNSUPPORTED_CHARACTERS"),
    (SendSpec(body="안내", student_ids=[1], send_at=NOON - dt.timedelta(minutes=2)), "SEND_AT_INVALID"),
    (SendSpec(body="안내", student_ids=[1], send_at=NOON + dt.timedelta(days=30, minutes=1)), "SEND_AT_INVALID"),
    (SendSpec(body="안내", student_ids=[1], send_at=dt.datetime(2026, 11, 25, 9)), "SEND_AT_INVALID"),
])
def test_a_refused_send_stores_nothing(tenant, make_student, spec, code):
    ready(tenant)
    student = make_student(tenant, "김민준")
    # The specs name student 1: point them at the real one.
    ids = {"student_ids": [student.id] if spec.student_ids else spec.student_ids,
           "values": {student.id: spec.values[1]} if spec.values else {}}
    spec = SendSpec(**{**spec.__dict__, **ids})

    refused(tenant, spec, code)


def test_missing_values_for_some_students_refuse_the_send_and_name_them(tenant, make_student):
    ready(tenant)
    given, missing = make_student(tenant, "김민준"), make_student(tenant, "이서연")

    error = refused(tenant, SendSpec(body="#{학생이름} #{점수} #{등수}", student_ids=[given.id, missing.id],
                                     values={given.id: {"점수": 95, "등수": 3}, missing.id: {"점수": " "}}),
                    "TEMPLATE_VARIABLES_MISSING")

    assert error.details == {"missing": ["점수", "등수"], "student_count": 1,
                             "students": [{"student_id": missing.id, "missing": ["점수", "등수"]}]}


def test_a_student_skipped_before_rendering_does_not_need_values(tenant, make_student):
    ready(tenant)
    given = make_student(tenant, "김민준", phone="01055556666")
    no_phone = make_student(tenant, "이서연")

    send = send_create(tenant=tenant, spec=SendSpec(audience="student", body="#{점수}점",
                                                    student_ids=[given.id, no_phone.id],
                                                    values={given.id: {"점수": 0}}), now=NOON)

    assert rows(send, "student_id", "text") == [(given.id, "0점")]
    assert send.skipped == [{"student_id": no_phone.id, "role": "student", "code": "NO_PHONE"}]


def test_unknown_or_foreign_ids_are_404(tenant, other_tenant, make_student, make_lecture, make_session):
    ready(tenant)
    mine = make_student(tenant, "김민준")
    theirs = make_student(other_tenant, "이서연")
    their_lecture = make_lecture(other_tenant)
    their_session = make_session(their_lecture)
    their_template = MessageTemplate.objects.create(tenant=other_tenant, name="t", body="안내")
    deleted_template = MessageTemplate.objects.create(tenant=tenant, name="t", body="안내", deleted_at=NOON)

    error = refused(tenant, SendSpec(body="안내", student_ids=[mine.id, theirs.id, 10**12]), "STUDENT_NOT_FOUND",
                    status=404)
    assert error.details == {"student_ids": [theirs.id, 10**12]}
    refused(tenant, SendSpec(body="안내", lecture_id=their_lecture.id), "LECTURE_NOT_FOUND", status=404)
    refused(tenant, SendSpec(body="안내", session_id=their_session.id), "SESSION_NOT_FOUND", status=404)
    refused(tenant, SendSpec(template_id=their_template.id, student_ids=[mine.id]), "TEMPLATE_NOT_FOUND", status=404)
    refused(tenant, SendSpec(template_id=deleted_template.id, student_ids=[mine.id]), "TEMPLATE_NOT_FOUND",
            status=404)


def test_a_template_and_a_body_together_are_refused(tenant, make_student):
    ready(tenant)
    template = MessageTemplate.objects.create(tenant=tenant, name="t", body="안내")

    refused(tenant, SendSpec(template_id=template.id, body="다른 안내", student_ids=[make_student(tenant).id]),
            "SEND_TEXT_INVALID")


def test_an_unverified_sender_is_409(tenant, make_student):
    ready(tenant, sender_verified_at=None)

    refused(tenant, SendSpec(body="안내", student_ids=[make_student(tenant).id]), "SENDER_NOT_APPROVED", status=409)


def test_nobody_left_after_the_skips_is_no_recipients_with_the_skips(tenant, make_student):
    ready(tenant)
    student = make_student(tenant, "김민준", parent_phone="01011112222")
    MessageOptOut.objects.create(tenant=tenant, phone="01011112222")

    error = refused(tenant, SendSpec(body="안내", student_ids=[student.id]), "NO_RECIPIENTS")

    assert error.details == {"skipped": [{"student_id": student.id, "role": "parent", "code": "OPTED_OUT"}]}


def test_a_short_balance_is_402_and_stores_nothing(tenant, make_student):
    ready(tenant, credit="39.99")
    students = [make_student(tenant).id, make_student(tenant).id]

    error = refused(tenant, SendSpec(body="안내", student_ids=students), "INSUFFICIENT_CREDIT", status=402)

    assert error.details == {"balance": "39.99", "needed": "40.00"}
    assert credit_balance(tenant=tenant) == Decimal("39.99")


def test_a_free_send_reserves_nothing(tenant, make_student):
    ready(tenant, credit=None, price_sms=Decimal("0"))

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id]), now=NOON)

    assert send.estimated_cost == Decimal("0")
    assert not CreditEntry.objects.filter(tenant=tenant).exists()


# ---------------------------------------------------------------------------------------------------- bytes

@pytest.mark.parametrize(("body", "sent_text", "message_type"), [
    ("가" * 45, "가" * 45, "SMS"),  # 90 bytes
    ("가" * 45 + "a", "가" * 45 + "a", "LMS"),  # 91
    ("가" * 44 + "\r\n" + "a", "가" * 44 + "\n" + "a", "SMS"),  # CRLF is one byte: 90
    ("가" * 44 + "\r\n" + "ab", "가" * 44 + "\n" + "ab", "LMS"),  # 91
    ("가" * 1000, "가" * 1000, "LMS"),  # 2,000
])
def test_sms_and_lms_split_at_the_euc_kr_byte_boundaries(tenant, make_student, body, sent_text, message_type):
    ready(tenant)

    send = send_create(tenant=tenant, spec=SendSpec(body=body, student_ids=[make_student(tenant).id]), now=NOON)

    assert rows(send, "text", "type", "reserved_amount") == [
        (sent_text, message_type, Decimal("20.00") if message_type == "SMS" else Decimal("50.00"))]


def test_a_subject_makes_an_lms(tenant, make_student):
    ready(tenant)

    send = send_create(tenant=tenant, spec=SendSpec(body="짧은 안내", subject="공지",
                                                    student_ids=[make_student(tenant).id]), now=NOON)

    assert rows(send, "type", "subject") == [("LMS", "공지")]


def test_the_too_long_refusal_names_the_bytes_and_the_student(tenant, make_student):
    ready(tenant)
    student = make_student(tenant, "김민준")

    error = refused(tenant, SendSpec(body="#{학생이름}" + "가" * 998, student_ids=[student.id]), "MESSAGE_TOO_LONG")

    assert error.details == {"bytes": 2002, "max_bytes": 2000, "student_id": student.id}


def test_unsupported_characters_are_refused_with_their_positions(tenant, make_student):
    ready(tenant)
    student = make_student(tenant, "김민준")

    error = refused(tenant, SendSpec(body="#{학생이름} 축하해요😀", student_ids=[student.id]), "UNSUPPORTED_CHARACTERS")

    assert error.details == {"characters": [{"index": 8, "char": "😀", "codepoint": "U+1F600"}],
                             "student_id": student.id}


def test_the_preview_reports_unsupported_characters_and_counts_them_two_bytes(tenant, make_student):
    ready(tenant)
    student = make_student(tenant, "김민준", parent_phone="01012345678")

    preview = send_preview(tenant=tenant, spec=SendSpec(body="#{학생이름} 축하해요😀", student_ids=[student.id]),
                           now=NOON)

    assert preview["recipients"] == [{
        "student_id": student.id, "role": "parent", "phone": "010****5678", "text": "김민준 축하해요😀",
        "subject": "", "type": "SMS", "fallback_type": "", "bytes": 17, "not_before": None,
        "reserved_amount": Decimal("20.00"),
        "unsupported": [{"index": 8, "char": "😀", "codepoint": "U+1F600"}]}]
    assert preview["unsupported_characters"] == [{"char": "😀", "codepoint": "U+1F600"}]
    assert (preview["type_counts"], preview["estimated_cost"], preview["recipient_count"]) == (
        {"SMS": 1}, Decimal("20.00"), 1)
    assert_nothing_stored(tenant)


@pytest.mark.parametrize(("body", "message_type", "size"), [
    ("가" * 44 + "😀", "SMS", 90),
    ("가" * 44 + "😀a", "LMS", 91),
    ("가" * 999 + "😀", "LMS", 2000),
])
def test_the_preview_counts_an_emoji_two_bytes_at_the_boundaries(tenant, make_student, body, message_type, size):
    ready(tenant)

    preview = send_preview(tenant=tenant, spec=SendSpec(body=body, student_ids=[make_student(tenant).id]), now=NOON)

    assert [(row["type"], row["bytes"], row["unsupported"][0]["index"]) for row in preview["recipients"]] == [
        (message_type, size, body.index("😀"))]


def test_the_preview_refuses_what_it_cannot_render(tenant, make_student):
    ready(tenant)

    with pytest.raises(DomainError) as caught:
        send_preview(tenant=tenant, spec=SendSpec(body="가" * 999 + "😀a", student_ids=[make_student(tenant).id]),
                     now=NOON)

    assert (caught.value.code, caught.value.details["bytes"]) == ("MESSAGE_TOO_LONG", 2001)


# ---------------------------------------------------------------------------------------------------- ads

def consent(tenant, student, holder="parent", kind="ad", granted=NOON - dt.timedelta(days=30), **fields):
    return MessageConsent.objects.create(tenant=tenant, student=student, holder=holder, kind=kind,
                                         method="서면 동의서", granted_at=granted, **fields)


def test_an_ad_goes_only_to_holders_with_a_valid_consent_and_carries_the_ad_layout(tenant, make_student):
    ready(tenant)
    agreed = make_student(tenant, "김민준")
    never = make_student(tenant, "이서연")
    expired = make_student(tenant, "박지후")
    reconfirmed = make_student(tenant, "최유나")
    withdrawn = make_student(tenant, "정하윤")
    student_only = make_student(tenant, "강도윤")
    consent(tenant, agreed)
    # Granted two years and a day ago (KST): past its anniversary.
    consent(tenant, expired, granted=kst(10, day=23).replace(year=2024))
    consent(tenant, reconfirmed, granted=kst(10).replace(year=2023), reconfirmed_at=kst(10).replace(year=2025))
    consent(tenant, withdrawn, withdrawn_at=NOON - dt.timedelta(days=1))
    consent(tenant, student_only, holder="student")

    send = send_create(tenant=tenant, spec=SendSpec(
        purpose="ad", body="#{학생이름} 겨울 특강 모집", student_ids=[
            agreed.id, never.id, expired.id, reconfirmed.id, withdrawn.id, student_only.id]), now=NOON)

    assert rows(send, "student_id", "text") == [
        (agreed.id, "(광고)alpha 학원\n김민준 겨울 특강 모집\n무료수신거부 080-123-4567"),
        (reconfirmed.id, "(광고)alpha 학원\n최유나 겨울 특강 모집\n무료수신거부 080-123-4567")]
    assert send.skipped == [{"student_id": student.id, "role": "parent", "code": "NO_AD_CONSENT"}
                            for student in (never, expired, withdrawn, student_only)]


def test_a_consent_on_its_second_anniversary_still_counts(tenant, make_student):
    ready(tenant)
    student = make_student(tenant)
    consent(tenant, student, granted=kst(9).replace(year=2024))

    send = send_create(tenant=tenant, spec=SendSpec(purpose="ad", body="특강", student_ids=[student.id]), now=NOON)

    assert send.recipient_count == 1


def test_an_ad_needs_the_opt_out_number(tenant, make_student):
    ready(tenant, opt_out_number="")

    refused(tenant, SendSpec(purpose="ad", body="특강", student_ids=[make_student(tenant).id]),
            "OPT_OUT_NUMBER_REQUIRED")


def test_an_ad_at_night_waits_for_eight_unless_the_holder_consented_to_night_ads(tenant, make_student, clock):
    ready(tenant)
    day_only = make_student(tenant, "김민준")
    night_too = make_student(tenant, "이서연")
    consent(tenant, day_only)
    consent(tenant, night_too)
    consent(tenant, night_too, kind="ad_night")
    night = kst(21, 30)
    clock.move_to(night)

    send = send_create(tenant=tenant, spec=SendSpec(purpose="ad", body="특강",
                                                    student_ids=[day_only.id, night_too.id]), now=night)

    assert rows(send, "student_id", "not_before") == [(day_only.id, kst(8, day=25)), (night_too.id, None)]
    assert Job.objects.get(id=send.job_id).not_before is None  # one recipient may go now


def test_a_send_whose_every_recipient_is_held_starts_its_job_at_the_first_allowed_moment(
        tenant, make_student, clock):
    ready(tenant)
    student = make_student(tenant)
    consent(tenant, student)
    night = kst(21, 30)
    clock.move_to(night)

    send = send_create(tenant=tenant, spec=SendSpec(purpose="ad", body="특강", student_ids=[student.id]))

    assert rows(send, "not_before") == [(kst(8, day=25),)]
    assert (send.status, Job.objects.get(id=send.job_id).not_before) == ("QUEUED", kst(8, day=25))


def test_quiet_hours_hold_information_messages_too(tenant, make_student, clock):
    ready(tenant, quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(7))
    student = make_student(tenant)
    late = kst(23, 15)
    clock.move_to(late)

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[student.id]), now=late)

    assert rows(send, "not_before") == [(kst(7, day=25),)]


def test_quiet_hours_and_the_ad_night_covering_the_day_is_refused(tenant, make_student):
    ready(tenant, quiet_hours_start=dt.time(8), quiet_hours_end=dt.time(21))
    student = make_student(tenant)
    consent(tenant, student)

    refused(tenant, SendSpec(purpose="ad", body="특강", student_ids=[student.id]), "NO_SENDING_WINDOW")


# ---------------------------------------------------------------------------------------------------- opt-out, dedup

def test_an_opted_out_phone_is_skipped_for_information_too(tenant, make_student):
    ready(tenant)
    kept = make_student(tenant, "김민준")
    out = make_student(tenant, "이서연", parent_phone="01099998888")
    MessageOptOut.objects.create(tenant=tenant, phone="01099998888")

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[kept.id, out.id]), now=NOON)

    assert rows(send, "student_id") == [(kept.id,)]
    assert send.skipped == [{"student_id": out.id, "role": "parent", "code": "OPTED_OUT"}]


def test_another_academys_opt_out_does_not_apply(tenant, other_tenant, make_student):
    ready(tenant)
    student = make_student(tenant, parent_phone="01099998888")
    MessageOptOut.objects.create(tenant=other_tenant, phone="01099998888")

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[student.id]), now=NOON)

    assert send.recipient_count == 1


def test_a_parent_of_two_children_gets_one_message_per_child_and_a_repeated_student_one(tenant, make_student):
    ready(tenant)
    first = make_student(tenant, "김민준", parent_phone="01011112222")
    sibling = make_student(tenant, "김서준", parent_phone="01011112222")

    send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 안내",
                                                    student_ids=[first.id, sibling.id, first.id]), now=NOON)

    assert rows(send, "student_id", "text") == [(first.id, "김민준 안내"), (sibling.id, "김서준 안내")]
    assert send.skipped == [{"student_id": first.id, "role": "parent", "code": "DUPLICATE"}]
    assert send.estimated_cost == Decimal("40.00")


def test_the_same_text_to_a_parent_of_two_goes_once(tenant, make_student):
    ready(tenant)
    first = make_student(tenant, "김민준", parent_phone="01011112222")
    sibling = make_student(tenant, "김서준", parent_phone="01011112222")

    send = send_create(tenant=tenant, spec=SendSpec(body="내일 휴원합니다", student_ids=[first.id, sibling.id]),
                       now=NOON)

    assert rows(send, "student_id") == [(first.id,)]
    assert send.skipped == [{"student_id": sibling.id, "role": "parent", "code": "DUPLICATE"}]


# ---------------------------------------------------------------------------------------------------- AlimTalk

def test_alimtalk_then_sms_rows_carry_the_variables_and_the_fallback_type(tenant, make_student):
    ready(tenant, price_ata=Decimal("15"), price_sms=Decimal("20"))
    short = make_student(tenant, "김민준")
    template = alimtalk_template(tenant)

    send = send_create(tenant=tenant, spec=SendSpec(mode="alimtalk_then_sms", template_id=template.id,
                                                    student_ids=[short.id]), now=NOON)

    assert rows(send, "type", "fallback_type", "variables", "text", "reserved_amount") == [
        ("ATA", "SMS", {"학생이름": "김민준"}, "김민준 학생이 오늘 결석했습니다.", Decimal("20.00"))]


def test_alimtalk_alone_reserves_the_alimtalk_price_and_has_no_fallback(tenant, make_student):
    ready(tenant)
    template = alimtalk_template(tenant, body="#{학생이름} 학생 안내 😀")

    send = send_create(tenant=tenant, spec=SendSpec(mode="alimtalk", template_id=template.id,
                                                    student_ids=[make_student(tenant, "김민준").id]), now=NOON)

    assert rows(send, "type", "fallback_type", "text", "reserved_amount") == [
        ("ATA", "", "김민준 학생 안내 😀", Decimal("15.00"))]


@pytest.mark.parametrize(("fields", "code"), [
    ({"review_status": "PENDING"}, "ALIMTALK_TEMPLATE_NOT_APPROVED"),
    ({"provider_template_id": ""}, "ALIMTALK_TEMPLATE_NOT_APPROVED"),
    ({"channel": "sms"}, "ALIMTALK_TEMPLATE_NOT_APPROVED"),
    (None, "ALIMTALK_TEMPLATE_NOT_APPROVED"),
])
def test_alimtalk_needs_an_approved_alimtalk_template(tenant, make_student, fields, code):
    ready(tenant)
    spec = SendSpec(mode="alimtalk", student_ids=[make_student(tenant).id], body="안내")
    if fields is not None:
        spec = SendSpec(mode="alimtalk", student_ids=spec.student_ids,
                        template_id=alimtalk_template(tenant, **fields).id)

    refused(tenant, spec, code)


def test_alimtalk_needs_the_kakao_channel(tenant, make_student):
    ready(tenant, kakao_channel_id="")

    refused(tenant, SendSpec(mode="alimtalk", template_id=alimtalk_template(tenant).id,
                             student_ids=[make_student(tenant).id]), "KAKAO_CHANNEL_REQUIRED")


# ---------------------------------------------------------------------------------------------------- scheduling

def test_a_send_at_in_the_future_is_scheduled_and_its_job_waits(tenant, make_student):
    ready(tenant)
    later = NOON + dt.timedelta(days=29)

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id],
                                                    send_at=later), now=NOON)

    job = Job.objects.get(id=send.job_id)
    assert (send.status, send.send_at, job.state, job.not_before, job.external_id) == (
        "SCHEDULED", later, JobState.QUEUED, later, "")


def test_a_send_at_a_few_seconds_ago_goes_now(tenant, make_student):
    ready(tenant)

    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id],
                                                    send_at=NOON - dt.timedelta(seconds=30)), now=NOON)

    assert (send.status, Job.objects.get(id=send.job_id).not_before) == ("QUEUED", None)


def test_a_scheduled_ad_is_judged_at_its_send_at(tenant, make_student):
    ready(tenant)
    student = make_student(tenant)
    consent(tenant, student)
    at_night = kst(22, 0)

    send = send_create(tenant=tenant, spec=SendSpec(purpose="ad", body="특강", student_ids=[student.id],
                                                    send_at=at_night), now=NOON)

    assert rows(send, "not_before") == [(kst(8, day=25),)]
    assert Job.objects.get(id=send.job_id).not_before == kst(8, day=25)


# ---------------------------------------------------------------------------------------------------- once-only

def test_a_trigger_key_makes_the_send_once_only(tenant, make_student):
    ready(tenant)
    student = make_student(tenant)
    spec = SendSpec(body="결석 안내", student_ids=[student.id])

    first = send_create(tenant=tenant, spec=spec, trigger="absence", trigger_key="absence:1:2", now=NOON)
    again = send_create(tenant=tenant, spec=SendSpec(body="다른 내용", student_ids=[student.id]),
                        trigger="absence", trigger_key="absence:1:2", now=NOON)

    assert again.id == first.id
    assert (first.trigger, first.trigger_key) == ("absence", "absence:1:2")
    assert MessageSend.objects.filter(tenant=tenant).count() == 1
    assert CreditEntry.objects.filter(tenant=tenant, kind="RESERVE").count() == 1


def test_a_trigger_key_race_returns_the_winners_send(tenant, make_student):
    ready(tenant)
    student = make_student(tenant)
    winner = send_create(tenant=tenant, spec=SendSpec(body="결석", student_ids=[student.id]), trigger_key="k",
                         now=NOON)
    real = sending._existing
    calls = []

    def lookup(tenant, trigger_key):
        calls.append(trigger_key)
        return None if len(calls) == 1 else real(tenant, trigger_key)  # the first look misses the winner

    with mock.patch.object(sending, "_existing", side_effect=lookup):
        loser = send_create(tenant=tenant, spec=SendSpec(body="결석", student_ids=[student.id]), trigger_key="k",
                            now=NOON)

    assert loser.id == winner.id and len(calls) == 2
    assert MessageSend.objects.filter(tenant=tenant).count() == 1
    assert MessageRecipient.objects.filter(tenant=tenant).count() == 1
    assert CreditEntry.objects.filter(tenant=tenant, kind="RESERVE").count() == 1
    assert Job.objects.filter(tenant=tenant).count() == 1


def test_the_same_trigger_key_in_another_academy_is_another_send(tenant, other_tenant, make_student):
    ready(tenant)
    ready(other_tenant)

    mine = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id]),
                       trigger_key="k", now=NOON)
    theirs = send_create(tenant=other_tenant, spec=SendSpec(body="안내", student_ids=[make_student(other_tenant).id]),
                         trigger_key="k", now=NOON)

    assert mine.id != theirs.id


def test_a_trigger_key_longer_than_its_column_is_a_programming_error(tenant, make_student):
    ready(tenant)

    with pytest.raises(ValueError, match="trigger_key"):
        send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id]),
                    trigger_key="k" * 121, now=NOON)

    assert_nothing_stored(tenant)


# ---------------------------------------------------------------------------------------------------- cancel

def test_cancelling_a_queued_send_cancels_its_rows_and_job_and_releases_the_reservation(tenant, make_student):
    ready(tenant)
    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id,
                                                                            make_student(tenant).id]), now=NOON)

    cancelled = send_cancel(tenant=tenant, send_id=send.id)

    assert (cancelled.status, cancelled.cancelled_at is not None) == ("CANCELLED", True)
    assert rows(send, "status") == [("CANCELLED",), ("CANCELLED",)]
    assert Job.objects.get(id=send.job_id).state == JobState.CANCELLED
    release = CreditEntry.objects.get(tenant=tenant, kind="RELEASE")
    assert (release.amount, release.reference) == (Decimal("40.00"), f"cancel:{send.id}")
    assert credit_balance(tenant=tenant) == Decimal("100000.00")


def test_cancelling_twice_releases_once(tenant, make_student):
    ready(tenant)
    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id],
                                                    send_at=NOON + dt.timedelta(hours=1)), now=NOON)
    assert send.status == "SCHEDULED"

    send_cancel(tenant=tenant, send_id=send.id)
    again = send_cancel(tenant=tenant, send_id=send.id)

    assert again.status == "CANCELLED"
    assert CreditEntry.objects.filter(tenant=tenant, kind="RELEASE").count() == 1
    assert credit_balance(tenant=tenant) == Decimal("100000.00")


def test_cancelling_a_sending_send_cancels_only_its_pending_rows(tenant, make_student):
    ready(tenant)
    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id,
                                                                            make_student(tenant).id]), now=NOON)
    MessageSend.objects.filter(id=send.id).update(status="SENDING")
    first = MessageRecipient.objects.filter(send=send).order_by("id").first()
    MessageRecipient.objects.filter(id=first.id).update(status="SENT")

    result = send_cancel(tenant=tenant, send_id=send.id)

    assert result.status == "SENDING"
    assert rows(send, "status") == [("SENT",), ("CANCELLED",)]
    assert CreditEntry.objects.get(tenant=tenant, kind="RELEASE").amount == Decimal("20.00")
    assert Job.objects.get(id=send.job_id).state == JobState.QUEUED
    with pytest.raises(DomainError) as caught:
        send_cancel(tenant=tenant, send_id=send.id)
    assert (caught.value.code, caught.value.status_code) == ("SEND_ALREADY_STARTED", 409)


@pytest.mark.parametrize("status", ["DONE", "FAILED"])
def test_a_finished_send_cannot_be_cancelled(tenant, make_student, status):
    ready(tenant)
    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[make_student(tenant).id]), now=NOON)
    MessageSend.objects.filter(id=send.id).update(status=status)

    with pytest.raises(DomainError) as caught:
        send_cancel(tenant=tenant, send_id=send.id)

    assert (caught.value.code, caught.value.status_code) == ("SEND_ALREADY_FINISHED", 409)
    assert not CreditEntry.objects.filter(tenant=tenant, kind="RELEASE").exists()


def test_another_academys_send_cannot_be_cancelled(tenant, other_tenant, make_student):
    ready(other_tenant)
    theirs = send_create(tenant=other_tenant, spec=SendSpec(body="안내", student_ids=[make_student(other_tenant).id]),
                         now=NOON)

    with pytest.raises(DomainError) as caught:
        send_cancel(tenant=tenant, send_id=theirs.id)

    assert (caught.value.code, caught.value.status_code) == ("NOT_FOUND", 404)
    assert MessageSend.objects.get(id=theirs.id).status == "QUEUED"


# ---------------------------------------------------------------------------------------------------- scale

def test_ten_thousand_recipients_plan_and_store_in_a_bounded_number_of_queries(
        tenant, make_lecture, django_assert_max_num_queries):
    from apps.domains.enrollment.models import Enrollment
    from apps.domains.students.models import Student

    ready(tenant, credit="1000000")
    lecture = make_lecture(tenant)
    students = Student.objects.bulk_create(
        Student(tenant=tenant, name=f"학생{index:05d}", parent_phone=f"0101{index:07d}") for index in range(10_000))
    Enrollment.objects.bulk_create(Enrollment(tenant=tenant, lecture=lecture, student=student)
                                   for student in students)

    # 29 today: 10 inserts of 1,000 rows each; the rest does not depend on the count (profile, lecture, enrollments,
    # opt-outs, the send, the ledger's lock, lookup, balance and insert, the job, savepoints).
    with django_assert_max_num_queries(30):
        send = send_create(tenant=tenant, spec=SendSpec(body="#{학생이름} 학부모님, 내일 휴원합니다.",
                                                        lecture_id=lecture.id), now=NOON)

    assert send.recipient_count == 10_000
    assert send.estimated_cost == Decimal("200000.00")
    assert MessageRecipient.objects.filter(send=send).count() == 10_000


def test_the_planner_is_pure():
    import subprocess
    import sys
    from pathlib import Path

    script = ("import sys, apps.domains.messaging.planning\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')))")
    root = Path(__file__).resolve().parents[4]
    environment = {"PATH": "/usr/bin:/bin"}
    completed = subprocess.run([sys.executable, "-c", script], cwd=root, env=environment, capture_output=True,
                               text=True, timeout=60, check=True)

    assert completed.stdout.strip() == "[]"

