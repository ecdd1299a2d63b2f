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


def normalize_newlines(text: str) -> str:
    """CRLF and a lone CR become LF, as carriers count and deliver them (LF is 1 byte)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def char_bytes(char: str) -> int | None:
    """1 or 2 for a character carriers carry, None otherwise.

    KS X 1001 only: Python's 'euc_kr' codec also writes the CP949-only Hangul (똠, 햏, …) as 8-byte make-up
    sequences that no carrier reads, so a character counts only when it encodes to one or two bytes. Tab and LF are
    carried; other control characters are not.
    """
    if char.isascii():
        return 1 if char in "\t\n" or " " <= char <= "~" else None
    try:
        encoded = char.encode("euc_kr")
    except UnicodeEncodeError:
        return None
    return 2 if len(encoded) == 2 else None


def euc_kr_length(text: str) -> int | None:
    """Bytes `text` takes as carriers count it (newlines normalised), or None when a character cannot be carried."""
    total = 0
    for char in normalize_newlines(text):
        size = char_bytes(char)
        if size is None:
            return None
        total += size
    return total


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
