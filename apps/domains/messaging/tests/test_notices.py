"""Automatic notices: absence/late after a grace period, once per session and student; the generic trigger hook;
the welcome text. Real Postgres, a frozen clock (time_machine) for the grace period."""

import datetime as dt
import logging
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.domains.enrollment.models import Attendance
from apps.domains.enrollment.services import attendance_bulk_update
from apps.domains.lectures.models import Session
from apps.domains.messaging import notices, sending
from apps.domains.messaging.models import (
    AutoNoticeSetting,
    MessageRecipient,
    MessageSend,
    MessageTemplate,
    MessagingProfile,
    PendingNotice,
)
from apps.domains.messaging.services import credit_grant, messaging_profile_ensure
from apps.jobs.scheduler import all_periodic, scheduler_pass

T0 = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
GRACE = dt.timedelta(seconds=600)


def ready_to_send(tenant, *, credit: Decimal | None = Decimal("100000")) -> None:
    """An approved sender number and, unless None, credit."""
    profile = messaging_profile_ensure(tenant=tenant)
    MessagingProfile.objects.filter(id=profile.id).update(sender_number="025550100",
                                                         sender_verified_at=timezone.now())
    if credit is not None:
        credit_grant(tenant=tenant, amount=credit)


def notice_setting(tenant, kind: str, body: str, *, enabled: bool = True, audience: str = "parent"):
    template = MessageTemplate.objects.create(tenant=tenant, name=f"{kind} 안내", body=body)
    return AutoNoticeSetting.objects.create(tenant=tenant, kind=kind, enabled=enabled, template=template,
                                            audience=audience)


@pytest.fixture
def notices_on(tenant):
    ready_to_send(tenant)
    return {
        "absence": notice_setting(tenant, "absence", "#{학생이름} 학생이 #{날짜} #{강의명} 수업에 결석했습니다."),
        "late": notice_setting(tenant, "late", "[알파학원] 자녀가 오늘 수업에 지각했습니다."),
    }


@pytest.fixture
def classroom(tenant, make_lecture, make_session, make_student, make_enrollment):
    """A session with three enrolled students; `mark(status, ...)` saves attendance as the API does."""
    lecture = make_lecture(tenant)
    session = make_session(lecture, date=dt.date(2026, 11, 30))
    enrollments = [make_enrollment(lecture, make_student(tenant, name=name)) for name in ("김민준", "이서연", "박지호")]

    def mark(*statuses: str, only: list[int] | None = None) -> None:
        fresh = Session.objects.select_related("lecture").get(id=session.id)
        chosen = [enrollments[i] for i in (only if only is not None else range(len(statuses)))]
        attendance_bulk_update(session=fresh, items=[{"enrollment_id": e.id, "status": s}
                                                     for e, s in zip(chosen, statuses, strict=True)])

    return session, enrollments, mark


def fire(at: dt.datetime) -> dict:
    with time_machine.travel(at, tick=False):
        return notices.fire_due_notices()


def at(offset: dt.timedelta):
    return time_machine.travel(T0 + offset, tick=False)


# ---------------------------------------------------------------------------------------------------- absence

def test_absence_notice_sent_once_however_often_attendance_is_saved(notices_on, classroom):
    session, (first, *_), mark = classroom
    # Given ABSENT saved three times within the grace period
    for minutes in (0, 4, 9):
        with at(dt.timedelta(minutes=minutes)):
            mark("ABSENT", only=[0])

    # Then the notice is still due ten minutes after the first save (a re-save does not postpone it)
    assert fire(T0 + GRACE - dt.timedelta(seconds=1)) == {"sent": 0, "refused": 0, "cancelled": 0, "skipped": 0}
    assert fire(T0 + GRACE)["sent"] == 1

    # When ABSENT is saved twice more after it fired, and the scheduler runs again
    for minutes in (11, 30):
        with at(dt.timedelta(minutes=minutes)):
            mark("ABSENT", only=[0])
    fire(T0 + dt.timedelta(hours=1))

    # Then there was exactly one send, to one parent, keyed by the session and student
    send = MessageSend.objects.get()
    assert (send.trigger, send.trigger_key) == ("absence", f"absence:{session.id}:{first.student_id}")
    assert list(MessageRecipient.objects.values_list("student_id", "phone", "text")) == [
        (first.student_id, first.student.parent_phone, "김민준 학생이 11월 30일(월) 수학 A반 수업에 결석했습니다.")]
    notice = PendingNotice.objects.get()
    assert (notice.kind, notice.due_at, notice.fired_at, notice.send_id, notice.failure_code) == (
        "absence", T0 + GRACE, T0 + GRACE, send.id, "")


@pytest.mark.parametrize("correction", ["PRESENT", "UNMARKED", "EXCUSED"])
def test_a_correction_within_the_grace_period_cancels_the_notice(notices_on, classroom, correction):
    _, _, mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", "ABSENT")
    with at(dt.timedelta(minutes=5)):
        mark(correction, only=[0])

    outcome = fire(T0 + GRACE)

    assert outcome["sent"] == 1  # the second student, still ABSENT
    assert list(MessageRecipient.objects.values_list("student_id", flat=True)) == [
        classroom[1][1].student_id]
    assert PendingNotice.objects.filter(student_id=classroom[1][0].student_id).count() == 0


def test_a_cancelled_mark_made_again_waits_a_new_grace_period(notices_on, classroom):
    _, _, mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])
    with at(dt.timedelta(minutes=2)):
        mark("PRESENT", only=[0])
    with at(dt.timedelta(minutes=5)):
        mark("ABSENT", only=[0])

    assert fire(T0 + GRACE)["sent"] == 0
    assert fire(T0 + dt.timedelta(minutes=15))["sent"] == 1
    assert MessageSend.objects.count() == 1


def test_a_correction_after_the_notice_fired_does_not_unsend_it_nor_send_another(notices_on, classroom):
    session, (first, *_), mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])
    fire(T0 + GRACE)

    # When the mark is corrected to PRESENT, then to LATE, after the notice went out
    with at(dt.timedelta(minutes=12)):
        mark("PRESENT", only=[0])
    with at(dt.timedelta(minutes=13)):
        mark("LATE", only=[0])
    fire(T0 + dt.timedelta(hours=1))

    # Then the one send stays, and its record still says what was sent
    send = MessageSend.objects.get()
    assert send.trigger_key == f"absence:{session.id}:{first.student_id}"
    assert list(PendingNotice.objects.values_list("kind", "send_id")) == [("absence", send.id)]


def test_an_unmarked_session_notifies_nobody(notices_on, classroom, make_attendance):
    session, enrollments, mark = classroom
    # Given rows the roster import wrote (UNMARKED) and a save that leaves them UNMARKED
    for enrollment in enrollments:
        make_attendance(session, enrollment, status="UNMARKED")
    with at(dt.timedelta(0)):
        mark("UNMARKED", "UNMARKED", "UNMARKED")

    assert fire(T0 + dt.timedelta(hours=1)) == {"sent": 0, "refused": 0, "cancelled": 0, "skipped": 0}
    assert PendingNotice.objects.count() == 0
    assert MessageSend.objects.count() == 0


# ---------------------------------------------------------------------------------------------------- late, switches

def test_a_late_mark_sends_the_late_notice(notices_on, classroom):
    session, (first, *_), mark = classroom
    with at(dt.timedelta(0)):
        mark("LATE", only=[0])

    fire(T0 + GRACE)

    send = MessageSend.objects.get()
    assert (send.trigger, send.trigger_key, send.template_id) == (
        "late", f"late:{session.id}:{first.student_id}", notices_on["late"].template_id)


def test_absent_corrected_to_late_within_the_grace_sends_the_late_notice_on_the_first_due_time(notices_on, classroom):
    _, _, mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])
    with at(dt.timedelta(minutes=7)):
        mark("LATE", only=[0])

    assert list(PendingNotice.objects.values_list("kind", "due_at")) == [("late", T0 + GRACE)]
    fire(T0 + GRACE)
    assert list(MessageSend.objects.values_list("trigger", flat=True)) == ["late"]


def test_a_disabled_notice_is_not_queued(notices_on, classroom):
    _, _, mark = classroom
    AutoNoticeSetting.objects.filter(kind="absence").update(enabled=False)

    with at(dt.timedelta(0)):
        mark("ABSENT", "LATE")

    # Only the LATE mark waits: absence notices are off
    assert list(PendingNotice.objects.values_list("kind", flat=True)) == ["late"]


def test_a_notice_switched_off_during_its_grace_period_is_fired_without_a_send(notices_on, classroom):
    _, _, mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])
    AutoNoticeSetting.objects.filter(kind="absence").update(enabled=False)

    outcome = fire(T0 + GRACE)

    assert outcome["refused"] == 1
    assert list(PendingNotice.objects.values_list("fired_at", "send_id", "failure_code")) == [
        (T0 + GRACE, None, "NOTICE_DISABLED")]
    assert MessageSend.objects.count() == 0


def test_another_tenants_switch_does_not_notify_this_tenant(tenant, other_tenant, classroom):
    ready_to_send(tenant)
    notice_setting(other_tenant, "absence", "결석했습니다.")
    _, _, mark = classroom

    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])

    assert PendingNotice.objects.count() == 0


# ---------------------------------------------------------------------------------------------------- refusals

def test_a_refused_notice_is_recorded_once_and_never_retried(tenant, classroom, caplog):
    # Given no credit at all
    ready_to_send(tenant, credit=None)
    notice_setting(tenant, "absence", "결석했습니다.")
    _, _, mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])

    with caplog.at_level(logging.WARNING, logger="apps.domains.messaging.notices"):
        first = fire(T0 + GRACE)
    # When credit arrives later and the scheduler keeps running
    credit_grant(tenant=tenant, amount=Decimal("100000"))
    second = fire(T0 + GRACE + dt.timedelta(minutes=30))

    assert (first["refused"], second) == (1, {"sent": 0, "refused": 0, "cancelled": 0, "skipped": 0})
    assert list(PendingNotice.objects.values_list("fired_at", "send_id", "failure_code")) == [
        (T0 + GRACE, None, "INSUFFICIENT_CREDIT")]
    assert MessageSend.objects.count() == 0
    assert [(r.message, r.code) for r in caplog.records if r.name == notices.logger.name] == [
        ("notice_not_sent", "INSUFFICIENT_CREDIT")]


def test_an_unexpected_failure_of_one_notice_does_not_stop_the_others(notices_on, classroom, monkeypatch):
    _, (first, second, _), mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", "ABSENT")
    real_send_create = sending.send_create

    def broken_for_the_first(*, spec, **kwargs):
        if spec.student_ids == [first.student_id]:
            raise RuntimeError("a bug")
        return real_send_create(spec=spec, **kwargs)

    monkeypatch.setattr(sending, "send_create", broken_for_the_first)

    outcome = fire(T0 + GRACE)

    assert (outcome["sent"], outcome["refused"]) == (1, 1)
    assert dict(PendingNotice.objects.values_list("student_id", "failure_code")) == {
        first.student_id: "INTERNAL_ERROR", second.student_id: ""}
    assert list(MessageRecipient.objects.values_list("student_id", flat=True)) == [second.student_id]


def test_a_mark_changed_behind_the_notices_back_cancels_it(notices_on, classroom):
    session, (first, *_), mark = classroom
    with at(dt.timedelta(0)):
        mark("ABSENT", only=[0])
    Attendance.objects.filter(session=session, enrollment=first).update(status="PRESENT")

    assert fire(T0 + GRACE)["cancelled"] == 1
    assert (PendingNotice.objects.count(), MessageSend.objects.count()) == (0, 0)


# ---------------------------------------------------------------------------------------------------- concurrency, cost

@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_send_a_notice_once(make_tenant, make_lecture, make_session, make_student,
                                               make_enrollment, monkeypatch):
    # Given one due notice
    tenant = make_tenant("race")
    ready_to_send(tenant)
    notice_setting(tenant, "absence", "결석했습니다.")
    lecture = make_lecture(tenant)
    session = Session.objects.select_related("lecture").get(id=make_session(lecture).id)
    enrollment = make_enrollment(lecture, make_student(tenant))
    with at(dt.timedelta(0)):
        attendance_bulk_update(session=session, items=[{"enrollment_id": enrollment.id, "status": "ABSENT"}])

    # When the second pass runs while the first is inside the send, holding the notice
    first_inside, second_done = threading.Event(), threading.Event()
    real_send_create = sending.send_create

    def held_send_create(**kwargs):
        first_inside.set()
        assert second_done.wait(timeout=20), "the second pass waited for the first one's lock"
        return real_send_create(**kwargs)

    monkeypatch.setattr(sending, "send_create", held_send_create)
    outcomes = {}

    def run(name, wait_for=None):
        try:
            if wait_for is not None:
                wait_for.wait(timeout=20)
            outcomes[name] = notices.fire_due_notices(now=T0 + GRACE)
        finally:
            if name == "second":
                second_done.set()
            connection.close()

    threads = [threading.Thread(target=run, args=("first",)),
               threading.Thread(target=run, args=("second", first_inside))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then the second skipped it and there is one send
    assert outcomes["first"]["sent"] == 1
    assert outcomes["second"] == {"sent": 0, "refused": 0, "cancelled": 0, "skipped": 1}
    assert MessageSend.objects.filter(tenant=tenant).count() == 1
    assert MessageRecipient.objects.filter(tenant=tenant).count() == 1


def test_saving_attendance_costs_the_same_queries_for_three_or_thirty_students(
        tenant, notices_on, make_lecture, make_session, make_student, make_enrollment):
    lecture = make_lecture(tenant)
    session = Session.objects.select_related("lecture").get(id=make_session(lecture).id)
    enrollments = [make_enrollment(lecture, make_student(tenant, name=f"학생{n}")) for n in range(30)]
    statuses = ["ABSENT", "LATE", "PRESENT"]

    def queries_for(chosen, shift=0):
        items = [{"enrollment_id": e.id, "status": statuses[(n + shift) % 3]} for n, e in enumerate(chosen)]
        with CaptureQueriesContext(connection) as captured:
            attendance_bulk_update(session=session, items=items)
        return len(captured)

    small, large = queries_for(enrollments[:3]), queries_for(enrollments[3:])
    # and again with every mark changed: kinds switch, notices are withdrawn and new ones queued
    again = queries_for(enrollments[3:], shift=1)

    assert small == large == again
    assert PendingNotice.objects.count() == 20


# ---------------------------------------------------------------------------------------------------- other events

def test_notify_sends_once_per_event_key(tenant, classroom):
    ready_to_send(tenant)
    setting = notice_setting(tenant, "exam_published", "[알파학원] 성적이 발표되었습니다. 점수 #{점수}점")
    _, (first, second, _), _ = classroom
    values = {first.student_id: {"점수": 95}, second.student_id: {"점수": 80}}

    sent = notices.notify(tenant=tenant, kind="exam_published", student_ids=[first.student_id, second.student_id],
                          values=values, key="7:v1")
    again = notices.notify(tenant=tenant, kind="exam_published",
                           student_ids=[first.student_id, second.student_id], values=values, key="7:v1")

    assert again.id == sent.id
    assert (sent.trigger, sent.trigger_key, sent.template_id) == ("exam_published", "exam_published:7:v1",
                                                                  setting.template_id)
    assert MessageSend.objects.count() == 1
    assert sorted(MessageRecipient.objects.values_list("student_id", flat=True)) == sorted(
        [first.student_id, second.student_id])
    assert "점수 95점" in MessageRecipient.objects.get(student_id=first.student_id).text

    # A new revision of the results is a new event
    revised = notices.notify(tenant=tenant, kind="exam_published", student_ids=[first.student_id],
                             values={first.student_id: {"점수": 97}}, key="7:v2")
    assert revised.id != sent.id


def test_notify_does_nothing_when_the_notice_is_switched_off(tenant, classroom):
    ready_to_send(tenant)
    notice_setting(tenant, "exam_published", "성적 #{점수}", enabled=False)
    _, (first, *_), _ = classroom

    assert notices.notify(tenant=tenant, kind="exam_published", student_ids=[first.student_id],
                          values={first.student_id: {"점수": 95}}, key="7:v1") is None
    assert MessageSend.objects.count() == 0


def test_notify_refuses_an_unknown_kind(tenant):
    with pytest.raises(ValueError):
        notices.notify(tenant=tenant, kind="birthday", student_ids=[1], values={}, key="1")


# ---------------------------------------------------------------------------------------------------- welcome

def test_welcome_texts_the_username_and_setup_code_once(tenant, make_student):
    ready_to_send(tenant)
    notice_setting(tenant, "welcome", "아이디: #{아이디}\n비밀번호 설정 코드: #{설정코드}", audience="parent")
    student = make_student(tenant, name="김민준")

    sent = notices.welcome_student(student=student, username="minjun01", setup_code="482913")
    again = notices.welcome_student(student=student, username="minjun01", setup_code="482913")

    assert again.id == sent.id
    assert sent.trigger == "welcome"
    assert "482913" not in sent.trigger_key  # the key holds a digest, not the code
    text = MessageRecipient.objects.get().text
    assert "minjun01" in text and "482913" in text


@pytest.mark.parametrize("name", ["password", "비밀번호", "임시 비밀번호", "Passwd", "암호"])
def test_welcome_refuses_a_password_variable(tenant, make_student, name):
    ready_to_send(tenant)
    notice_setting(tenant, "welcome", "아이디: #{아이디} 코드: #{설정코드}")
    student = make_student(tenant)

    with pytest.raises(notices.SecretInMessageError) as caught:
        notices.welcome_student(student=student, username="minjun01", setup_code="482913",
                                values={name: "hunter2"})

    assert caught.value.code == "SECRET_IN_MESSAGE"
    assert MessageSend.objects.count() == 0


def test_welcome_needs_a_username_and_a_code(tenant, make_student):
    with pytest.raises(notices.DomainError) as caught:
        notices.welcome_student(student=make_student(tenant), username="minjun01", setup_code="")

    assert caught.value.code == "WELCOME_INCOMPLETE"


# ---------------------------------------------------------------------------------------------------- end to end

def test_an_absence_marked_through_the_api_reaches_the_parent_once_via_the_scheduler(notices_on, admin_client,
                                                                                     classroom):
    session, (first, second, _), _ = classroom
    url = f"/api/v1/sessions/{session.id}/attendance/"
    assert "fire_due_notices" in [task.name for task in all_periodic()]
    only_notices = {"periodic_due": lambda task: task.name == "fire_due_notices", "reconcile_batch": False}

    # Given a teacher marks one student ABSENT and one PRESENT, and saves the same roll again
    for minutes in (0, 3):
        with at(dt.timedelta(minutes=minutes)):
            response = admin_client.post(url, [{"enrollment_id": first.id, "status": "ABSENT"},
                                               {"enrollment_id": second.id, "status": "PRESENT"}], format="json")
            assert response.status_code == 200

    # When the scheduler runs within the grace period, then after it
    with at(GRACE - dt.timedelta(seconds=30)):
        scheduler_pass(**only_notices)
    assert MessageSend.objects.count() == 0
    with at(GRACE + dt.timedelta(seconds=30)):
        scheduler_pass(**only_notices)
        scheduler_pass(**only_notices)

    # Then the absent student's parent gets one text and nobody else any
    assert list(MessageRecipient.objects.values_list("student_id", "phone")) == [
        (first.student_id, first.student.parent_phone)]
