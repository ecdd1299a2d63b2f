from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.phone import InvalidPhoneError, normalize_optional_phone, normalize_phone

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@pytest.mark.parametrize("value", [
    "01012345678", "010-1234-5678", "010 1234 5678", "010.1234.5678", " 010-1234-5678 ", "(010) 1234-5678",
    "+82 10-1234-5678", "+821012345678", "82-10-1234-5678", "０１０－１２３４－５６７８",
    1012345678, 1012345678.0, Decimal("1012345678"), "1012345678",
])
def test_known_formats_normalise(value):
    assert normalize_phone(value) == "01012345678"


@pytest.mark.parametrize("value", [
    None, True, "", "   ", "02-123-4567", "011-1234-5678", "010-1234-567", "010-1234-56789", "+1 10 1234 5678",
    "010-1234-5678 내선", "tel:01012345678", 1012345678.5, -1012345678, 212345678, [], "0１0-abcd-5678",
])
def test_non_mobile_numbers_are_refused(value):
    with pytest.raises(InvalidPhoneError) as caught:
        normalize_phone(value)

    assert caught.value.code == "INVALID_PHONE"


def test_optional_phone_keeps_blank():
    assert normalize_optional_phone(None) == ""
    assert normalize_optional_phone("  ") == ""
    assert normalize_optional_phone("010-9999-8888") == "01099998888"


eight_digits = st.text(alphabet="0123456789", min_size=8, max_size=8)
separator = st.sampled_from(["", "-", " ", ".", " - "])


@st.composite
def formatted_mobile(draw):
    """Any way a person or Excel writes 010 + d, and the expected canonical form."""
    d = draw(eight_digits)
    sep = draw(separator)
    head, tail = d[:4], d[4:]
    style = draw(st.sampled_from(["local", "brackets", "intl", "intl-no-plus", "int", "float"]))
    if style == "int":
        return int("10" + d), "010" + d
    if style == "float":
        return float("10" + d), "010" + d
    text = {
        "local": f"010{sep}{head}{sep}{tail}",
        "brackets": f"(010){sep}{head}{sep}{tail}",
        "intl": f"+82{sep or ' '}10{sep}{head}{sep}{tail}",
        "intl-no-plus": f"82{sep}10{sep}{head}{sep}{tail}",
    }[style]
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return f"{padding}{text}{padding}", "010" + d


@given(formatted_mobile())
def test_every_formatting_of_010_d_normalises_to_010_d(case):
    value, expected = case

    assert normalize_phone(value) == expected


@given(st.text(), st.sampled_from("abcxyzABCXYZ"), st.data())
def test_strings_with_letters_are_refused(text, letter, data):
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    value = text[:position] + letter + text[position:]

    with pytest.raises(InvalidPhoneError):
        normalize_phone(value)


@given(st.from_regex(r"\A01[1-9][0-9]{7,8}\Z"))
def test_other_mobile_prefixes_are_refused(value):
    with pytest.raises(InvalidPhoneError):
        normalize_phone(value)


@given(st.text(alphabet="0123456789", min_size=0, max_size=9))
def test_too_short_digit_strings_are_refused(value):
    with pytest.raises(InvalidPhoneError):
        normalize_phone(value)


@given(st.one_of(formatted_mobile().map(lambda case: case[0]), st.text(), st.integers()))
def test_normalisation_is_idempotent(value):
    try:
        once = normalize_phone(value)
    except InvalidPhoneError:
        return
    assert normalize_phone(once) == once
    assert len(once) == 11 and once.startswith("010") and once.isdigit()
