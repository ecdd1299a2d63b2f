"""Parsing real-looking rosters: header anywhere in the first rows, aliases, normalised values, explained skips."""

import datetime

import pytest

from apps.domains.enrollment.excel.errors import ExcelFileError, ExcelHeaderError, ExcelNoRowsError
from apps.domains.enrollment.excel.parser import ParsedStudentRow, SkippedRow, parse_roster

from .builders import inject_cached_values, write_million_empty_styled_rows, write_xlsx


def test_header_in_row_three_under_a_merged_title(roster):
    path = roster([["김철수", "010-1111-2222", "", "대치중학교", "중2", "남", "수학 집중"],
                   ["이영희", "01033334444", "010-5555-6666", "", "고1", "여", ""]],
                  title="2026 겨울방학 특강 명단")
    result = parse_roster(path)
    assert result.header_row == 3
    assert result.sheet_name == "Sheet"
    assert result.columns == {"name": "이름", "parent_phone": "학부모 전화번호", "phone": "학생 전화번호",
                              "school": "학교", "grade": "학년", "gender": "성별", "memo": "메모"}
    assert result.rows == [
        ParsedStudentRow(row=4, name="김철수", parent_phone="01011112222", phone="", school="대치중학교",
                         school_type="MIDDLE", grade=2, gender="M", memo="수학 집중", extra={}),
        ParsedStudentRow(row=5, name="이영희", parent_phone="01033334444", phone="01055556666", school="",
                         school_type="HIGH", grade=1, gender="F", memo="", extra={}),
    ]
    assert result.skipped == []


def test_english_headers_with_odd_spacing_and_case(roster):
    path = roster([["Kim", "010-1111-2222", "male", "3"]], header=[" NAME ", "Parent_Phone", "Gender", "grade"])
    result = parse_roster(path)
    assert result.columns == {"name": "NAME", "parent_phone": "Parent_Phone", "gender": "Gender", "grade": "grade"}
    assert result.rows == [ParsedStudentRow(row=2, name="Kim", parent_phone="01011112222", gender="M", grade=3)]


@pytest.mark.parametrize("alias", ["성명", "학생명", "학생 이름", "학생이름"])
def test_name_aliases(roster, alias):
    result = parse_roster(roster([["박민수", "01011112222"]], header=[alias, "보호자 연락처"]))
    assert [(row.name, row.parent_phone) for row in result.rows] == [("박민수", "01011112222")]


def test_phones_in_every_shape_excel_and_people_produce(roster):
    phones = [1012345671, 1012345672.0, "+82 10-1234-5673", "010 1234 5674", "010.1234.5675",
              "０１０－１２３４－５６７６", "(010)1234-5677", "82-10-1234-5678"]
    path = roster([[f"학생{i}", phone] for i, phone in enumerate(phones)], header=["이름", "학부모 연락처"])
    result = parse_roster(path)
    assert result.skipped == []
    assert [row.parent_phone for row in result.rows] == [f"0101234567{i}" for i in range(1, 9)]


def test_student_phone_placeholders_mean_no_phone(roster):
    path = roster([["가", "01011112222", "-"], ["나", "01011112223", "없음"], ["다", "01011112224", 1099998888]],
                  header=["이름", "학부모 전화번호", "휴대폰"])
    assert [row.phone for row in parse_roster(path).rows] == ["", "", "01099998888"]


def test_grades_school_types_and_genders(roster):
    path = roster(
        [["가", "01000000001", "중2", "", "남"], ["나", "01000000002", "고1", "", "여자"],
         ["다", "01000000003", "초6", "", "F"], ["라", "01000000004", "2학년", "고", "M"],
         ["마", "01000000005", 3, "중등", ""], ["바", "01000000006", "", "", ""]],
        header=["이름", "학부모 전화번호", "학년", "학교급", "성별"],
    )
    rows = parse_roster(path).rows
    assert [(row.school_type, row.grade, row.gender) for row in rows] == [
        ("MIDDLE", 2, "M"), ("HIGH", 1, "F"), ("ELEMENTARY", 6, "F"), ("HIGH", 2, "M"), ("MIDDLE", 3, ""),
        ("", None, ""),
    ]


def test_school_type_is_inferred_from_the_school_name(roster):
    path = roster([["가", "01000000001", "대치초등학교", 4], ["나", "01000000002", "휘문고", 2]],
                  header=["이름", "학부모 전화번호", "학교명", "학년"])
    assert [(row.school, row.school_type, row.grade) for row in parse_roster(path).rows] == [
        ("대치초등학교", "ELEMENTARY", 4), ("휘문고", "HIGH", 2)]


def test_unusable_rows_are_reported_with_the_row_number_excel_shows(roster):
    path = roster([
        ["", "01011112222", "", "", "", "", ""],
        ["김", "", "", "", "", "", ""],
        ["이", "02-123-4567", "", "", "", "", ""],
        ["박", "01011112222", "12345", "", "", "", ""],
        ["최", "01011112223", "", "", "중5", "", ""],
        ["정", "01011112224", "", "", "", "모름", ""],
        ["강", "01011112225", "", "", "", "", ""],
        ["강", "010-1111-2225", "", "", "", "", "중복"],
        ["가" * 51, "01011112226", "", "", "", "", ""],
    ], title="명단")
    result = parse_roster(path)
    assert [row.row for row in result.rows] == [10]
    assert result.skipped == [
        SkippedRow(4, "MISSING_NAME", "이름이 비어 있습니다."),
        SkippedRow(5, "MISSING_PARENT_PHONE", "학부모 전화번호가 비어 있습니다."),
        SkippedRow(6, "INVALID_PARENT_PHONE",
                   "학부모 전화번호가 올바르지 않습니다. 010으로 시작하는 11자리 번호를 입력해 주세요."),
        SkippedRow(7, "INVALID_STUDENT_PHONE",
                   "학생 전화번호가 올바르지 않습니다. 010으로 시작하는 11자리 번호를 입력하거나 비워 두세요."),
        SkippedRow(8, "INVALID_GRADE", "학년이 올바르지 않습니다. 초등은 1~6학년, 중등·고등은 1~3학년이며 "
                                       "'3', '2학년', '중2', '고1', '예비 고2'처럼 입력해 주세요."),
        SkippedRow(9, "INVALID_GENDER", "성별을 알 수 없습니다. '남' 또는 '여'로 입력해 주세요."),
        SkippedRow(11, "DUPLICATE_IN_FILE", "10행과 중복됩니다."),
        SkippedRow(12, "NAME_TOO_LONG", "이름이 너무 깁니다. 50자 이하로 입력해 주세요."),
    ]


def test_fully_empty_rows_are_ignored_and_numbering_is_kept(roster):
    path = roster([["가", "01000000001"], [None, None], ["  ", " \t"], ["나", "01000000002"]],
                  header=["이름", "학부모 전화번호"])
    result = parse_roster(path)
    assert [(row.row, row.name) for row in result.rows] == [(2, "가"), (5, "나")]
    assert result.skipped == []


def test_unknown_columns_are_kept_as_extra(roster):
    path = roster([["가", "01000000001", "A반", datetime.date(2012, 3, 4), 95, ""]],
                  header=["이름", "학부모 전화번호", "반", "입학일", "점수", "빈 열"])
    result = parse_roster(path)
    assert result.extra_columns == ["반", "입학일", "점수", "빈 열"]
    assert result.rows[0].extra == {"반": "A반", "입학일": "2012-03-04", "점수": 95}


def test_nfkc_and_trimming_of_names(roster):
    path = roster([["  ｈｏｎｇ　길동 ", "01000000001"]], header=["이름", "학부모 전화번호"])
    assert parse_roster(path).rows[0].name == "hong 길동"


def test_an_empty_workbook_has_no_rows(roster):
    with pytest.raises(ExcelNoRowsError) as caught:
        parse_roster(roster([], header=None))
    assert (caught.value.code, caught.value.message) == ("EXCEL_NO_ROWS", "등록할 학생 데이터가 없습니다.")


def test_headers_only_parse_to_no_rows(roster):
    result = parse_roster(roster([]))
    assert (result.header_row, result.rows, result.skipped) == (1, [], [])


def test_a_sheet_without_a_recognisable_header_is_refused(roster):
    with pytest.raises(ExcelHeaderError) as caught:
        parse_roster(roster([["가", "나"]], header=["번호", "내용"]))
    assert caught.value.code == "EXCEL_HEADER_NOT_FOUND"


def test_a_roster_without_a_parent_phone_column_is_refused(roster):
    with pytest.raises(ExcelHeaderError) as caught:
        parse_roster(roster([["가", "01012345678"]], header=["이름", "학생 전화번호"]))
    assert caught.value.code == "EXCEL_MISSING_COLUMN"
    assert caught.value.message == (
        "'학부모 전화번호' 열을 찾을 수 없습니다. 머리글에 '학부모 전화번호' 열을 추가해 주세요.")


@pytest.mark.parametrize("cover", [[["이 파일은 겨울 특강 명단입니다."], ["담당: 김선생"]], []],
                         ids=["cover page", "empty first sheet"])
def test_the_roster_is_found_on_a_second_sheet(roster, cover):
    path = roster([["가", "01000000001"]], header=["이름", "학부모 전화번호"], first_sheet_rows=cover)
    result = parse_roster(path)
    assert (result.sheet_name, [row.name for row in result.rows]) == ("명단", ["가"])


def test_the_first_roster_sheet_wins_over_a_second_one(roster):
    path = roster([["가", "01000000001"]], header=["이름", "학부모 전화번호"],
                  extra_sheets={"지난 학기": [["이름", "학부모 전화번호"], ["나", "01000000002"]]})
    assert [row.name for row in parse_roster(path).rows] == ["가"]


def test_formulas_are_read_as_their_cached_values(tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", [["이름", "학부모 전화번호", "학년"],
                                            ['="홍"&"길동"', "01012345678", "=1+1"]])
    cached = inject_cached_values(path, {"A2": "홍길동", "C2": 2})
    assert parse_roster(cached).rows == [ParsedStudentRow(row=2, name="홍길동", parent_phone="01012345678", grade=2)]


def test_the_template_example_row_is_never_imported(tmp_path):
    from apps.domains.enrollment.excel.template import build_enrollment_template

    path = tmp_path / "template.xlsx"
    path.write_bytes(build_enrollment_template())
    result = parse_roster(path)
    assert result.rows == []
    assert result.skipped == [SkippedRow(2, "EXAMPLE_ROW", "양식의 예시 행이라 건너뛰었습니다.")]


def test_a_million_empty_styled_rows_parse_to_the_real_rows_only(tmp_path):
    path = write_million_empty_styled_rows(
        tmp_path / "styled.xlsx", [["이름", "학부모 전화번호"], ["가", "01000000001"], ["나", "01000000002"]]
    )
    result = parse_roster(path)
    assert [(row.row, row.name) for row in result.rows] == [(2, "가"), (3, "나")]
    assert result.skipped == []


def test_a_file_the_reader_cannot_open_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ExcelFileError) as caught:
        parse_roster(path)
    assert caught.value.code == "EXCEL_CORRUPT"


@pytest.mark.parametrize("alias", ["학부모 전화번호", "학부모 연락처", "보호자 연락처", "부모님 전화", "학부모번호",
                                   "학부모 휴대폰", "Parent Phone", "parentphone", "보호자 휴대폰"])
def test_parent_phone_aliases(roster, alias):
    result = parse_roster(roster([["박민수", "010-1111-2222", "010-3333-4444"]],
                                 header=["이름", alias, "학생 연락처"]))
    assert [(row.parent_phone, row.phone) for row in result.rows] == [("01011112222", "01033334444")]


@pytest.mark.parametrize("alias", ["학생 전화번호", "학생 연락처", "휴대폰", "연락처", "전화번호", "phone"])
def test_student_phone_aliases(roster, alias):
    result = parse_roster(roster([["박민수", "010-1111-2222", "010-3333-4444"]],
                                 header=["이름", "학부모 전화번호", alias]))
    assert result.columns["phone"] == alias
    assert result.rows[0].phone == "01033334444"
