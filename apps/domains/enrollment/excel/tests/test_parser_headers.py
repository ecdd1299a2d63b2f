"""Parsing rosters as staff write them: two-row and free-form headers, noted phones, placeholders, 예비 grades."""

import pytest
from openpyxl import Workbook

from apps.domains.enrollment.excel.parser import ParsedStudentRow, SkippedRow, parse_roster
from apps.domains.students.grades import MSG_INVALID_GRADE


def write_merged(path, rows: list[list], merges: list[str]):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    workbook.save(path)
    return path


def test_a_two_row_header_maps_the_labels_under_a_merged_parent(tmp_path):
    # Given "연락처" merged over "학생 | 학부모", and 이름 and 학교 merged down over both header rows
    path = write_merged(tmp_path / "two-rows.xlsx", [
        ["2027 겨울 특강"],
        ["이름", "연락처", None, "학교"],
        [None, "학생", "학부모", None],
        ["김철수", "010-1111-2222", "010-3333-4444", "대치중"],
    ], merges=["A2:A3", "B2:C2", "D2:D3"])

    result = parse_roster(path)

    assert (result.header_row, result.header_last_row) == (2, 3)
    assert result.columns == {"name": "이름", "phone": "연락처 학생", "parent_phone": "연락처 학부모", "school": "학교"}
    assert result.rows == [ParsedStudentRow(row=4, name="김철수", parent_phone="01033334444", phone="01011112222",
                                            school="대치중", school_type="MIDDLE")]
    assert result.skipped == []


def test_a_two_row_header_with_who_above_what(tmp_path):
    path = write_merged(tmp_path / "who-above.xlsx", [
        ["학생", None, "학부모", None],
        ["이름", "휴대폰", "이름", "휴대폰"],
        ["김철수", "01011112222", "김엄마", "01033334444"],
    ], merges=["A1:B1", "C1:D1"])

    result = parse_roster(path)

    assert (result.header_row, result.header_last_row) == (1, 2)
    assert result.columns == {"name": "학생 이름", "phone": "학생 휴대폰", "parent_phone": "학부모 휴대폰"}
    assert result.extra_columns == ["학부모 이름"]
    assert result.rows == [ParsedStudentRow(row=3, name="김철수", parent_phone="01033334444", phone="01011112222",
                                            extra={"학부모 이름": "김엄마"})]


def test_a_nameless_first_row_under_a_header_is_data_not_a_second_header(roster):
    result = parse_roster(roster([["", "학부모", "010-1111-2222"], ["김철수", "학부모", "010-3333-4444"]],
                                 header=["이름", "관계", "학부모 연락처"]))

    assert (result.header_row, result.header_last_row) == (1, 1)
    assert [row.row for row in result.rows] == [3]
    assert result.skipped == [SkippedRow(2, "MISSING_NAME", "이름이 비어 있습니다.")]


@pytest.mark.parametrize("label", [
    "학부모", "아버지 휴대폰", "모 HP", "HP(모)", "보호자 핸드폰", "Parent phone", "어머니 연락처", "부 전화",
    "엄마 H.P", "연락처(학부모)", "학부모 전화번호(필수)", "부모님 핸드폰 번호", "Guardian Mobile", "Mother Tel",
    "학부모 연락처1", "학부모번호", " 보호자\n연락처 ", "학부모 전화번호 (예: 010-1234-5678)", "학부모 연락처(숫자만)",
])
def test_parent_phone_headers_as_staff_write_them(roster, label):
    result = parse_roster(roster([["김철수", "010-1111-2222"]], header=["이름", label]))

    assert result.columns == {"name": "이름", "parent_phone": label.strip()}
    assert result.rows[0].parent_phone == "01011112222"


@pytest.mark.parametrize("label", ["학생 HP", "Mobile", "본인 휴대폰", "핸드폰", "Cell", "Tel", "휴대폰(010-0000-0000)",
                                   "학생 연락처", "Student Phone", "전화번호"])
def test_student_phone_headers_as_staff_write_them(roster, label):
    result = parse_roster(roster([["김철수", "010-1111-2222", "010-3333-4444"]],
                                 header=["이름", "학부모 연락처", label]))

    assert result.columns["phone"] == label
    assert result.rows[0].phone == "01033334444"


@pytest.mark.parametrize("label", ["번호", "학생번호", "학교 전화", "담임 연락처", "학부모 이름", "모집 구분2",
                                   "전화(집)", "비상연락처"])
def test_other_columns_are_not_taken_for_phones(roster, label):
    result = parse_roster(roster([["김철수", "010-1111-2222", "x"]], header=["이름", "학부모 연락처", label]))

    assert result.columns == {"name": "이름", "parent_phone": "학부모 연락처"}
    assert result.extra_columns == [label]


def test_an_explicit_parent_phone_header_wins_over_a_bare_parent_word(roster):
    result = parse_roster(roster([["김철수", "김엄마", "010-1111-2222"]], header=["이름", "보호자", "어머니 휴대폰"]))

    assert result.columns["parent_phone"] == "어머니 휴대폰"
    assert result.rows[0].extra == {"보호자": "김엄마"}


def test_non_phone_fields_keep_working_among_free_form_phone_headers(roster):
    result = parse_roster(roster([["김철수", "010-1111-2222", "휘문고", "2", "남", "메모"]],
                                 header=["성명", "아버지 휴대폰", "학교명", "학년(2027)", "성별", "비고"]))

    assert result.columns == {"name": "성명", "parent_phone": "아버지 휴대폰", "school": "학교명",
                              "grade": "학년(2027)", "gender": "성별", "memo": "비고"}


@pytest.mark.parametrize(("cell", "expected"), [
    ("'01012345678", "01012345678"), ("'010-1234-5678", "01012345678"), ("010-1234-5678(모)", "01012345678"),
    ("010 1234 5678 엄마", "01012345678"), ("엄마: 010-1234-5678", "01012345678"),
    ("010.1234.5678 [아버지]", "01012345678"), ("(010)1234-5678 모", "01012345678"),
])
def test_phone_cells_with_an_apostrophe_or_a_relation_note_are_valid(roster, cell, expected):
    result = parse_roster(roster([["김철수", cell, cell]], header=["이름", "학부모 연락처", "학생 연락처"]))

    assert result.skipped == []
    assert (result.rows[0].parent_phone, result.rows[0].phone) == (expected, expected)


@pytest.mark.parametrize("cell", ["010-1234-5678 / 010-9999-8888", "02-123-4567(모)", "엄마", "010-1234-567 모"])
def test_a_note_does_not_make_a_wrong_number_valid(roster, cell):
    result = parse_roster(roster([["김철수", cell]], header=["이름", "학부모 연락처"]))

    assert result.rows == []
    assert [skip.code for skip in result.skipped] == ["INVALID_PARENT_PHONE"]


@pytest.mark.parametrize("cell", ["없음", "-", "미정", "x", "X", "해당없음", "해당 없음", ".", "0", 0, "N/A", "—",
                                  "모름", "'"])
def test_placeholders_are_a_missing_parent_phone_and_a_blank_student_phone(roster, cell):
    result = parse_roster(roster([["김철수", cell, None], ["이영희", "01011112222", cell]],
                                 header=["이름", "학부모 연락처", "학생 연락처"]))

    assert result.skipped == [SkippedRow(2, "MISSING_PARENT_PHONE", "학부모 전화번호가 비어 있습니다.")]
    assert [(row.name, row.phone) for row in result.rows] == [("이영희", "")]


def test_upcoming_grades_as_winter_rosters_write_them(roster):
    result = parse_roster(roster(
        [["가", "01000000001", "예비 고2", ""], ["나", "01000000002", "예비중1", "초"],
         ["다", "01000000003", "예비 초1", ""], ["라", "01000000004", "고2", ""]],
        header=["이름", "학부모 전화번호", "학년", "학교급"],
    ))

    assert [(row.school_type, row.grade, row.grade_upcoming) for row in result.rows] == [
        ("HIGH", 2, True), ("MIDDLE", 1, True), ("ELEMENTARY", 1, True), ("HIGH", 2, False)]


@pytest.mark.parametrize(("grade", "school_type"), [("예비 고4", ""), ("예비", ""), ("고1", "중"), ("9", "초"),
                                                   ("4", "고"), ("신입", "")])
def test_unknown_or_out_of_range_grades_say_what_is_accepted(roster, grade, school_type):
    result = parse_roster(roster([["가", "01000000001", grade, school_type]],
                                 header=["이름", "학부모 전화번호", "학년", "학교급"]))

    assert result.rows == []
    assert result.skipped == [SkippedRow(2, "INVALID_GRADE", MSG_INVALID_GRADE)]
