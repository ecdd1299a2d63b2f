"""Automatic notices (ARCHITECTURE §4 Messaging): texts that an event sends by itself, per tenant switch and template.

Three entry points, each once-only through the send's `trigger_key` (unique per tenant):

- **Attendance** — `attendance_marked(session=, rows=)` is called by `attendance_bulk_update` inside its
  transaction. An ABSENT or LATE mark whose notice is enabled becomes a `PendingNotice` due after
  `MESSAGING_NOTICE_GRACE_SECONDS`; saving the same mark again keeps the original due time, ABSENT ↔ LATE changes
  the kind and keeps it, and any other status (PRESENT, EXCUSED, UNMARKED) deletes the notice while it is unsent.
  The scheduler's `fire_due_notices` (every 30 s) turns due notices into sends. One notice per session and
  student, ever: once fired, the row stays and no later save of that student's attendance in that session sends
  again, whatever the mark becomes. An UNMARKED session (nobody took the roll) notifies nobody.
- **Any other event** — `notify(tenant=, kind=, student_ids=, values=, key=)` sends with the tenant's setting for
  `kind` when it is enabled, and returns None when it is not. `key` names the event: the same (kind, key) sends
  once however often it is called. The exams issue calls, when results are published,

      notify(tenant=t, kind="exam_published", student_ids=[...], values={student_id: {"점수": 95}},
             key=f"{exam_id}:v{revision}", lecture_id=exam.lecture_id)

  `values` are per-student template variables added to those the send fills itself (#{학생이름}, #{학원명});
  `lecture_id` / `session_id` add #{강의명} and the session's #{날짜}. The send's refusals
  (INSUFFICIENT_CREDIT, SENDER_NOT_APPROVED, NO_RECIPIENTS…) are raised as DomainError: a caller whose own work
  must not fail on them catches DomainError.
- **Welcome** — `welcome_student(student=, username=, setup_code=)` texts a new account's username (`#{아이디}`)
  and a one-time setup code or link (`#{설정코드}`) with the `welcome` setting. Never a password: variables named
  like one are refused (SECRET_IN_MESSAGE), here and in `notify`.
- **Parent invite** — `parent_invite(...)` texts a parent the academy code and the one-time code that sets their
  password (docs/parents.md). Staff asked for it, so it is not a switchable notice: a fixed informational text
  to the parent phone of one of their children, once per invite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.exceptions import DomainError
from apps.core.models import Tenant, User
from apps.domains.enrollment.models import Attendance, AttendanceStatus
from apps.domains.lectures.models import Lecture, Session
from apps.domains.messaging import sending
from apps.domains.messaging.models import AutoNoticeSetting, MessageSend, NoticeKind, PendingNotice
from apps.domains.messaging.refusals import MessagingRefusal
from apps.domains.messaging.rendering import korean_date
from apps.domains.students.models import Student

logger = logging.getLogger(__name__)

# The attendance marks that notify, and the notice each one is.
KIND_OF_MARK = {AttendanceStatus.ABSENT: NoticeKind.ABSENCE, AttendanceStatus.LATE: NoticeKind.LATE}
MARK_OF_KIND = {kind: mark for mark, kind in KIND_OF_MARK.items()}
# Due notices taken per scheduler pass; the rest wait 30 s for the next one.
FIRE_BATCH_SIZE = 200
# A variable that would put a secret in a text message.
_SECRET_NAME = re.compile(r"pass(?:word|wd|code)?|pwd|secret|비밀\s*번호|비번|암호|패스워드", re.IGNORECASE)


class SecretInMessageError(DomainError):
    default_code = "SECRET_IN_MESSAGE"
    default_message = "비밀번호는 문자로 보낼 수 없습니다. 일회용 설정 코드나 링크를 보내 주세요."


def _trigger_key(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def _refuse_secrets(values: dict[int, dict[str, Any]]) -> None:
    names = sorted({name for per_student in values.values() for name in per_student
                    if _SECRET_NAME.search(str(name))})
    if names:
        raise SecretInMessageError(details={"variables": names})


# ---------------------------------------------------------------------------------------------------- attendance

def attendance_marked(*, session: Session, rows: list[Attendance]) -> None:
    """Bring the session's pending notices in line with the marks just saved (the caller's transaction).

    `rows` are the saved attendance rows with `enrollment` loaded. At most three queries however many rows: the
    enabled settings, the withdrawal of unsent notices, the upsert of the notices to send.
    """
    wanted: dict[int, str] = {}
    marked = {row.enrollment.student_id: KIND_OF_MARK.get(row.status) for row in rows}
    kinds = {kind for kind in marked.values() if kind}
    if kinds:
        enabled = set(AutoNoticeSetting.objects.filter(tenant_id=session.tenant_id, kind__in=kinds, enabled=True)
                      .values_list("kind", flat=True))
        wanted = {student_id: kind for student_id, kind in marked.items() if kind in enabled}
    withdrawn = [student_id for student_id in marked if student_id not in wanted]
    if withdrawn:
        # A correction (or a notice switched off meanwhile): nothing is sent unless it has been already.
        PendingNotice.objects.filter(tenant_id=session.tenant_id, session=session, student_id__in=withdrawn,
                                     fired_at__isnull=True).delete()
    if wanted:
        _pending_upsert(session=session, wanted=wanted,
                        due_at=timezone.now() + dt.timedelta(seconds=settings.MESSAGING_NOTICE_GRACE_SECONDS))


def _pending_upsert(*, session: Session, wanted: dict[int, str], due_at: dt.datetime) -> None:
    """One INSERT … ON CONFLICT: a new mark waits until due_at; an unsent notice keeps its due time and takes the
    new kind; a fired one is left as the record of what was sent. (Django's bulk_create cannot say the last
    part: its ON CONFLICT DO UPDATE has no WHERE.)"""
    table = connection.ops.quote_name(PendingNotice._meta.db_table)
    now = timezone.now()
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, NULL, NULL, '')"] * len(wanted))
    params: list[Any] = []
    for student_id, kind in sorted(wanted.items()):
        params += [session.tenant_id, kind, session.id, student_id, due_at, now]
    # Only the table name and placeholders are formatted in; every value is a parameter.
    sql = (f"INSERT INTO {table} (tenant_id, kind, session_id, student_id, due_at, created_at, fired_at, send_id, "  # noqa: S608
           f"failure_code) VALUES {placeholders} "
           f"ON CONFLICT (tenant_id, session_id, student_id) DO UPDATE SET kind = excluded.kind "
           f"WHERE {table}.fired_at IS NULL AND {table}.kind <> excluded.kind")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fire_due_notices(*, now: dt.datetime | None = None, limit: int = FIRE_BATCH_SIZE) -> dict[str, int]:
    """The scheduler's periodic task: each due, unsent notice becomes one send, or records why it cannot.

    Each notice is taken in its own transaction with SKIP LOCKED, so two passes at once send it once, and one
    refusal (no credit, no approved sender, no reachable phone) is recorded and does not stop the others. A refused
    notice is fired too and never retried: retried every pass it would either never stop or reach the parent
    hours after the class, when the staff who fix the refusal can send by hand instead.
    """
    now = now or timezone.now()
    due = list(PendingNotice.objects.filter(fired_at__isnull=True, due_at__lte=now)
               .order_by("due_at", "id").values_list("id", flat=True)[:limit])
    outcome = {"sent": 0, "refused": 0, "cancelled": 0, "skipped": 0}
    for notice_id in due:
        outcome[_fire_one(notice_id=notice_id, now=now)] += 1
    return outcome


def _fire_one(*, notice_id: int, now: dt.datetime) -> str:
    with transaction.atomic():
        notice = (PendingNotice.objects.select_for_update(skip_locked=True)
                  .filter(id=notice_id, fired_at__isnull=True).first())
        if notice is None:
            return "skipped"  # another pass has it, or has fired it, or a correction withdrew it
        mark = (Attendance.objects.filter(session_id=notice.session_id, enrollment__student_id=notice.student_id)
                .values_list("status", flat=True).first())
        if mark != MARK_OF_KIND.get(notice.kind):
            # The mark changed without passing through attendance_marked (an enrollment deleted…): as a correction.
            notice.delete()
            return "cancelled"
        setting = AutoNoticeSetting.objects.filter(tenant_id=notice.tenant_id, kind=notice.kind).first()
        send, failure_code = None, ""
        if setting is None or not setting.enabled:
            failure_code = "NOTICE_DISABLED"
        else:
            # One student per send (its trigger key is per student), so the session comes in as variables.
            spec = sending.SendSpec(
                audience=setting.audience, mode=setting.mode, template_id=setting.template_id,
                student_ids=[notice.student_id],
                values={notice.student_id: _context_values(tenant_id=notice.tenant_id, session_id=notice.session_id)},
            )
            send, failure_code = _send_or_refusal(
                tenant=notice.tenant, spec=spec, trigger=notice.kind, now=now,
                trigger_key=_trigger_key(notice.kind, f"{notice.session_id}:{notice.student_id}"),
            )
        notice.fired_at, notice.send, notice.failure_code = now, send, failure_code
        notice.save(update_fields=["fired_at", "send", "failure_code"])
    if failure_code:
        logger.warning("notice_not_sent", extra={"notice_id": notice.id, "tenant_id": notice.tenant_id,
                                                  "kind": notice.kind, "code": failure_code})
        return "refused"
    logger.info("notice_sent", extra={"notice_id": notice.id, "tenant_id": notice.tenant_id, "kind": notice.kind,
                                      "send_id": send.id})
    return "sent"


def _context_values(*, tenant_id: int, lecture_id: int | None = None, session_id: int | None = None) -> dict:
    """The variables a send by lecture or session would fill itself (#{강의명}, #{날짜}), for a send by student."""
    if session_id is not None:
        session = Session.objects.filter(tenant_id=tenant_id, id=session_id).select_related("lecture").first()
        if session is None:
            return {}
        values: dict[str, Any] = {"강의명": session.lecture.title}
        if session.date is not None:
            values["날짜"] = korean_date(session.date)
        return values
    if lecture_id is not None:
        title = Lecture.objects.filter(tenant_id=tenant_id, id=lecture_id).values_list("title", flat=True).first()
        return {"강의명": title} if title is not None else {}
    return {}


def _send_or_refusal(*, tenant: Tenant, spec: sending.SendSpec, trigger: str, trigger_key: str,
                     now: dt.datetime) -> tuple[MessageSend | None, str]:
    """The send, or None and the code of the refusal; anything unexpected is a refusal too (logged with its
    traceback), so a broken notice cannot stall the queue behind it or be retried every pass."""
    try:
        with transaction.atomic():  # a refusal rolls back only the send's own writes
            return sending.send_create(tenant=tenant, spec=spec, trigger=trigger, trigger_key=trigger_key,
                                       now=now), ""
    except (DomainError, MessagingRefusal) as exc:
        return None, exc.code
    except Exception:
        logger.exception("notice_send_failed", extra={"tenant_id": tenant.id, "trigger": trigger})
        return None, "INTERNAL_ERROR"


# ---------------------------------------------------------------------------------------------------- other events

def notify(*, tenant: Tenant, kind: str, student_ids: list[int], values: dict[int, dict[str, Any]], key: str,
           by: User | None = None, lecture_id: int | None = None, session_id: int | None = None,
           now: dt.datetime | None = None) -> MessageSend | None:
    """Send the tenant's `kind` notice about an event named by `key` (see the module docstring), once per
    (kind, key): a second call returns the first send. None when the notice is switched off."""
    if kind not in NoticeKind.values:
        raise ValueError(f"unknown notice kind {kind!r}")
    if not key:
        raise ValueError("a notice needs the key of its event")
    _refuse_secrets(values)
    setting = AutoNoticeSetting.objects.filter(tenant=tenant, kind=kind, enabled=True).first()
    if setting is None:
        return None
    # A send chooses its students one way only: by id here, the lecture or session coming in as variables.
    context = _context_values(tenant_id=tenant.id, lecture_id=lecture_id, session_id=session_id)
    per_student = {student_id: {**context, **values.get(student_id, {})} for student_id in student_ids}
    spec = sending.SendSpec(audience=setting.audience, mode=setting.mode, template_id=setting.template_id,
                            student_ids=list(student_ids), values=per_student)
    return sending.send_create(tenant=tenant, spec=spec, by=by, trigger=kind, trigger_key=_trigger_key(kind, key),
                               now=now)


def welcome_student(*, student: Student, username: str, setup_code: str, by: User | None = None,
                    values: dict[str, Any] | None = None, now: dt.datetime | None = None) -> MessageSend | None:
    """Text a student given an account their username and the one-time code (or link) that sets a password.

    Once per (student, setup code): a new code (reissued after it expired) is a new welcome. The key holds a
    digest of the code, not the code. `values` are extra template variables; none may be named like a password.
    """
    if not username or not setup_code:
        raise DomainError("WELCOME_INCOMPLETE", "아이디와 비밀번호 설정 코드가 모두 있어야 안내를 보낼 수 있습니다.")
    per_student = {**(values or {}), "아이디": username, "설정코드": setup_code}
    digest = hashlib.sha256(setup_code.encode()).hexdigest()[:16]
    return notify(tenant=student.tenant, kind=NoticeKind.WELCOME, student_ids=[student.id],
                  values={student.id: per_student}, key=f"{student.id}:{digest}", by=by, now=now)


# ---------------------------------------------------------------------------------------------------- parent invite

PARENT_INVITE_TRIGGER = "parent_invite"
# Sends whose texts carry a one-time code: the staff API shows that they went, never their text.
CODE_TRIGGERS = frozenset({PARENT_INVITE_TRIGGER})
HIDDEN_CODE_TEXT = "(일회용 인증 코드가 담긴 문자라 본문을 표시하지 않습니다)"
# The variables are filled per recipient, so the send's stored body never holds the code.
PARENT_INVITE_BODY = (
    "[#{학원명}] 학부모 계정 안내\n"
    "#{학원명}에서 학부모 계정을 만들었습니다. 아래 코드로 비밀번호를 정한 뒤 로그인해 주세요.\n"
    "학원 코드: #{학원코드}\n"
    "인증 코드: #{인증코드} (#{유효시간}시간 동안 한 번만 쓸 수 있습니다)"
)
PARENT_INVITE_LOGIN_LINE = "\n로그인: #{로그인주소}"


def parent_invite(*, tenant: Tenant, student_id: int, invite_id: int, setup_code: str, valid_hours: int,
                  login_url: str = "", by: User | None = None, now: dt.datetime | None = None) -> MessageSend:
    """Text the parent of `student_id` (their parent phone is the invited parent's) the academy code and the
    one-time code of invite `invite_id`. Never a password. Refusals (no approved sender, no credit, an opted-out
    phone: NO_RECIPIENTS) are raised as DomainError, and nothing is stored."""
    if not setup_code:
        raise DomainError("PARENT_INVITE_INCOMPLETE", "인증 코드가 있어야 학부모 초대 문자를 보낼 수 있습니다.")
    values: dict[str, Any] = {"학원코드": tenant.code, "인증코드": setup_code, "유효시간": valid_hours}
    body = PARENT_INVITE_BODY
    if login_url:
        body += PARENT_INVITE_LOGIN_LINE
        values["로그인주소"] = login_url
    spec = sending.SendSpec(audience="parent", mode="sms", purpose="info", body=body, student_ids=[student_id],
                            values={student_id: values})
    return sending.send_create(tenant=tenant, spec=spec, by=by, trigger=PARENT_INVITE_TRIGGER,
                               trigger_key=f"{PARENT_INVITE_TRIGGER}:{invite_id}", now=now)
