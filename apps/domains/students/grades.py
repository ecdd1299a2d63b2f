"""The one grade rule of a student (ARCHITECTURE §6 domains/students), used by the student API and the roster parser.

A grade is 1-6 at an elementary school, 1-3 at a middle or high school, and 1-6 when the school type is unknown.
Notations are the ones staff write: 3, "3학년", "중2", "고등학교 1학년", and the winter rosters' "예비 고2": the
grade the student is about to enter, which starts with the school year on 1 March.
No Django model import: the parser is a pure core and runs this once per distinct cell value.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from apps.core.exceptions import DomainError

# Values of students.models.SchoolType (a test keeps them equal).
ELEMENTARY, MIDDLE, HIGH = "ELEMENTARY", "MIDDLE", "HIGH"
MAX_GRADE = {ELEMENTARY: 6, MIDDLE: 3, HIGH: 3, "": 6}
SCHOOL_YEAR_START_MONTH = 3
NOTATION_MAX_LENGTH = 20

MSG_INVALID_GRADE = (
    "학년이 올바르지 않습니다. 초등은 1~6학년, 중등·고등은 1~3학년이며 "
    "'3', '2학년', '중2', '고1', '예비 고2'처럼 입력해 주세요."
)

_PREFIX = {ELEMENTARY: "초", MIDDLE: "중", HIGH: "고"}
_TYPE_WORDS = {
    **dict.fromkeys(("초등학교", "초등", "초"), ELEMENTARY),
    **dict.fromkeys(("중학교", "중등", "중"), MIDDLE),
    **dict.fromkeys(("고등학교", "고등", "고"), HIGH),
}
_NOTATION = re.compile(r"^(예비)?(초등학교|초등|초|중학교|중등|중|고등학교|고등|고)?(\d{1,2})(?:학년)?$")


class InvalidGradeError(DomainError):
    default_code = "INVALID_GRADE"
    default_message = MSG_INVALID_GRADE

    def __init__(self):
        super().__init__(details={"field": "grade"})


@dataclass(frozen=True, slots=True)
class Grade:
    """A grade as written: `school_type` is "" when the notation names none; `upcoming` for "예비"."""

    school_type: str = ""
    grade: int | None = None
    upcoming: bool = False


def parse_grade(value: object) -> Grade:
    """A cell or API value as a Grade (Grade() when blank). Raises InvalidGradeError for anything else.

    The range is not checked here: the school type may come from another column (see `resolve_grade`).
    """
    if value is None:
        return Grade()
    kind = type(value)
    if kind is int or (kind is float and value.is_integer()):
        return Grade(grade=int(value))
    if kind is not str or len(value) > NOTATION_MAX_LENGTH:
        raise InvalidGradeError()
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", value))
    if not text:
        return Grade()
    match = _NOTATION.match(text)
    if match is None:
        raise InvalidGradeError()
    upcoming, type_word, number = match.groups()
    return Grade(_TYPE_WORDS[type_word] if type_word else "", int(number), upcoming is not None)


def resolve_grade(notation: Grade, *, school_type: str = "", inferred_school_type: str = "") -> Grade:
    """The checked grade of a student from its notation and a school type given beside it.

    `school_type` is stated (a column, an API field) and must agree with a notation naming one ("중" with "고1" is
    refused), except for "예비": "예비 중1" next to the current "초" is the school the student is about to enter.
    `inferred_school_type` (from a school's name) only fills a gap. Raises InvalidGradeError.
    """
    named = notation.school_type
    if named and school_type and named != school_type and not notation.upcoming:
        raise InvalidGradeError()
    resolved = named or school_type or inferred_school_type
    if notation.grade is None:
        return Grade(resolved)
    check_grade(school_type=resolved, grade=notation.grade)
    return Grade(resolved, notation.grade, notation.upcoming)


def check_grade(*, school_type: str, grade: int | None) -> None:
    if grade is not None and not 1 <= grade <= MAX_GRADE.get(school_type, 0):
        raise InvalidGradeError()


def school_year_start(today: date) -> date:
    """The coming start of the school year: 1 March, today included."""
    start = date(today.year, SCHOOL_YEAR_START_MONTH, 1)
    return start if today <= start else date(today.year + 1, SCHOOL_YEAR_START_MONTH, 1)


def grade_label(*, school_type: str, grade: int | None, starts_on: date | None, today: date) -> str:
    """"고2", "3학년", "예비 고2" until `starts_on`; "" without a grade."""
    if grade is None:
        return ""
    label = f"{_PREFIX[school_type]}{grade}" if school_type in _PREFIX else f"{grade}학년"
    return f"예비 {label}" if starts_on is not None and today < starts_on else label
