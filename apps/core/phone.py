"""The one phone normaliser: every Korean mobile number is stored as 11 digits starting 010."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from apps.core.exceptions import DomainError

_ALLOWED = re.compile(r"^\+?[0-9\s\-.()]+$")


class InvalidPhoneError(DomainError):
    default_code = "INVALID_PHONE"
    default_message = "올바른 휴대폰 번호가 아닙니다. 010으로 시작하는 11자리 번호를 입력해 주세요."


def _digits_from_number(value: int | float | Decimal) -> str:
    # Excel stores 01012345678 as the number 1012345678 (sometimes as a float): take the integer part
    # only when the number is whole.
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidPhoneError() from exc
    if number != number.to_integral_value() or number < 0:
        raise InvalidPhoneError()
    return str(int(number))


def normalize_phone(value: object) -> str:
    """Return "010XXXXXXXX" or raise InvalidPhoneError.

    Accepts hyphens, spaces, dots, brackets, full-width digits, a +82 / 82 country code, and the
    numbers Excel makes of phone cells (leading zero lost, int or float).
    """
    # Fast paths for the shapes most rosters hold (100,000-row imports call this once per phone cell).
    kind = type(value)
    if kind is str and value.isascii():
        digits = value.replace("-", "")
        if len(digits) == 11 and digits.isdigit() and digits.startswith("010"):
            return digits
    elif kind is float and 1_000_000_000 <= value < 1_100_000_000 and value.is_integer():
        return f"0{int(value)}"
    if value is None or isinstance(value, bool):
        raise InvalidPhoneError()
    if isinstance(value, (int, float, Decimal)):
        digits = _digits_from_number(value)
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if not text or not _ALLOWED.match(text):
            raise InvalidPhoneError()
        digits = re.sub(r"\D", "", text)
        if text.startswith("+") and not digits.startswith("82"):
            raise InvalidPhoneError()
    else:
        raise InvalidPhoneError()

    if digits.startswith("82") and len(digits) in (11, 12):
        digits = digits[2:]
        if not digits.startswith("0"):
            digits = "0" + digits
    if len(digits) == 10 and digits.startswith("10"):
        digits = "0" + digits
    if len(digits) != 11 or not digits.startswith("010"):
        raise InvalidPhoneError()
    return digits


def normalize_optional_phone(value: object) -> str:
    """Blank stays blank ("" for no number); anything else must be a valid mobile number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return normalize_phone(value)
