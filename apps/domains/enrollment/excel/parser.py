"""Roster parsing (ARCHITECTURE §4 Excel enrollment): header found by aliases, values normalised, rows explained.

Reads with python-calamine, which keeps only cells holding values (1,000,000 empty styled rows cost nothing)
and returns formulas as their cached values. The per-row work is kept to a few dictionary lookups: repeated
values (each school/grade/school type/gender combination, unknown columns) are normalised once, the common phone
shapes take a fast path before the shared normaliser, and the cyclic garbage collector is paused while rows are
built, so parsing stays within 1.5x of the bare read (scripts/bench/excel_import.py measures it).
"""

import gc
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import chain
from operator import itemgetter
from pathlib import Path

from django.utils import timezone

from apps.core.phone import InvalidPhoneError, normalize_phone
from apps.domains.students.grades import Grade, InvalidGradeError, parse_grade, resolve_grade
from apps.domains.students.models import Gender, SchoolType

from .errors import ExcelFormulasNotCalculatedError, ExcelHeaderError, ExcelNoRowsError
from .sheets import RosterSheet, roster_sheets, uncalculated_formula_cells
from .template import TEMPLATE_EXAMPLE_KEY

HEADER_SEARCH_ROWS = 20
NAME_MAX_LENGTH = 50
SCHOOL_MAX_LENGTH = 100

# Exact aliases of the fields other than phones (after header_key). Phone columns are recognised by
# `phone_field`: staff write them in too many ways for a list.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("이름", "성명", "학생명", "학생 이름", "학생이름", "name", "student name"),
    "school": ("학교", "학교명", "school"),
    "grade": ("학년", "grade"),
    "school_type": ("초/중/고", "초중고", "학교급", "구분", "school type"),
    "gender": ("성별", "gender", "sex"),
    "memo": ("메모", "비고", "memo", "note"),
    "birth_date": ("생년월일", "생일", "출생일", "birth date", "birthdate", "date of birth"),
}
_HEADER_NOISE = re.compile(r"\(.*?\)|\[.*?\]|[\s_\-.*·:/]")
_LABEL_NOISE = re.compile(r"[\s_\-.*·:/()\[\]]")
_BRACKETED_EXAMPLE = re.compile(r"[(\[][^()\[\]a-z가-힣]*[)\]]")  # '(010-0000-0000)'; '(모)', '(집)' are words


def header_key(value: object) -> str:
    """'학부모 전화번호(필수)' → '학부모전화번호', 'Parent_Phone' → 'parentphone'."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return _HEADER_NOISE.sub("", text)


_ALIAS_TO_FIELD = {header_key(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases}

# A phone header is WHO + WHAT in any order ('아버지 휴대폰', '모 HP', 'HP(모)', 'Parent phone', '학생 연락처'),
# optionally with filler ('님', '번호', '1', '(필수)'). Without WHO it is the student's phone; a header of only a
# parent word ('학부모', '보호자') is the parent's phone.
_PARENT_WORDS = (
    "학부모님", "학부모", "보호자", "부모님", "부모", "아버님", "어머님", "아버지", "어머니", "아빠", "엄마",
    "부친", "모친", "부", "모", "parents", "parent", "guardian", "father", "mother", "dad", "mom", "mum",
)
_PARENT_ALONE = frozenset({"학부모님", "학부모", "보호자", "부모님", "부모", "parents", "parent", "guardian"})
_STUDENT_WORDS = ("학생", "본인", "자녀", "student")
_PHONE_WORDS = (
    "휴대전화번호", "휴대폰번호", "핸드폰번호", "전화번호", "연락처", "휴대전화", "휴대폰", "핸드폰", "모바일",
    "전화", "폰", "hp", "phone", "mobile", "cellphone", "cell", "telephone", "tel", "contact",
)
_FILLER_WORDS = ("님", "의", "번호", "필수", "선택", "예시", "예")
_WORD_KIND = {
    **dict.fromkeys(_PARENT_WORDS, "parent"), **dict.fromkeys(_STUDENT_WORDS, "student"),
    **dict.fromkeys(_PHONE_WORDS, "what"), **dict.fromkeys(_FILLER_WORDS, "filler"),
}
# Longest first, so '부모' is one word and '모바일' is not '모' + '바일'.
_HEADER_WORD = re.compile("|".join(sorted(map(re.escape, _WORD_KIND), key=len, reverse=True)))
_NUMBERED = re.compile(r"[1-9]$")  # '연락처1', '연락처2'
_DATA_LIKE = re.compile(r"\d{3}")  # a phone, a date, a year: a data row, not labels
EXPLICIT, LOOSE = 2, 1  # how sure a header is: the best column of each field wins, the first one on a tie


def phone_field(key: str) -> tuple[str, int] | None:
    """(field, certainty) of a header key made only of WHO, WHAT and filler words, else None."""
    kinds, position, parent_alone = set(), 0, False
    key = _NUMBERED.sub("", key)
    while position < len(key):
        match = _HEADER_WORD.match(key, position)
        if match is None:
            return None
        word = match.group()
        kinds.add(_WORD_KIND.get(word, "filler"))
        parent_alone = parent_alone or word in _PARENT_ALONE
        position = match.end()
    if "what" in kinds:
        if "parent" in kinds:
            return "parent_phone", EXPLICIT
        return ("phone", EXPLICIT) if "student" in kinds else ("phone", LOOSE)
    if parent_alone and "student" not in kinds:
        return "parent_phone", LOOSE
    return None


def label_field(value: object) -> tuple[str, int] | None:
    """The field a header label names and how surely, or None: exact aliases, then the phone matcher."""
    if value == "" or value is None:
        return None
    key = header_key(value)
    if key in _ALIAS_TO_FIELD:
        return _ALIAS_TO_FIELD[key], EXPLICIT
    # Bracketed words count: the WHO ('연락처(학부모)', 'HP(모)'), filler ('(필수)') or not a phone ('전화(집)').
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    found = phone_field(_LABEL_NOISE.sub("", _BRACKETED_EXAMPLE.sub("", text)))
    if found is None and key:
        # Any other bracket is a remark only next to an explicit header ('학부모 연락처(숫자만)').
        without_brackets = phone_field(key)
        found = without_brackets if without_brackets and without_brackets[1] == EXPLICIT else None
    return found


def _is_who_word(value: object) -> bool:
    key = header_key(value)
    return bool(key) and _WORD_KIND.get(key) in ("parent", "student")


@dataclass(frozen=True, slots=True)
class Header:
    """The roster header: its first and last row (0-based indexes into the rows read), column → field, and
    column → label as written (a two-row header's labels joined: '연락처 학부모')."""

    first: int
    last: int
    mapping: dict[int, str]
    labels: dict[int, str]


def _mapping(fields: dict[int, tuple[str, int]]) -> dict[int, str]:
    best: dict[str, tuple[int, int]] = {}
    for column, (name, certainty) in fields.items():
        if name not in best or certainty > best[name][1]:
            best[name] = (column, certainty)
    return {column: name for name, (column, _) in sorted(best.items(), key=lambda item: item[1][0])}


def _is_roster(mapping: dict[int, str]) -> bool:
    return "name" in mapping.values() and len(mapping) >= 2


def _single_row_header(index: int, values: list) -> Header:
    labels = {column: cell_text(value) for column, value in enumerate(values) if cell_text(value)}
    fields = {column: found for column, label in labels.items() if (found := label_field(label))}
    return Header(index, index, _mapping(fields), labels)


def _two_row_header(index: int, upper: list, lower: list) -> Header | None:
    """The header of rows `index` and `index + 1` when the lower row holds labels under the upper ones, else None.

    A merged cell reads as its value in the first cell and "" in the rest, so an upper label is carried right
    across the empty upper cells; under it, each lower label is read with it ('연락처' over '학생 | 학부모').
    """
    upper_texts = [cell_text(value) for value in upper]
    lower_texts = [cell_text(value) for value in lower]
    if not any(label_field(text) or _is_who_word(text) for text in upper_texts):
        return None
    if any(type(value) in (int, float) or _DATA_LIKE.search(text)
           for value, text in zip(lower, lower_texts, strict=False)):
        return None
    labels: dict[int, str] = {}
    fields: dict[int, tuple[str, int]] = {}
    from_lower = False
    carried = ""
    for column in range(max(len(upper_texts), len(lower_texts))):
        above = upper_texts[column] if column < len(upper_texts) else ""
        below = lower_texts[column] if column < len(lower_texts) else ""
        own = bool(above)
        carried = above or carried
        if not below:
            if own:
                labels[column] = above
                if found := label_field(above):
                    fields[column] = found
            continue
        if not carried:
            labels[column] = below
            found = label_field(below)
        else:
            labels[column] = f"{carried} {below}"
            found = label_field(carried + below) or label_field(below + carried)
            if found is None and not _is_who_word(carried):
                # A group title ('기본 정보' over '이름 | 학교'); under a WHO ('학부모' over '이름') it is not ours.
                found = label_field(below)
        if found:
            fields[column] = found
            from_lower = True
    mapping = _mapping(fields)
    if not from_lower or not _is_roster(mapping):
        return None
    return Header(index, index + 1, mapping, labels)


def find_header(rows: list[list]) -> Header | None:
    """The roster header among the first rows (one row, or two when the second names columns under the first)."""
    for index, values in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if not any(values):
            continue
        single = _single_row_header(index, values)
        if index + 1 < len(rows) and any(rows[index + 1]):
            double = _two_row_header(index, values, rows[index + 1])
            if double is not None and len(double.mapping) >= len(single.mapping):
                return double
        if _is_roster(single.mapping):
            return single
    return None


@dataclass(slots=True)
class ParsedStudentRow:
    row: int
    name: str
    parent_phone: str
    phone: str = ""
    school: str = ""
    school_type: str = ""
    grade: int | None = None
    gender: str = ""
    memo: str = ""
    extra: dict = field(default_factory=dict)
    grade_upcoming: bool = False  # "예비 고2": the grade starts with the coming school year
    birth_date: date | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.parent_phone)


@dataclass(frozen=True, slots=True)
class SkippedRow:
    row: int
    code: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ParsedRoster:
    rows: list[ParsedStudentRow]
    skipped: list[SkippedRow]
    header_row: int  # the header's first row as Excel numbers it
    columns: dict[str, str]
    extra_columns: list[str] = field(default_factory=list)
    sheet_name: str | None = ""  # None for a CSV file
    header_last_row: int = 0  # its last row: header_row + 1 for a two-row header
    warnings: list[dict] = field(default_factory=list)  # {code, message}: HIDDEN_SHEET


class _RowError(Exception):
    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message


MSG_MISSING_NAME = "이름이 비어 있습니다."
MSG_NAME_TOO_LONG = f"이름이 너무 깁니다. {NAME_MAX_LENGTH}자 이하로 입력해 주세요."
MSG_MISSING_PARENT_PHONE = "학부모 전화번호가 비어 있습니다."
MSG_INVALID_PARENT_PHONE = "학부모 전화번호가 올바르지 않습니다. 010으로 시작하는 11자리 번호를 입력해 주세요."
MSG_INVALID_STUDENT_PHONE = "학생 전화번호가 올바르지 않습니다. 010으로 시작하는 11자리 번호를 입력하거나 비워 두세요."
MSG_INVALID_SCHOOL_TYPE = "학교급을 알 수 없습니다. '초', '중', '고' 중 하나로 입력해 주세요."
MSG_INVALID_GENDER = "성별을 알 수 없습니다. '남' 또는 '여'로 입력해 주세요."
MSG_INVALID_BIRTH_DATE = (
    "생년월일이 올바르지 않습니다. '2012-03-05'처럼 1900년 이후의 지난 날짜를 입력하거나 비워 두세요."
)
MSG_EXAMPLE_ROW = "양식의 예시 행이라 건너뛰었습니다."

# What staff write in a phone cell for "no number" (compared lower-cased, without spaces).
PHONE_PLACEHOLDERS = frozenset({
    "", "-", "--", "---", "—", "–", ".", "..", "...", "0", "x", "xx", "xxx", "?", "??", "'", '"',
    "무", "없음", "없다", "미정", "미상", "모름", "미입력", "미기재", "해당없음", "해당무", "추후", "추후기재",
    "확인중", "null", "none", "nil", "n/a", "na",
})
# A note beside a number: '010-1234-5678(모)', '010 1234 5678 엄마', '엄마: 010…'.
_BRACKETED_NOTE = re.compile(r"[(\[][^\d()\[\]]*[)\]]")
_NOTE_EDGES = re.compile(r"^[^\d+(]+|[^\d)]+$")
_ELEMENTARY, _MIDDLE, _HIGH = SchoolType.ELEMENTARY.value, SchoolType.MIDDLE.value, SchoolType.HIGH.value
_MALE, _FEMALE = Gender.MALE.value, Gender.FEMALE.value
_SCHOOL_TYPE_WORDS = {
    **dict.fromkeys(("초", "초등", "초등학교", "초등학생", "elementary"), _ELEMENTARY),
    **dict.fromkeys(("중", "중등", "중학교", "중학생", "middle"), _MIDDLE),
    **dict.fromkeys(("고", "고등", "고등학교", "고등학생", "high"), _HIGH),
}
_GENDERS = {
    **dict.fromkeys(("남", "남자", "남성", "남학생", "m", "male"), _MALE),
    **dict.fromkeys(("여", "여자", "여성", "여학생", "f", "female"), _FEMALE),
}
_SCHOOL_SUFFIXES = (
    ("초등학교", _ELEMENTARY), ("초", _ELEMENTARY), ("중학교", _MIDDLE), ("중", _MIDDLE),
    ("고등학교", _HIGH), ("고", _HIGH),
)


def cell_text(value: object) -> str:
    """A cell as trimmed NFKC text: 3.0 → '3', dates → ISO, '' for empty."""
    kind = type(value)
    if kind is str:
        text = value.strip()
        return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()
    if kind is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None:
        return ""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _json_value(value: object) -> object:
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is int or kind is bool:
        return value
    return cell_text(value)


def _school_type_of(value: object) -> str:
    text = header_key(cell_text(value))
    if not text:
        return ""
    if text in _SCHOOL_TYPE_WORDS:
        return _SCHOOL_TYPE_WORDS[text]
    raise _RowError("INVALID_SCHOOL_TYPE", MSG_INVALID_SCHOOL_TYPE)


def is_phone_placeholder(value: object) -> bool:
    """'없음', '-', '미정', 'x', 0, a blank: no number was given (as opposed to a wrong one)."""
    if value is None:
        return True
    kind = type(value)
    if kind is float or kind is int:
        return value == 0
    if kind is not str:
        return False
    return "".join(unicodedata.normalize("NFKC", value).lower().split()) in PHONE_PLACEHOLDERS


def phone_with_note(value: object) -> str | None:
    """The number of a cell holding one number and a note or the apostrophe LibreOffice keeps from CSV, else None.

    Only called once the plain reading failed, so the common cells never pay for it.
    """
    if type(value) is not str:
        return None
    text = unicodedata.normalize("NFKC", value).strip().lstrip("'`")
    text = _NOTE_EDGES.sub("", _BRACKETED_NOTE.sub(" ", text)).strip()
    try:
        return normalize_phone(text)
    except InvalidPhoneError:
        return None


def _gender_of(value: object) -> str:
    text = header_key(cell_text(value))
    if not text:
        return ""
    if text in _GENDERS:
        return _GENDERS[text]
    raise _RowError("INVALID_GENDER", MSG_INVALID_GENDER)


EARLIEST_BIRTH_DATE = date(1900, 1, 1)
# Unambiguous shapes only, the year first with 4 digits: '2012-03-05', '2012.3.5', '2012/03/05', '2012. 3. 5.',
# '20120305', '2012년 3월 5일'.
_BIRTH_DATE_FORMS = (
    re.compile(r"(\d{4})\s*([-./])\s*(\d{1,2})\s*\2\s*(\d{1,2})\.?"),
    re.compile(r"(\d{4})()(\d{2})(\d{2})"),
    re.compile(r"(\d{4})\s*년()\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일?"),
)


def birth_date_of(value: object, *, today: date) -> date | None:
    """The birth date of a cell (an Excel date, or text in a 4-digit-year form), None when blank.

    Raises _RowError INVALID_BIRTH_DATE for anything else, a date in the future or one before 1900-01-01.
    """
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    else:
        text = cell_text(value)
        if "".join(text.lower().split()) in PHONE_PLACEHOLDERS:  # '', '-', '없음', '미상'...
            return None
        found = None
        for form in _BIRTH_DATE_FORMS:
            match = form.fullmatch(text)
            if match is not None:
                year, _, month, day = match.groups()
                try:
                    found = date(int(year), int(month), int(day))
                except ValueError:
                    found = None
                break
    if found is None or not EARLIEST_BIRTH_DATE <= found <= today:
        raise _RowError("INVALID_BIRTH_DATE", MSG_INVALID_BIRTH_DATE)
    return found


def _school_of(value: object) -> tuple[str, str]:
    school = cell_text(value)[:SCHOOL_MAX_LENGTH]
    for suffix, school_type in _SCHOOL_SUFFIXES:
        if school.endswith(suffix) and len(school) > len(suffix):
            return school, school_type
    return school, ""


def _outcome(function, value) -> tuple[bool, object]:
    try:
        return True, function(value)
    except _RowError as exc:
        return False, exc


def _profile(fields: list[str], raw: tuple) -> tuple[str, str, int | None, str, bool]:
    cells = dict(zip(fields, raw, strict=False))
    school, inferred = _school_of(cells["school"]) if "school" in cells else ("", "")
    stated = _school_type_of(cells["school_type"]) if "school_type" in cells else ""
    try:
        grade = resolve_grade(parse_grade(cells["grade"]) if "grade" in cells else Grade(),
                              school_type=stated, inferred_school_type=inferred)
    except InvalidGradeError as exc:
        raise _RowError(exc.code, exc.message) from None
    gender = _gender_of(cells["gender"]) if "gender" in cells else ""
    return school, grade.school_type, grade.grade, gender, grade.upcoming


def parse_roster(path: str | Path) -> ParsedRoster:
    """Parse the roster of a workbook (xlsx, xls, ods) or CSV file.

    The sheet is the first holding a roster header in the order of `sheets.roster_sheets`: the active sheet if
    visible, the other visible ones, a hidden one last (with a HIDDEN_SHEET warning). Raises ExcelFileError,
    ExcelHeaderError, ExcelFormulasNotCalculatedError, ExcelNoRowsError.
    """
    any_values = False
    with roster_sheets(path) as sheets:
        for source in sheets:
            rows = source.rows
            head = _take(rows, HEADER_SEARCH_ROWS)
            if any(any(values) for values in head):
                any_values = True
            found = find_header(head)
            if found is None:
                continue
            # The loop allocates a few objects per row and frees none: generational collections would rescan
            # every row built so far, for nothing (no cycles are created here).
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                roster = _parse_rows(head, rows, found)
            finally:
                if gc_was_enabled:
                    gc.enable()
            roster.sheet_name = source.name
            roster.warnings = source.warnings
            _explain_uncalculated_formulas(path, source, roster)
            return roster
    if any_values:
        raise ExcelHeaderError()
    raise ExcelNoRowsError()


MSG_FORMULA_NOT_CALCULATED = (
    "수식의 계산 결과가 저장되어 있지 않아 값이 비어 있습니다. 엑셀에서 파일을 열어 저장한 뒤 다시 올려 주세요."
)
_EMPTY_CELL_CODES = frozenset({"MISSING_NAME", "MISSING_PARENT_PHONE"})


def _explain_uncalculated_formulas(path: str | Path, source: RosterSheet, roster: ParsedRoster) -> None:
    """Rows that lost their values to uncalculated formulas say so, instead of "empty"; with no usable row left
    the whole file is refused with EXCEL_FORMULAS_NOT_CALCULATED. Only looked for when a row came out empty, so a
    clean roster pays nothing."""
    header_row = roster.header_last_row or roster.header_row
    if roster.rows and not any(item.code in _EMPTY_CELL_CODES for item in roster.skipped):
        return
    if source.name is None:  # CSV: no formulas
        return
    formula_rows = {row: ref for row, ref in uncalculated_formula_cells(path, source).items() if row > header_row}
    if not formula_rows:
        return
    if not roster.rows:
        refs = [formula_rows[row] for row in sorted(formula_rows)]
        raise ExcelFormulasNotCalculatedError(details={
            "sheet": source.name, "rows": len(refs), "cells": refs[:10]})
    parsed_rows = {row.row for row in roster.rows}
    skipped = [
        SkippedRow(item.row, "FORMULA_NOT_CALCULATED", MSG_FORMULA_NOT_CALCULATED)
        if item.code in _EMPTY_CELL_CODES and item.row in formula_rows else item
        for item in roster.skipped
    ]
    # Rows whose every cell is an uncalculated formula read as blank rows: they were not reported at all.
    reported = parsed_rows | {item.row for item in skipped}
    skipped += [SkippedRow(row, "FORMULA_NOT_CALCULATED", MSG_FORMULA_NOT_CALCULATED)
                for row in sorted(formula_rows) if row not in reported]
    roster.skipped = skipped


def _take(rows: Iterator[list], count: int) -> list[list]:
    head = []
    for values in rows:
        head.append(values)
        if len(head) == count:
            break
    return head


def _parse_rows(head: list[list], rest: Iterator[list], header: Header) -> ParsedRoster:
    mapping = header.mapping
    columns = {name: header.labels[column] for column, name in mapping.items()}
    if "parent_phone" not in columns:
        raise ExcelHeaderError(
            "EXCEL_MISSING_COLUMN",
            "'학부모 전화번호' 열을 찾을 수 없습니다. 머리글에 '학부모 전화번호' 열을 추가해 주세요.",
            details={"missing": ["parent_phone"]},
        )
    extra_columns = [(column, label) for column, label in header.labels.items() if column not in mapping]
    col = {name: column for column, name in mapping.items()}
    c_name, c_parent = col["name"], col["parent_phone"]
    c_phone, c_memo, c_birth = col.get("phone"), col.get("memo"), col.get("birth_date")
    # Birth dates keyed on the raw cell: (ok, date or None) or (False, the _RowError).
    birth_cache: dict = {}
    birth_of = partial(birth_date_of, today=timezone.localdate())
    birth_date = None
    # School, grade, school type and gender repeat across rows: normalise each distinct combination once.
    # profile_cache maps the raw cells to (ok, (school, school_type, grade, gender, upcoming)) or (False, the
    # _RowError).
    profile_fields = [name for name in ("school", "grade", "school_type", "gender") if name in col]
    # itemgetter of one index returns the bare cell: repeat it so the key is always a tuple.
    indexes = [col[name] for name in profile_fields] * (2 if len(profile_fields) == 1 else 1)
    profile_of = itemgetter(*indexes) if indexes else None
    profile = partial(_profile, profile_fields)
    profile_cache: dict = {}
    extra_cache: dict = {}  # unknown columns (class, bus route...) repeat too
    school, school_type, grade, gender, upcoming = "", "", None, "", False

    parsed: list[ParsedStudentRow] = []
    skipped: list[SkippedRow] = []
    first_row_of: dict[tuple[str, str], int] = {}
    append = parsed.append
    example_name, example_phone = TEMPLATE_EXAMPLE_KEY
    nfkc = unicodedata.normalize

    data_rows = chain(enumerate(head[header.last + 1:], start=header.last + 2), enumerate(rest, start=len(head) + 1))
    # calamine yields rows from the sheet's first row, so the position is the row number Excel shows.
    for excel_row, values in data_rows:
        if not any(values):
            continue
        try:
            name = values[c_name]
            if type(name) is str:
                name = name.strip()
                if not name.isascii():
                    name = nfkc("NFKC", name).strip()
            else:
                name = cell_text(name)
            if not name:
                raise _RowError("MISSING_NAME", MSG_MISSING_NAME)
            if len(name) > NAME_MAX_LENGTH:
                raise _RowError("NAME_TOO_LONG", MSG_NAME_TOO_LONG)
            raw = values[c_parent]
            try:
                parent_phone = normalize_phone(raw)
            except InvalidPhoneError:
                if is_phone_placeholder(raw):
                    raise _RowError("MISSING_PARENT_PHONE", MSG_MISSING_PARENT_PHONE)
                parent_phone = phone_with_note(raw)
                if parent_phone is None:
                    raise _RowError("INVALID_PARENT_PHONE", MSG_INVALID_PARENT_PHONE)
            phone = ""
            if c_phone is not None:
                raw = values[c_phone]
                if raw != "":
                    try:
                        phone = normalize_phone(raw)
                    except InvalidPhoneError:
                        if not is_phone_placeholder(raw):
                            phone = phone_with_note(raw)
                            if phone is None:
                                raise _RowError("INVALID_STUDENT_PHONE", MSG_INVALID_STUDENT_PHONE)
            if profile_of is not None:
                raw = profile_of(values)
                outcome = profile_cache.get(raw)
                if outcome is None:
                    outcome = profile_cache[raw] = _outcome(profile, raw)
                if not outcome[0]:
                    raise outcome[1]
                school, school_type, grade, gender, upcoming = outcome[1]
            if c_birth is not None:
                raw = values[c_birth]
                if raw == "" or raw is None:
                    birth_date = None
                else:
                    outcome = birth_cache.get(raw)
                    if outcome is None:
                        outcome = birth_cache[raw] = _outcome(birth_of, raw)
                    if not outcome[0]:
                        raise outcome[1]
                    birth_date = outcome[1]
            memo = ""
            if c_memo is not None:
                memo = values[c_memo]
                if type(memo) is str:
                    memo = memo.strip()
                    if not memo.isascii():
                        memo = nfkc("NFKC", memo).strip()
                else:
                    memo = cell_text(memo)
        except _RowError as exc:
            # A row of blanks only is an empty row, not a mistake to report.
            if exc.code == "MISSING_NAME" and not any(str(value).strip() for value in values):
                continue
            skipped.append(SkippedRow(excel_row, exc.code, exc.message))
            continue
        if name == example_name and parent_phone == example_phone:
            skipped.append(SkippedRow(excel_row, "EXAMPLE_ROW", MSG_EXAMPLE_ROW))
            continue
        first = first_row_of.setdefault((name, parent_phone), excel_row)
        if first != excel_row:
            skipped.append(SkippedRow(excel_row, "DUPLICATE_IN_FILE", f"{first}행과 중복됩니다."))
            continue
        extra = {}
        if extra_columns:
            for column, label in extra_columns:
                value = values[column]
                if value != "" and value is not None:
                    clean = extra_cache.get(value)
                    if clean is None:
                        clean = extra_cache[value] = _json_value(value)
                    extra[label] = clean
        append(ParsedStudentRow(excel_row, name, parent_phone, phone, school, school_type, grade, gender, memo,
                                extra, upcoming, birth_date))
    return ParsedRoster(
        rows=parsed,
        skipped=skipped,
        header_row=header.first + 1,
        columns=columns,
        extra_columns=[label for _, label in extra_columns],
        header_last_row=header.last + 1,
    )
