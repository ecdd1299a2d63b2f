import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from apps.domains.messaging.encoding import (
    EmptyMessage,
    MessageTooLong,
    SubjectTooLong,
    UnsupportedCharacters,
    byte_length,
    message_type,
    normalize_newlines,
    require_supported,
    unsupported_characters,
)


def _ks_x_1001() -> frozenset[str]:
    """The KS X 1001 repertoire, built independently of the module: every two-byte EUC-KR code the codec decodes."""
    found = set()
    for lead in range(0xA1, 0xFF):
        for trail in range(0xA1, 0xFF):
            try:
                found.add(bytes([lead, trail]).decode("euc_kr"))
            except UnicodeDecodeError:
                pass
    return frozenset(found)


KS_X_1001 = _ks_x_1001()
PRINTABLE_ASCII = frozenset(chr(code) for code in range(0x20, 0x7F))
CARRIED = sorted(KS_X_1001 | PRINTABLE_ASCII | {"\t", "\n", "\r"})
EMOJI = "😀"


def test_the_hangul_syllables_carried_are_exactly_the_2350_of_ks_x_1001():
    syllables = [chr(code) for code in range(0xAC00, 0xD7A4)]

    carried = [char for char in syllables if not unsupported_characters(char)]

    assert len(carried) == 2350
    assert set(carried) == KS_X_1001 & set(syllables)


@pytest.mark.parametrize("char", ["똠", "햏", "쓔", "뷁"])
def test_cp949_only_hangul_is_unsupported_although_python_euc_kr_encodes_it(char):
    # Given a syllable CP949 has but KS X 1001 lacks: the euc_kr codec writes an 8-byte make-up sequence
    assert len(char.encode("euc_kr")) == 8
    assert len(char.encode("cp949")) == 2

    assert unsupported_characters(f"가{char}") == [(1, char)]


@pytest.mark.parametrize("char", [EMOJI, "❤️"[0], "\u4e28", "é", "\u2013", "\xa0", "\ufeff", "\x00", "\x1b", "\x7f",
                                  "\ud800"])
def test_characters_outside_ks_x_1001_and_control_characters_are_unsupported(char):
    assert unsupported_characters(char) == [(0, char)]


def test_every_ks_x_1001_character_printable_ascii_tab_and_newlines_are_supported():
    assert unsupported_characters("".join(CARRIED)) == []


def test_unsupported_positions_are_indexes_into_the_newline_normalised_text():
    text = f"가\r\n나{EMOJI}\r다{EMOJI}"

    assert unsupported_characters(text) == [(3, EMOJI), (6, EMOJI)]
    assert normalize_newlines(text)[3] == EMOJI


def test_require_supported_names_every_unsupported_character_with_its_position():
    with pytest.raises(UnsupportedCharacters) as caught:
        require_supported(f"{EMOJI}수업 안내 똠")

    assert caught.value.code == "UNSUPPORTED_CHARACTERS"
    assert caught.value.status_code == 400
    assert caught.value.details == {"characters": [
        {"index": 0, "char": EMOJI, "codepoint": "U+1F600"},
        {"index": 7, "char": "똠", "codepoint": "U+B620"},
    ]}
    assert caught.value.message.startswith("문자 메시지로 보낼 수 없는 글자가 2개 있습니다")


def test_require_supported_accepts_carried_text():
    assert require_supported("[가나학원] 홍길동 학생이 결석했습니다.\r\n문의 02-123-4567") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0), ("a", 1), ("가", 2), ("가a", 3), ("\n", 1), ("\r\n", 1), ("\r", 1), ("a\r\nb\nc\rd", 7),
    ("\t", 1), (EMOJI, 2), ("똠", 2), ("㈜♥", 4),
])
def test_byte_length_counts_ascii_and_lf_as_one_byte_and_everything_else_as_two(text, expected):
    assert byte_length(text) == expected


@pytest.mark.parametrize(("text", "size", "expected_type"), [
    ("가" * 45, 90, "SMS"),
    ("가" * 45 + "a", 91, "LMS"),
    ("a" * 90, 90, "SMS"),
    ("a" * 91, 91, "LMS"),
    ("가" * 44 + "ab", 90, "SMS"),
    ("가" * 44 + "abc", 91, "LMS"),
    # CRLF counts as one byte: counted as two it would cross the boundary.
    ("가" * 44 + "a\r\n", 90, "SMS"),
    ("가" * 44 + "ab\r\n", 91, "LMS"),
    ("가" * 44 + "\r\n\r\n", 90, "SMS"),
    # An emoji is refused at send; a preview still counts it as 2 bytes.
    ("가" * 44 + EMOJI, 90, "SMS"),
    ("가" * 44 + "a" + EMOJI, 91, "LMS"),
    ("가" * 1000, 2000, "LMS"),
    ("가" * 999 + "a\r\n", 2000, "LMS"),
    ("가" * 999 + EMOJI, 2000, "LMS"),
    ("a" * 2000, 2000, "LMS"),
])
def test_sms_up_to_90_bytes_lms_up_to_2000(text, size, expected_type):
    assert byte_length(text) == size
    assert message_type(text) == expected_type


@pytest.mark.parametrize("text", [
    "가" * 1000 + "a", "a" * 2001, "가" * 999 + "ab\r\n", "가" * 999 + "a" + EMOJI, "가" * 999 + "\r\n\r\n\r\n",
])
def test_over_2000_bytes_is_refused_with_the_byte_count(text):
    with pytest.raises(MessageTooLong) as caught:
        message_type(text)

    assert caught.value.byte_count == 2001
    assert caught.value.code == "MESSAGE_TOO_LONG"
    assert caught.value.details == {"bytes": 2001, "max_bytes": 2000}
    assert caught.value.message == "메시지가 너무 깁니다. 2,001바이트이며 최대 2,000바이트까지 보낼 수 있습니다."


def test_a_subject_forces_lms_and_a_blank_subject_does_not():
    assert message_type("내일 휴강합니다.", "휴강 안내") == "LMS"
    assert message_type("내일 휴강합니다.", "  ") == "SMS"
    assert message_type("내일 휴강합니다.", None) == "SMS"


def test_a_subject_over_40_bytes_is_refused():
    assert message_type("본문", "가" * 20) == "LMS"

    with pytest.raises(SubjectTooLong) as caught:
        message_type("본문", "가" * 20 + "a")

    assert caught.value.byte_count == 41
    assert caught.value.details == {"bytes": 41, "max_bytes": 40}


@pytest.mark.parametrize("text", ["", "   ", "\r\n", " \n\t "])
def test_an_empty_message_is_refused(text):
    with pytest.raises(EmptyMessage) as caught:
        message_type(text)

    assert caught.value.code == "MESSAGE_EMPTY"


carried_text = st.text(alphabet=st.sampled_from(CARRIED), max_size=300)


@given(carried_text)
def test_byte_length_of_carried_text_is_its_euc_kr_length_with_crlf_as_lf(text):
    assert unsupported_characters(text) == []
    assert byte_length(text) == len(text.replace("\r\n", "\n").encode("euc_kr"))


@given(carried_text, st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_each_emoji_inserted_is_reported_where_it_stands_and_counted_as_two_bytes(text, positions):
    # Given carried text without CR (so indexes do not shift) and emoji inserted at the given places
    chars = list(text.replace("\r", ""))
    for position in sorted(positions, reverse=True):
        chars.insert(min(position, len(chars)), EMOJI)
    with_emoji = "".join(chars)

    assert [index for index, _ in unsupported_characters(with_emoji)] == [
        index for index, char in enumerate(with_emoji) if char == EMOJI]
    assert byte_length(with_emoji) == len(text.replace("\r", "").encode("euc_kr")) + 2 * len(positions)


@given(st.lists(st.sampled_from(["가", "a", "\r\n", "\n", "똠", EMOJI]), min_size=1, max_size=1100).map("".join))
def test_the_type_follows_the_byte_length(text):
    assume(normalize_newlines(text).strip())
    size = byte_length(text)
    if size > 2000:
        with pytest.raises(MessageTooLong):
            message_type(text)
    else:
        assert message_type(text) == ("SMS" if size <= 90 else "LMS")
