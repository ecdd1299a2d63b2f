"""ARCHITECTURE §3 messaging provider: the carriers' length and type rules, pure (no Django), shared by the outbox
adapter, the fake Solapi server of the tests and the domain's rendering core.

Carriers count bytes in EUC-KR (KS X 1001): a Hangul syllable is 2 bytes, ASCII 1; a character outside it (emoji,
rare Hanja) cannot be carried at all.
"""

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
LMS_SUBJECT_MAX_BYTES = 40
ATA_MAX_CHARS = 1000
MESSAGE_TYPES = ("SMS", "LMS", "ATA")

# Per-message answers of the provider (Solapi's codes) the port's callers act on.
ACCEPTED = "2000"
NO_BALANCE = "1030"
OPTED_OUT = "1061"
OPTED_OUT_080 = "2061"
UNREGISTERED_SENDER = "1062"
NOT_KAKAO_USER = "3104"
OUTSIDE_ALIMTALK_WINDOW = "3108"
DELIVERED = "4000"
# A message the rules below refuse before it reaches a carrier. Solapi refuses such a message at registration (a 1xxx
# code); these two are the values the outbox and the fake server give, and a caller treats them as any other refusal.
INVALID_MESSAGE = "1020"
TOO_LONG = "1021"


def euc_kr_length(text: str) -> int | None:
    """Bytes `text` takes in EUC-KR, or None when a character cannot be encoded (the carriers cannot carry it)."""
    try:
        return len(text.encode("euc-kr"))
    except UnicodeEncodeError:
        return None


def message_rule_violation(*, type: str, text: str, subject: str = "",
                           has_kakao_options: bool = False) -> tuple[str, str] | None:
    """(code, reason) of the first rule the message breaks, or None when a carrier would take it."""
    if type not in MESSAGE_TYPES:
        return INVALID_MESSAGE, f"unknown message type {type!r}"
    if not text:
        return INVALID_MESSAGE, "empty text"
    if subject and type != "LMS":
        return INVALID_MESSAGE, "a subject is only allowed on LMS"
    if type == "ATA":
        if not has_kakao_options:
            return INVALID_MESSAGE, "ATA needs kakaoOptions (pfId, templateId)"
        if len(text) > ATA_MAX_CHARS:
            return TOO_LONG, f"ATA text longer than {ATA_MAX_CHARS} characters"
        return None
    size = euc_kr_length(text)
    if size is None:
        return INVALID_MESSAGE, "text has characters outside EUC-KR"
    limit = SMS_MAX_BYTES if type == "SMS" else LMS_MAX_BYTES
    if size > limit:
        return TOO_LONG, f"{type} text of {size} bytes exceeds {limit}"
    if subject:
        subject_size = euc_kr_length(subject)
        if subject_size is None or subject_size > LMS_SUBJECT_MAX_BYTES:
            return TOO_LONG, f"LMS subject exceeds {LMS_SUBJECT_MAX_BYTES} bytes or leaves EUC-KR"
    return None
