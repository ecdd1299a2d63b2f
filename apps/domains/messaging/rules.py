"""Korean sending rules (ARCHITECTURE §4 Messaging; 정보통신망법 §50): ad layout, ad night, quiet hours, consent
age, AlimTalk without ads, cost reservation and per-send deduplication.

Pure functions, no Django import, no clock read: every time is passed in and must be timezone-aware. Local times
(the ad night, a tenant's quiet hours) are Korean time; Asia/Seoul has no daylight saving time. The choices made
where the law is silent are in docs/decisions/0016-messaging-rules.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .encoding import EmptyMessage, normalize_newlines
from .refusals import MessagingRefusal

KST = ZoneInfo("Asia/Seoul")
# §50③: ads between 21:00 and 08:00 need a separate night consent.
AD_NIGHT_START = dt.time(21, 0)
AD_NIGHT_END = dt.time(8, 0)
# §50④ and 시행령 §61: "(광고)" exactly (variants such as [광고] or (광 고) are violations) at the start, the
# sender's name, and a free opt-out at the end.
AD_MARK = "(광고)"
OPT_OUT_LABEL = "무료수신거부"
# §50⑧ and 시행령 §62-3: consent is confirmed every two years.
CONSENT_YEARS = 2

PURPOSES = ("info", "ad")
MODES = ("sms", "alimtalk", "alimtalk_then_sms")
ALIMTALK = "ATA"


class OptOutNumberRequired(MessagingRefusal):
    default_code = "OPT_OUT_NUMBER_REQUIRED"
    default_message = ("광고 메시지에는 학원의 080 무료수신거부 번호가 필요합니다. "
                       "메시지 설정에서 080으로 시작하는 번호를 등록해 주세요.")


class AdSenderNameRequired(MessagingRefusal):
    default_code = "AD_SENDER_NAME_REQUIRED"
    default_message = "광고 메시지에는 학원 이름이 필요합니다."


class AdOnAlimtalk(MessagingRefusal):
    default_code = "ALIMTALK_AD_NOT_ALLOWED"
    default_message = "알림톡으로는 광고를 보낼 수 없습니다. 광고는 문자(SMS/LMS)로 보내 주세요."


class InvalidPurpose(MessagingRefusal):
    default_code = "MESSAGE_PURPOSE_INVALID"
    default_message = "메시지 목적은 info(안내) 또는 ad(광고)여야 합니다."


class InvalidMode(MessagingRefusal):
    default_code = "MESSAGE_MODE_INVALID"
    default_message = "발송 방식은 sms, alimtalk, alimtalk_then_sms 중 하나여야 합니다."


class NoSendingWindow(MessagingRefusal):
    default_code = "NO_SENDING_WINDOW"
    default_message = "발송 제한 시간(방해 금지 시간, 야간 광고 제한)이 하루 전체를 덮어 보낼 수 있는 시간이 없습니다."


class PriceMissing(MessagingRefusal):
    default_code = "MESSAGE_PRICE_MISSING"

    def __init__(self, message_type: str):
        super().__init__(f"{message_type} 단가가 설정되어 있지 않습니다.", details={"type": message_type})


# ---------------------------------------------------------------------------------------------------- ad layout

def format_opt_out_number(value: str | None) -> str:
    """"080-123-4567" (10 digits) or "080-1234-5678" (11 digits), from any spacing or hyphens; else
    OptOutNumberRequired."""
    text = (value or "").strip()
    if not re.fullmatch(r"[0-9\- ]+", text):
        raise OptOutNumberRequired()
    digits = re.sub(r"\D", "", text)
    if not digits.startswith("080") or len(digits) not in (10, 11):
        raise OptOutNumberRequired()
    return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"


def ad_text(body: str, academy_name: str, opt_out_number: str | None) -> str:
    """The ad as it goes out:

        (광고)<학원명>
        <본문>
        무료수신거부 080-XXX-XXXX

    Idempotent: a body already starting with this exact first line or ending with this exact last line does not get
    it twice, and a leading "(광고)" typed by the author is dropped because the first line carries it. Any other
    wording is kept as written. The sender's contact number is the registered caller id, which the rule allows in
    place of a number in the text.
    """
    name = " ".join((academy_name or "").split())
    if not name:
        raise AdSenderNameRequired()
    header = f"{AD_MARK}{name}"
    footer = f"{OPT_OUT_LABEL} {format_opt_out_number(opt_out_number)}"
    lines = normalize_newlines(body).strip().split("\n")
    if lines[0].strip() == header:
        lines = lines[1:]
    elif lines[0].startswith(AD_MARK):
        lines[0] = lines[0][len(AD_MARK):].lstrip()
    if lines and lines[-1].strip() == footer:
        lines = lines[:-1]
    core = "\n".join(lines).strip()
    if not core:
        raise EmptyMessage()
    return f"{header}\n{core}\n{footer}"


# ---------------------------------------------------------------------------------------------------- hours

def _korean(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return moment.astimezone(KST)


def ad_night(now: dt.datetime) -> bool:
    """21:00:00 up to (not including) 08:00:00 KST."""
    local = _korean(now).time()
    return local >= AD_NIGHT_START or local < AD_NIGHT_END


def next_ad_time(now: dt.datetime) -> dt.datetime:
    """The earliest moment from now an ad may go to a recipient without night consent: now (in KST) outside the
    night, else the coming 08:00 KST."""
    local = _korean(now)
    if not ad_night(local):
        return local
    day = local.date() + dt.timedelta(days=1) if local.time() >= AD_NIGHT_START else local.date()
    return dt.datetime.combine(day, AD_NIGHT_END, tzinfo=KST)


def in_quiet_hours(now: dt.datetime, start: dt.time | None, end: dt.time | None) -> bool:
    """A tenant's quiet hours [start, end) in KST; start after end wraps midnight (22:00-07:00). Unset or equal
    bounds mean no quiet hours."""
    if start is None or end is None or start == end:
        return False
    local = _korean(now).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _next_occurrence(local: dt.datetime, at: dt.time) -> dt.datetime:
    candidate = dt.datetime.combine(local.date(), at, tzinfo=KST)
    return candidate if candidate > local else candidate + dt.timedelta(days=1)


def next_allowed_time(now: dt.datetime, *, purpose: str, night_consent: bool = False,
                      quiet_start: dt.time | None = None, quiet_end: dt.time | None = None) -> dt.datetime:
    """The earliest moment from now a message may go to one recipient, in KST: now when nothing holds it.

    A tenant's quiet hours hold every message (an ad included: a tenant that wants silence gets it); an ad to a
    recipient without night consent also waits for 08:00. Held messages wait, they are never dropped. Raises
    NoSendingWindow when the two together leave no time of day.
    """
    if purpose not in PURPOSES:
        raise InvalidPurpose()
    moment = _korean(now)
    landed: set[dt.time] = set()
    while True:
        if purpose == "ad" and not night_consent and ad_night(moment):
            moment = next_ad_time(moment)
        elif in_quiet_hours(moment, quiet_start, quiet_end):
            moment = _next_occurrence(moment, quiet_end)
        else:
            return moment
        # The rules repeat daily, so landing twice on one time of day is a cycle that never ends.
        if moment.time() in landed:
            raise NoSendingWindow()
        landed.add(moment.time())


# ---------------------------------------------------------------------------------------------------- consent

def consent_last_day(anchor: dt.date) -> dt.date:
    """The last day (KST) a consent given or reconfirmed on `anchor` counts.

    민법 §157 and §160: the first day is not counted, a period in years ends the day before the anniversary of the
    day after the anchor, i.e. on the anchor's own anniversary; a 29 February anchor ends on 28 February.
    """
    try:
        return anchor.replace(year=anchor.year + CONSENT_YEARS)
    except ValueError:
        return dt.date(anchor.year + CONSENT_YEARS, 2, 28)


def consent_valid(granted_at: dt.datetime | None, reconfirmed_at: dt.datetime | None, now: dt.datetime) -> bool:
    """True while the later of the grant and its reconfirmation is at most two years old (through the end of its
    anniversary day, KST). A consent or reconfirmation recorded after `now` does not count at `now`."""
    local_now = _korean(now)
    if granted_at is None or _korean(granted_at) > local_now:
        return False
    anchor = _korean(granted_at)
    if reconfirmed_at is not None and anchor < _korean(reconfirmed_at) <= local_now:
        anchor = _korean(reconfirmed_at)
    return local_now.date() <= consent_last_day(anchor.date())


# ---------------------------------------------------------------------------------------------------- mode and cost

def check_mode(purpose: str, mode: str) -> None:
    """Refuse an unknown purpose or mode, and an ad through AlimTalk (information only, by Kakao's rules)."""
    if purpose not in PURPOSES:
        raise InvalidPurpose()
    if mode not in MODES:
        raise InvalidMode()
    if purpose == "ad" and mode != "sms":
        raise AdOnAlimtalk()


def _price(prices: Mapping[str, Decimal | int | str], message_type: str) -> Decimal:
    if message_type not in prices or prices[message_type] is None:
        raise PriceMissing(message_type)
    price = Decimal(str(prices[message_type]))
    if not price.is_finite() or price < 0:
        raise ValueError(f"price of {message_type} must be a non-negative number, not {prices[message_type]!r}")
    return price


def estimate_cost(types_count: Mapping[str, int], prices: Mapping[str, Decimal | int | str]) -> Decimal:
    """Sum of count x unit price per type ({"SMS": 3, "LMS": 1}); a type with a count needs a price."""
    total = Decimal(0)
    for message_type, count in types_count.items():
        if count < 0:
            raise ValueError(f"count of {message_type} must not be negative")
        if count:
            total += count * _price(prices, message_type)
    return total


def reserved_type(mode: str, fallback_type: str, prices: Mapping[str, Decimal | int | str]) -> str:
    """The type whose price is reserved for one recipient: the SMS/LMS type for sms, ATA for alimtalk, and for
    alimtalk_then_sms the dearer of ATA and the fallback (ATA on a tie); the charge is what was delivered."""
    if mode == "sms":
        return fallback_type
    if mode == "alimtalk":
        return ALIMTALK
    if mode == "alimtalk_then_sms":
        return fallback_type if _price(prices, fallback_type) > _price(prices, ALIMTALK) else ALIMTALK
    raise InvalidMode()


def reservation_counts(mode: str, fallback_types: Iterable[str],
                       prices: Mapping[str, Decimal | int | str]) -> dict[str, int]:
    """Reserved types counted over the recipients, given each recipient's SMS/LMS type."""
    return dict(Counter(reserved_type(mode, fallback_type, prices) for fallback_type in fallback_types))


def reservation_cost(mode: str, fallback_types: Iterable[str], prices: Mapping[str, Decimal | int | str]) -> Decimal:
    return estimate_cost(reservation_counts(mode, fallback_types, prices), prices)


# ---------------------------------------------------------------------------------------------------- dedup

class Recipient(NamedTuple):
    phone: str
    text: str
    student_id: Hashable


@dataclass(frozen=True)
class Deduped:
    kept: list[Recipient]
    duplicates: list[Recipient]


def dedupe_recipients(items: Iterable[tuple[str, str, Hashable]]) -> Deduped:
    """Keep the first of each (phone, rendered text) pair, in order; the rest are duplicates to report as skipped.

    Phones compare by their digits, texts after newline normalisation. A parent of two children gets a message per
    child, because each text names its child; the same text twice (a student listed twice, a student who is also
    the parent's number) goes once.
    """
    seen: set[tuple[str, str]] = set()
    kept: list[Recipient] = []
    duplicates: list[Recipient] = []
    for phone, text, student_id in items:
        recipient = Recipient(phone, text, student_id)
        key = (re.sub(r"\D", "", phone), normalize_newlines(text))
        if key in seen:
            duplicates.append(recipient)
        else:
            seen.add(key)
            kept.append(recipient)
    return Deduped(kept=kept, duplicates=duplicates)
