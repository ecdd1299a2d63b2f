"""What the carriers can carry and how they count it (ARCHITECTURE §4 Messaging): EUC-KR bytes, SMS or LMS.

Pure functions, no Django import. Korean carriers carry text in EUC-KR: ASCII (KS X 1003) as 1 byte and the
KS X 1001 repertoire (2,350 Hangul syllables, 4,888 Hanja, symbols) as 2 bytes. CP949 adds 8,822 Hangul syllables
(똠, 햏, 쓔, …) that carriers and older handsets do not all render, so they count as unsupported. Python's
'euc_kr' codec is not strict enough on its own: it writes those syllables as 8-byte KS X 1001 Annex 3 make-up
sequences, which no carrier reads; a character is supported only when it encodes to one or two bytes.

Newlines: CRLF and a lone CR become LF before anything is counted or sent, and LF counts 1 byte, as carriers
count it. Tab is carried (1 byte); other control characters are not.
"""

from __future__ import annotations

from typing import Literal

from apps.integrations.message_rules import LMS_MAX_BYTES, SMS_MAX_BYTES, char_bytes, normalize_newlines
from apps.integrations.message_rules import LMS_SUBJECT_MAX_BYTES as SUBJECT_MAX_BYTES

from .refusals import MessagingRefusal

__all__ = ["LMS_MAX_BYTES", "SMS_MAX_BYTES", "SUBJECT_MAX_BYTES", "normalize_newlines"]
# Only for a preview's count: such characters are refused at send, and CP949 would spend 2 bytes on most.
UNSUPPORTED_CHARACTER_BYTES = 2

MessageType = Literal["SMS", "LMS"]


class MessageTooLong(MessagingRefusal):
    default_code = "MESSAGE_TOO_LONG"

    def __init__(self, byte_count: int, max_bytes: int = LMS_MAX_BYTES):
        self.byte_count = byte_count
        super().__init__(
            f"메시지가 너무 깁니다. {byte_count:,}바이트이며 최대 {max_bytes:,}바이트까지 보낼 수 있습니다.",
            details={"bytes": byte_count, "max_bytes": max_bytes})


class SubjectTooLong(MessagingRefusal):
    default_code = "SUBJECT_TOO_LONG"

    def __init__(self, byte_count: int):
        self.byte_count = byte_count
        super().__init__(
            f"제목이 너무 깁니다. {byte_count:,}바이트이며 최대 {SUBJECT_MAX_BYTES}바이트까지 쓸 수 있습니다.",
            details={"bytes": byte_count, "max_bytes": SUBJECT_MAX_BYTES})


class EmptyMessage(MessagingRefusal):
    default_code = "MESSAGE_EMPTY"
    default_message = "보낼 내용이 없습니다."


class UnsupportedCharacters(MessagingRefusal):
    default_code = "UNSUPPORTED_CHARACTERS"

    def __init__(self, found: list[tuple[int, str]]):
        self.found = found
        shown = " ".join(char for _, char in found[:10])
        super().__init__(
            f"문자 메시지로 보낼 수 없는 글자가 {len(found)}개 있습니다 (이모지, 일부 한자·기호 등): {shown}",
            details={"characters": [{"index": index, "char": char, "codepoint": f"U+{ord(char):04X}"}
                                    for index, char in found]})


def unsupported_characters(text: str) -> list[tuple[int, str]]:
    """(index, character) of every character carriers cannot carry; indexes are into the newline-normalised text,
    the text that is sent and that a preview shows."""
    return [(index, char) for index, char in enumerate(normalize_newlines(text)) if char_bytes(char) is None]


def byte_length(text: str) -> int:
    """EUC-KR length as carriers count it; an unsupported character counts UNSUPPORTED_CHARACTER_BYTES."""
    total = 0
    for char in normalize_newlines(text):
        size = char_bytes(char)
        total += UNSUPPORTED_CHARACTER_BYTES if size is None else size
    return total


def require_supported(text: str) -> None:
    """Raise UnsupportedCharacters if any character cannot be carried (checked at send; a preview reports)."""
    found = unsupported_characters(text)
    if found:
        raise UnsupportedCharacters(found)


def message_type(text: str, subject: str | None = None) -> MessageType:
    """SMS up to 90 bytes, LMS up to 2,000; longer raises MessageTooLong. A subject (not blank) forces LMS: SMS
    has none. The subject's bytes are its own limit (40), not part of the text's."""
    if not normalize_newlines(text).strip():
        raise EmptyMessage()
    size = byte_length(text)
    if size > LMS_MAX_BYTES:
        raise MessageTooLong(size)
    has_subject = subject is not None and subject.strip() != ""
    if has_subject:
        subject_size = byte_length(subject)
        if subject_size > SUBJECT_MAX_BYTES:
            raise SubjectTooLong(subject_size)
    return "LMS" if has_subject or size > SMS_MAX_BYTES else "SMS"
