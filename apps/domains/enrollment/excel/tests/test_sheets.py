"""Where the roster is read from: the sheet a person would look at, CSV files as Excel saves them, and formulas
nobody calculated, each said in the result instead of guessed."""

import pytest
from openpyxl import Workbook

from apps.domains.enrollment.excel.errors import ExcelFileError, ExcelFormulasNotCalculatedError
from apps.domains.enrollment.excel.parser import ParsedStudentRow, SkippedRow, parse_roster
from apps.domains.enrollment.excel.sheets import MSG_HIDDEN_SHEET

from .builders import FIXTURES, write_ods, write_xlsx

HEADER = ["이름", "학부모 전화번호"]
LAST_YEAR = [HEADER, ["작년1", "01090000001"], ["작년2", "01090000002"], ["작년3", "01090000003"]]
THIS_YEAR = [HEADER] + [[f"올해{n}", f"0108000{n:04d}"] for n in range(1, 20)]


def workbook(path, sheets: dict[str, list[list]], *, hidden=(), active: str | None = None):
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    if active is not None:
        book.active = book.sheetnames.index(active)
    book.save(path)
    return path


def names(roster) -> list[str]:
    return [row.name for row in roster.rows]


def test_a_hidden_first_sheet_of_last_year_is_passed_over_for_the_visible_active_one(tmp_path):
    path = workbook(tmp_path / "r.xlsx", {"작년": LAST_YEAR, "올해": THIS_YEAR}, hidden=("작년",), active="올해")
    result = parse_roster(path)
    assert (result.sheet_name, result.header_row, len(result.rows)) == ("올해", 1, 19)
    assert names(result)[0] == "올해1"
    assert result.warnings == []


def test_the_active_sheet_wins_over_an_earlier_visible_roster(tmp_path):
    path = workbook(tmp_path / "r.xlsx", {"1학기": LAST_YEAR, "2학기": THIS_YEAR}, active="2학기")
    assert parse_roster(path).sheet_name == "2학기"


def test_an_active_sheet_without_a_roster_falls_back_to_the_first_visible_roster(tmp_path):
    path = workbook(tmp_path / "r.xlsx", {"숨김": LAST_YEAR, "명단": THIS_YEAR, "안내": [["겨울 특강 안내"]]},
                    hidden=("숨김",), active="안내")
    assert parse_roster(path).sheet_name == "명단"


def test_a_hidden_sheet_is_read_only_when_no_visible_sheet_holds_a_roster_and_the_result_says_so(tmp_path):
    path = workbook(tmp_path / "r.xlsx", {"안내": [["겨울 특강 안내"]], "숨김": LAST_YEAR}, hidden=("숨김",))
    result = parse_roster(path)
    assert (result.sheet_name, names(result)) == ("숨김", ["작년1", "작년2", "작년3"])
    assert result.warnings == [{"code": "HIDDEN_SHEET", "message": MSG_HIDDEN_SHEET.format(sheet="숨김")}]
    assert "숨겨진 시트 '숨김'" in result.warnings[0]["message"]


def test_a_legacy_xls_is_read_from_its_visible_sheet():
    # fixtures/make_xls.py: a hidden sheet "작년" before the visible, active "올해".
    result = parse_roster(FIXTURES / "roster_hidden_first.xls")
    assert (result.sheet_name, result.header_row) == ("올해", 1)
    assert result.rows == [
        ParsedStudentRow(row=2, name="김엑셀", parent_phone="01012345678", school_type="MIDDLE", grade=2),
        ParsedStudentRow(row=3, name="이구형", parent_phone="01022223333", school_type="HIGH", grade=1),
    ]


def test_an_xls_stored_without_its_extension_is_read_by_its_content(tmp_path):
    path = tmp_path / "roster.bin"
    path.write_bytes((FIXTURES / "roster_hidden_first.xls").read_bytes())
    assert parse_roster(path).sheet_name == "올해"


def test_an_ods_is_read_from_its_active_visible_sheet(tmp_path):
    path = write_ods(tmp_path / "r.ods", {"작년": LAST_YEAR, "1반": LAST_YEAR, "올해": THIS_YEAR},
                     hidden=("작년",), active="올해")
    result = parse_roster(path)
    assert (result.sheet_name, len(result.rows), result.warnings) == ("올해", 19, [])


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("cp949", ","), ("euc-kr", ","), ("utf-8-sig", ","), ("utf-8", ";"), ("utf-16", "\t"),
], ids=["excel csv (cp949)", "euc-kr", "csv utf-8 with bom", "utf-8 semicolons", "unicode text (utf-16 tabs)"])
def test_a_csv_is_read_in_the_encoding_and_with_the_delimiter_it_was_saved_with(tmp_path, encoding, delimiter):
    lines = ["2026 겨울 특강", "", delimiter.join(["이름", "학부모 전화번호", "학년", "메모"]),
             delimiter.join(["홍길동", "010-1234-5678", "중2", '"수학, 영어"' if delimiter == "," else "수학"]),
             delimiter.join(["김철수", "01022223333"])]
    path = tmp_path / "명단.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    result = parse_roster(path)
    assert (result.sheet_name, result.header_row) == (None, 3)
    assert [(row.row, row.name, row.parent_phone, row.grade) for row in result.rows] == [
        (4, "홍길동", "01012345678", 2), (5, "김철수", "01022223333", None)]
    assert result.rows[0].memo == ("수학, 영어" if delimiter == "," else "수학")


def test_a_csv_in_no_known_encoding_is_refused(tmp_path):
    path = tmp_path / "명단.csv"
    path.write_bytes("이름,학부모 전화번호\n".encode() + b"\xff\xfe\xfd,\x80\n")
    with pytest.raises(ExcelFileError) as caught:
        parse_roster(path)
    assert caught.value.code == "EXCEL_CSV_ENCODING"


def test_phones_that_are_formulas_nobody_calculated_get_their_own_code(tmp_path):
    # openpyxl writes formulas without results; calamine reads each as "", so every row looked phone-less.
    rows = [HEADER] + [[f"학생{n}", f'="010"&"{n:08d}"'] for n in range(1, 21)]
    path = write_xlsx(tmp_path / "f.xlsx", rows)
    with pytest.raises(ExcelFormulasNotCalculatedError) as caught:
        parse_roster(path)
    assert caught.value.code == "EXCEL_FORMULAS_NOT_CALCULATED"
    assert "엑셀에서 파일을 열어 저장한 뒤" in caught.value.message
    assert caught.value.details == {"sheet": "Sheet", "rows": 20,
                                    "cells": ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11"]}


def test_rows_whose_every_cell_is_an_uncalculated_formula_are_not_taken_for_blank_rows(tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [HEADER, ['="홍"&"길동"', '="010"&"12345678"']])
    with pytest.raises(ExcelFormulasNotCalculatedError) as caught:
        parse_roster(path)
    assert caught.value.details["cells"] == ["A2"]


def test_some_uncalculated_formula_rows_among_plain_rows_are_skipped_with_the_reason(tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [HEADER, ["가", "01000000001"], ["나", "=B2"], ["=A2", "=B2"],
                                            ["", "01000000004"]])
    result = parse_roster(path)
    assert names(result) == ["가"]
    message = result.skipped[0].message
    assert result.skipped == [
        SkippedRow(3, "FORMULA_NOT_CALCULATED", message),
        SkippedRow(5, "MISSING_NAME", "이름이 비어 있습니다."),
        SkippedRow(4, "FORMULA_NOT_CALCULATED", message),
    ]
    assert "엑셀에서 파일을 열어 저장한 뒤" in message


def test_a_calculated_formula_is_not_reported(tmp_path):
    from .builders import inject_cached_values

    path = write_xlsx(tmp_path / "f.xlsx", [HEADER, ["가", '="010"&"00000001"'], ["", "01000000002"]])
    cached = inject_cached_values(path, {"B2": "01000000001"})
    result = parse_roster(cached)
    assert names(result) == ["가"]
    assert result.skipped == [SkippedRow(3, "MISSING_NAME", "이름이 비어 있습니다.")]


class PanicException(BaseException):
    """Stands in for pyo3's PanicException (a Rust panic in calamine), which is no Exception subclass."""


def test_a_panic_of_the_reader_on_a_malformed_workbook_is_reported_as_corrupt(tmp_path, monkeypatch):
    from apps.domains.enrollment.excel import sheets

    def panic(*args, **kwargs):
        raise PanicException("range start index 1311797 out of range for slice of length 4096")

    monkeypatch.setattr(sheets.CalamineWorkbook, "from_path", panic)
    with pytest.raises(ExcelFileError) as caught:
        parse_roster(FIXTURES / "roster_hidden_first.xls")
    assert caught.value.code == "EXCEL_CORRUPT"
