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

from apps.core.phone import InvalidPhoneError, normalize_phone
from apps.domains.students.models import Gender, SchoolType

from .errors import ExcelFormulasNotCalculatedError, ExcelHeaderError, ExcelNoRowsError
from .sheets import RosterSheet, roster_sheets, uncalculated_formula_cells
from .template import TEMPLATE_EXAMPLE_KEY

HEADER_SEARCH_ROWS = 20
NAME_MAX_LENGTH = 50
SCHOOL_MAX_LENGTH = 100

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("이름", "성명", "학생명", "학생 이름", "학생이름", "name", "student name"),
    "parent_phone": (
        "학부모 전화번호", "학부모 연락처", "학부모 전화", "학부모번호", "학부모 번호",
        "학부모 휴대폰", "학부모 핸드폰", "학부모 휴대전화",
        "보호자 연락처", "보호자 전화번호", "보호자 전화", "보호자 번호", "보호자 휴대폰", "보호자 핸드폰",
        "부모님 전화", "부모님 전화번호", "부모님 연락처", "부모님 휴대폰", "부모님 핸드폰",
        "부모 연락처", "부모 전화번호", "parent phone", "parentphone", "parent mobile", "guardian phone",
    ),
    "phone": (
        "학생 전화번호", "학생 연락처", "학생 휴대폰", "학생 핸드폰", "학생 휴대전화",
        "휴대폰", "핸드폰", "휴대전화", "연락처", "전화번호", "phone", "student phone", "mobile",
    ),
    "school": ("학교", "학교명", "school"),
    "grade": ("학년", "grade"),
    "school_type": ("초/중/고", "초중고", "학교급", "구분", "school type"),
    "gender": ("성별", "gender", "sex"),
    "memo": ("메모", "비고", "memo", "note"),
}
_HEADER_NOISE = re.compile(r"\(.*?\)|\[.*?\]|[\s_\-.*·:/]")


def header_key(value: object) -> str:
    """'학부모 전화번호(필수)' → '학부모전화번호', 'Parent_Phone' → 'parentphone'."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return _HEADER_NOISE.sub("", text)


_ALIAS_TO_FIELD = {header_key(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases}


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
    header_row: int
    columns: dict[str, str]
    extra_columns: list[str] = field(default_factory=list)
    sheet_name: str | None = ""  # None for a CSV file
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
MSG_INVALID_GRADE = "학년을 알 수 없습니다. '중2', '고1', '초6', '2학년'처럼 입력해 주세요."
MSG_INVALID_SCHOOL_TYPE = "학교급을 알 수 없습니다. '초', '중', '고' 중 하나로 입력해 주세요."
MSG_INVALID_GENDER = "성별을 알 수 없습니다. '남' 또는 '여'로 입력해 주세요."
MSG_EXAMPLE_ROW = "양식의 예시 행이라 건너뛰었습니다."

_BLANK_PHONES = frozenset({"-", "--", "없음", "x", "X", "null", "NULL", "none", "None", "n/a", "N/A"})
_ELEMENTARY, _MIDDLE, _HIGH = SchoolType.ELEMENTARY.value, SchoolType.MIDDLE.value, SchoolType.HIGH.value
_MALE, _FEMALE = Gender.MALE.value, Gender.FEMALE.value
_SCHOOL_TYPE_WORDS = {
    **dict.fromkeys(("초", "초등", "초등학교", "초등학생", "elementary"), _ELEMENTARY),
    **dict.fromkeys(("중", "중등", "중학교", "중학생", "middle"), _MIDDLE),
    **dict.fromkeys(("고", "고등", "고등학교", "고등학생", "high"), _HIGH),
}
_GRADE = re.compile(r"^(초등학교|초등|초|중학교|중등|중|고등학교|고등|고)?(\d{1,2})(?:학년)?$")
_MAX_GRADE = {_ELEMENTARY: 6, _MIDDLE: 3, _HIGH: 3, "": 6}
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


def _grade_of(value: object) -> tuple[str, int | None]:
    text = re.sub(r"\s", "", cell_text(value))
    if not text:
        return "", None
    match = _GRADE.match(text)
    if not match:
        raise _RowError("INVALID_GRADE", MSG_INVALID_GRADE)
    school_type = _SCHOOL_TYPE_WORDS[match.group(1)] if match.group(1) else ""
    grade = int(match.group(2))
    if not 1 <= grade <= _MAX_GRADE[school_type]:
        raise _RowError("INVALID_GRADE", MSG_INVALID_GRADE)
    return school_type, grade


def _gender_of(value: object) -> str:
    text = header_key(cell_text(value))
    if not text:
        return ""
    if text in _GENDERS:
        return _GENDERS[text]
    raise _RowError("INVALID_GENDER", MSG_INVALID_GENDER)


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


def _profile(fields: list[str], raw: tuple) -> tuple[str, str, int | None, str]:
    cells = dict(zip(fields, raw, strict=False))
    school, school_type = _school_of(cells["school"]) if "school" in cells else ("", "")
    grade = None
    if "grade" in cells:
        grade_type, grade = _grade_of(cells["grade"])
        school_type = grade_type or school_type
    if "school_type" in cells:
        school_type = _school_type_of(cells["school_type"]) or school_type
    if grade is not None and grade > _MAX_GRADE[school_type]:
        raise _RowError("INVALID_GRADE", MSG_INVALID_GRADE)
    gender = _gender_of(cells["gender"]) if "gender" in cells else ""
    return school, school_type, grade, gender


def find_header(rows: list[list]) -> tuple[int, dict[int, str]] | None:
    """Index of the header row among the first rows and its column → field map, or None."""
    for index, values in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, str] = {}
        for column, value in enumerate(values):
            if value == "" or value is None:
                continue
            name = _ALIAS_TO_FIELD.get(header_key(value))
            if name and name not in mapping.values():
                mapping[column] = name
        if "name" in mapping.values() and len(mapping) >= 2:
            return index, mapping
    return None


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
            header_index, mapping = found
            # The loop allocates a few objects per row and frees none: generational collections would rescan
            # every row built so far, for nothing (no cycles are created here).
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                roster = _parse_rows(head, rows, header_index, mapping)
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
    header_row = roster.header_row
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


def _parse_rows(head: list[list], rest: Iterator[list], header_index: int, mapping: dict[int, str]) -> ParsedRoster:
    header = head[header_index]
    columns = {name: cell_text(header[column]) for column, name in mapping.items()}
    if "parent_phone" not in columns:
        raise ExcelHeaderError(
            "EXCEL_MISSING_COLUMN",
            "'학부모 전화번호' 열을 찾을 수 없습니다. 머리글에 '학부모 전화번호' 열을 추가해 주세요.",
            details={"missing": ["parent_phone"]},
        )
    extra_columns = [
        (column, cell_text(value)) for column, value in enumerate(header)
        if column not in mapping and cell_text(value)
    ]
    col = {name: column for column, name in mapping.items()}
    c_name, c_parent = col["name"], col["parent_phone"]
    c_phone, c_memo = col.get("phone"), col.get("memo")
    # School, grade, school type and gender repeat across rows: normalise each distinct combination once.
    # profile_cache maps the raw cells to (ok, (school, school_type, grade, gender)) or (False, the _RowError).
    profile_fields = [name for name in ("school", "grade", "school_type", "gender") if name in col]
    # itemgetter of one index returns the bare cell: repeat it so the key is always a tuple.
    indexes = [col[name] for name in profile_fields] * (2 if len(profile_fields) == 1 else 1)
    profile_of = itemgetter(*indexes) if indexes else None
    profile = partial(_profile, profile_fields)
    profile_cache: dict = {}
    extra_cache: dict = {}  # unknown columns (class, bus route...) repeat too
    school, school_type, grade, gender = "", "", None, ""

    parsed: list[ParsedStudentRow] = []
    skipped: list[SkippedRow] = []
    first_row_of: dict[tuple[str, str], int] = {}
    append = parsed.append
    example_name, example_phone = TEMPLATE_EXAMPLE_KEY
    nfkc = unicodedata.normalize

    data_rows = chain(enumerate(head[header_index + 1:], start=header_index + 2), enumerate(rest, start=len(head) + 1))
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
                if raw == "" or (type(raw) is str and not raw.strip()):
                    raise _RowError("MISSING_PARENT_PHONE", MSG_MISSING_PARENT_PHONE)
                raise _RowError("INVALID_PARENT_PHONE", MSG_INVALID_PARENT_PHONE)
            phone = ""
            if c_phone is not None:
                raw = values[c_phone]
                if raw != "" and not (type(raw) is str and (not raw.strip() or raw.strip() in _BLANK_PHONES)):
                    try:
                        phone = normalize_phone(raw)
                    except InvalidPhoneError:
                        raise _RowError("INVALID_STUDENT_PHONE", MSG_INVALID_STUDENT_PHONE)
            if profile_of is not None:
                raw = profile_of(values)
                outcome = profile_cache.get(raw)
                if outcome is None:
                    outcome = profile_cache[raw] = _outcome(profile, raw)
                if not outcome[0]:
                    raise outcome[1]
                school, school_type, grade, gender = outcome[1]
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
                                extra))
    return ParsedRoster(
        rows=parsed,
        skipped=skipped,
        header_row=header_index + 1,
        columns=columns,
        extra_columns=[label for _, label in extra_columns],
    )
