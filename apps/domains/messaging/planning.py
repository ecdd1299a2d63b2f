"""Planning a send (ARCHITECTURE §4 Messaging): students and a text in, recipient rows, skips and cost out.

Pure, no Django import, no clock read: the service loads the rows (students, opt-outs, consents, prices) and hands
them in; this module applies rendering, the Korean rules, the carriers' byte rules, deduplication and the
reservation, and either returns a Plan or raises a MessagingRefusal before anything is stored. The decisions are in
docs/decisions/0017-send-planning.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.integrations.message_rules import ATA_MAX_CHARS, char_bytes, normalize_newlines

from . import rules
from .encoding import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    EmptyMessage,
    MessageTooLong,
    SubjectTooLong,
    UnsupportedCharacters,
)
from .refusals import MessagingRefusal
from .rendering import MissingVariables, format_value, render, template_variables

# Why a student's phone gets nothing (the send's `skipped` list).
NO_PHONE = "NO_PHONE"
INVALID_PHONE = "INVALID_PHONE"
OPTED_OUT = "OPTED_OUT"
NO_AD_CONSENT = "NO_AD_CONSENT"
DUPLICATE = "DUPLICATE"
STUDENT_DELETED = "STUDENT_DELETED"
SKIP_CODES = (NO_PHONE, INVALID_PHONE, OPTED_OUT, NO_AD_CONSENT, DUPLICATE, STUDENT_DELETED)

AUDIENCES = ("student", "parent", "both")
ROLES_OF = {"student": ("student",), "parent": ("parent",), "both": ("student", "parent")}
MOBILE = re.compile(r"01[016789]\d{7,8}")
# A refusal naming students lists this many; the count says how many there were.
MAX_LISTED_STUDENTS = 100


class InvalidAudience(MessagingRefusal):
    default_code = "SEND_AUDIENCE_INVALID"
    default_message = "받는 사람은 student(학생), parent(학부모), both(둘 다) 중 하나여야 합니다."


class AlimtalkTooLong(MessagingRefusal):
    default_code = "MESSAGE_TOO_LONG"

    def __init__(self, chars: int):
        super().__init__(f"알림톡은 {ATA_MAX_CHARS:,}자까지 보낼 수 있습니다. 메시지가 {chars:,}자입니다.",
                         details={"chars": chars, "max_chars": ATA_MAX_CHARS})


class InvalidTemplateValue(MessagingRefusal):
    default_code = "TEMPLATE_VALUE_INVALID"

    def __init__(self, student_id: int, name: str):
        super().__init__(f"템플릿 변수 #{{{name}}}의 값은 글자나 숫자여야 합니다.",
                         details={"student_id": student_id, "variable": name})


class StudentsMissVariables(MissingVariables):
    """MissingVariables over a whole send: the names missing anywhere, and which students miss which."""

    def __init__(self, missing_by_student: dict[int, list[str]]):
        names = list(dict.fromkeys(name for names in missing_by_student.values() for name in names))
        super().__init__(names)
        listed = ", ".join(f"#{{{name}}}" for name in names)
        self.message = f"학생 {len(missing_by_student):,}명의 템플릿 변수 값이 없습니다: {listed}"
        self.details = {
            "missing": names,
            "student_count": len(missing_by_student),
            "students": [{"student_id": student_id, "missing": missing}
                         for student_id, missing in list(missing_by_student.items())[:MAX_LISTED_STUDENTS]],
        }


@dataclass(frozen=True)
class StudentRow:
    id: int
    name: str
    phone: str
    parent_phone: str
    deleted: bool = False


@dataclass(frozen=True)
class ConsentState:
    """Whether a holder's consents count at the moment of sending."""

    ad: bool = False
    ad_night: bool = False


@dataclass(frozen=True)
class PlanInput:
    students: Sequence[StudentRow]  # in the order asked; a student listed twice is planned twice (then DUPLICATE)
    audience: str
    mode: str
    purpose: str
    body: str
    subject: str
    academy_name: str
    opt_out_number: str
    prices: Mapping[str, Decimal]
    # When the send goes (its send_at, or now): consents, the ad night and quiet hours are judged at this moment.
    at: dt.datetime
    system_values: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    opted_out: frozenset[str] = frozenset()
    consents: Mapping[tuple[int, str], ConsentState] = field(default_factory=dict)
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    # True for a send (unsupported characters are refused); False for a preview (they are reported).
    strict: bool = True


@dataclass(frozen=True)
class PlannedRecipient:
    student_id: int
    role: str
    phone: str
    text: str
    subject: str
    type: str
    fallback_type: str
    variables: dict[str, str]
    not_before: dt.datetime | None
    reserved_amount: Decimal
    bytes: int
    unsupported: list[tuple[int, str]]


@dataclass(frozen=True)
class Plan:
    recipients: list[PlannedRecipient]
    skipped: list[dict[str, Any]]
    type_counts: dict[str, int]
    estimated_cost: Decimal
    # The earliest moment any recipient may go: the job waits for it (None = at once).
    first_allowed: dt.datetime | None


def phone_digits(value: str | None) -> str:
    if not value or (value.isascii() and value.isdigit()):
        return value or ""
    return re.sub(r"\D", "", value)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Texts of one send share most of their characters: each is looked up in the codec once.
_char_bytes = functools.lru_cache(maxsize=1 << 16)(char_bytes)


def measure(text: str) -> tuple[int, list[tuple[int, str]]]:
    """EUC-KR bytes of a newline-normalised text (an unsupported character counts 2, as encoding.byte_length) and
    the unsupported characters with their indexes: one pass instead of two, since 10,000 texts go through here."""
    # Fast path, in C: the whole text encodes and every character took 1 byte (ASCII) or 2, i.e. no CP949-only
    # syllable became an 8-byte make-up sequence, and no control character other than tab and LF is in it.
    try:
        size = len(text.encode("euc_kr"))
    except UnicodeEncodeError:
        size = -1
    if size == 2 * len(text) - len(text.encode("ascii", "ignore")) and not _CONTROL.search(text):
        return size, []
    total = 0
    unsupported: list[tuple[int, str]] = []
    for index, char in enumerate(text):
        size = _char_bytes(char)
        if size is None:
            unsupported.append((index, char))
            size = 2
        total += size
    return total, unsupported


def sms_type(size: int, subject: str) -> str:
    """encoding.message_type on an already measured text."""
    if size > LMS_MAX_BYTES:
        raise MessageTooLong(size)
    if subject.strip():
        subject_size, _ = measure(normalize_newlines(subject))
        if subject_size > SUBJECT_MAX_BYTES:
            raise SubjectTooLong(subject_size)
        return "LMS"
    return "LMS" if size > SMS_MAX_BYTES else "SMS"


def _with_student(refusal: MessagingRefusal, student_id: int) -> MessagingRefusal:
    refusal.details = {**refusal.details, "student_id": student_id}
    return refusal


def _student_text(plan_input: PlanInput, student: StudentRow, names: list[str]) -> tuple[str, dict[str, str]]:
    values = {**plan_input.system_values, "학생이름": student.name, **plan_input.values.get(student.id, {})}
    try:
        variables = {name: format_value(values.get(name)) for name in names}
    except (TypeError, ValueError):
        bad = next(name for name in names if not _formats(values.get(name)))
        raise InvalidTemplateValue(student.id, bad) from None
    return render(plan_input.body, variables), variables


def _formats(value: Any) -> bool:
    try:
        format_value(value)
    except (TypeError, ValueError):
        return False
    return True


def plan_send(plan_input: PlanInput) -> Plan:
    """Every recipient row of the send, or the refusal that stops it.

    Per student, in order: a deleted student is skipped; each role of the audience needs a mobile phone
    (NO_PHONE, INVALID_PHONE), not on the opt-out list (OPTED_OUT) and, for an ad, that holder's valid ad consent
    (NO_AD_CONSENT). The text is rendered once per student; students missing a variable refuse the whole send,
    listed. Then the ad layout, the byte rules, deduplication by (phone, text) (DUPLICATE), the hold until the ad
    night or quiet hours end, and the reservation per row.
    """
    rules.check_mode(plan_input.purpose, plan_input.mode)
    if plan_input.audience not in AUDIENCES:
        raise InvalidAudience()
    is_ad = plan_input.purpose == "ad"
    if is_ad:
        # Refused up front, whoever the recipients are: the text of an ad cannot be built without it.
        rules.format_opt_out_number(plan_input.opt_out_number)
    if not normalize_newlines(plan_input.body).strip():
        raise EmptyMessage()
    names = template_variables(plan_input.body)
    roles = ROLES_OF[plan_input.audience]
    alimtalk = plan_input.mode != "sms"
    carried_by_sms = plan_input.mode != "alimtalk"
    subject = "" if alimtalk else plan_input.subject

    skipped: list[dict[str, Any]] = []
    candidates: list[tuple[StudentRow, str, str]] = []
    for student in plan_input.students:
        if student.deleted:
            skipped.append({"student_id": student.id, "role": None, "code": STUDENT_DELETED})
            continue
        for role in roles:
            raw = student.phone if role == "student" else student.parent_phone
            digits = phone_digits(raw)
            code = None
            if not digits:
                code = NO_PHONE
            elif not MOBILE.fullmatch(digits):
                code = INVALID_PHONE
            elif digits in plan_input.opted_out:
                code = OPTED_OUT
            elif is_ad and not plan_input.consents.get((student.id, role), ConsentState()).ad:
                code = NO_AD_CONSENT
            if code:
                skipped.append({"student_id": student.id, "role": role, "code": code})
            else:
                candidates.append((student, role, digits))

    texts: dict[int, tuple[str, dict[str, str]]] = {}
    missing: dict[int, list[str]] = {}
    for student, _, _ in candidates:
        if student.id in texts or student.id in missing:
            continue
        try:
            text, variables = _student_text(plan_input, student, names)
        except MissingVariables as exc:
            missing[student.id] = exc.names
            continue
        if is_ad:
            text = rules.ad_text(text, plan_input.academy_name, plan_input.opt_out_number)
        texts[student.id] = (text, variables)
    if missing:
        raise StudentsMissVariables(missing)

    deduped = rules.dedupe_recipients(
        (digits, texts[student.id][0], (student, role)) for student, role, digits in candidates)
    for duplicate in deduped.duplicates:
        student, role = duplicate.student_id
        skipped.append({"student_id": student.id, "role": role, "code": DUPLICATE})

    prices = plan_input.prices
    # The reservation of one row depends only on its SMS/LMS type ("" for AlimTalk alone, which reserves ATA).
    unit = {text_type: rules.estimate_cost({rules.reserved_type(plan_input.mode, text_type or "SMS", prices): 1},
                                           prices)
            for text_type in (("",) if not carried_by_sms else ("SMS", "LMS"))}
    measured: dict[int, tuple[int, list[tuple[int, str]], str]] = {}
    recipients: list[PlannedRecipient] = []
    holds: dict[bool, dt.datetime] = {}
    for kept in deduped.kept:
        student, role = kept.student_id
        text, variables = texts[student.id]
        if student.id not in measured:
            size, unsupported = measure(text)
            if alimtalk and len(text) > ATA_MAX_CHARS:
                raise _with_student(AlimtalkTooLong(len(text)), student.id)
            if carried_by_sms and unsupported and plan_input.strict:
                raise _with_student(UnsupportedCharacters(unsupported), student.id)
            text_type = ""
            if carried_by_sms:
                try:
                    text_type = sms_type(size, subject)
                except MessagingRefusal as exc:
                    raise _with_student(exc, student.id) from None
            measured[student.id] = (size, unsupported if carried_by_sms else [], text_type)
        size, unsupported, text_type = measured[student.id]
        night_consent = plan_input.consents.get((student.id, role), ConsentState()).ad_night
        if night_consent not in holds:
            holds[night_consent] = rules.next_allowed_time(
                plan_input.at, purpose=plan_input.purpose, night_consent=night_consent,
                quiet_start=plan_input.quiet_start, quiet_end=plan_input.quiet_end)
        allowed = holds[night_consent]
        recipients.append(PlannedRecipient(
            student_id=student.id, role=role, phone=kept.phone, text=text, subject=subject,
            type="ATA" if alimtalk else text_type,
            fallback_type=text_type if plan_input.mode == "alimtalk_then_sms" else "",
            variables=variables if alimtalk else {},
            not_before=allowed if allowed > plan_input.at else None,
            reserved_amount=unit[text_type], bytes=size, unsupported=unsupported))

    first_allowed = None
    if recipients and all(row.not_before is not None for row in recipients):
        first_allowed = min(row.not_before for row in recipients)
    return Plan(recipients=recipients, skipped=skipped, type_counts=dict(Counter(row.type for row in recipients)),
                estimated_cost=sum((row.reserved_amount for row in recipients), Decimal(0)),
                first_allowed=first_allowed)
