"""Template rendering for messages (ARCHITECTURE §4 Messaging): `#{변수}` filled in one pass, nothing left blank.

Pure functions, no Django import. A variable is `#{name}` where name is any text without braces or a line break
(`#{학생이름}`, `#{학생 이름}`); `#{}` is plain text. Rendering is a single pass over the template, so a value that
itself contains `#{…}` stays literal. Values are text; numbers are written plainly (95, 95.5, never 9.55e1 or
95.50) and a date as "11월 28일(토)". The output's line breaks are LF, the text that is counted and sent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal

from .encoding import normalize_newlines
from .refusals import MessagingRefusal

VARIABLE = re.compile(r"#\{([^{}\r\n]+)\}")
WEEKDAYS = "월화수목금토일"

Value = str | int | float | Decimal | dt.date | None


class MissingVariables(MessagingRefusal):
    default_code = "TEMPLATE_VARIABLES_MISSING"

    def __init__(self, names: list[str]):
        self.names = names
        listed = ", ".join(f"#{{{name}}}" for name in names)
        super().__init__(f"템플릿 변수의 값이 없습니다: {listed}", details={"missing": names})


def template_variables(body: str) -> list[str]:
    """Variable names in order of first appearance, each once."""
    return list(dict.fromkeys(VARIABLE.findall(body)))


def korean_date(value: dt.date) -> str:
    return f"{value.month}월 {value.day}일({WEEKDAYS[value.weekday()]})"


def format_value(value: Value) -> str:
    """The text a value stands for; "" for None. Datetimes and other types are the caller's to format (a datetime
    needs a time zone the core does not choose)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a template value")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a template value")
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    if isinstance(value, dt.datetime):
        raise TypeError("format a datetime in its time zone before rendering")
    if isinstance(value, dt.date):
        return korean_date(value)
    raise TypeError(f"{type(value).__name__} is not a template value")


def render(body: str, values: Mapping[str, Value]) -> str:
    """Fill every variable of body, or raise MissingVariables naming every variable whose value is absent, None or
    blank (0 is a value). Values for names the body does not use are ignored."""
    texts = {name: format_value(values.get(name)) for name in template_variables(body)}
    missing = [name for name, text in texts.items() if not text.strip()]
    if missing:
        raise MissingVariables(missing)
    return normalize_newlines(VARIABLE.sub(lambda match: texts[match.group(1)], body))
