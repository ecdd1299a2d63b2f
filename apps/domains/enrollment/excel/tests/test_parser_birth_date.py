"""The optional 생년월일 column: its header aliases, the accepted cell forms, and refused dates reported per row."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from apps.domains.enrollment.excel.parser import MSG_INVALID_BIRTH_DATE, SkippedRow, parse_roster

HEADER = ["이름", "학부모 전화번호", "생년월일"]


@pytest.mark.parametrize("alias", ["생년월일", "생일", "출생일", "Birth Date", "birthdate", "Date of Birth",
                                   "date_of_birth", "생년월일(YYYY-MM-DD)", " 생년 월일 "])
def test_birth_date_header_aliases(roster, alias):
    result = parse_roster(roster([["가", "01000000001", "2012-03-05"]], header=["이름", "학부모 전화번호", alias]))
    assert result.columns["birth_date"] == alias.strip()
    assert result.extra_columns == []
    assert [row.birth_date for row in result.rows] == [date(2012, 3, 5)]


@pytest.mark.parametrize("text", ["2012-03-05", "2012.03.05", "2012.3.5", "2012/03/05", "20120305",
                                  "2012년 3월 5일", "2012년3월5일", "2012. 3. 5.", "2012-3-5", "２０１２-０３-０５"])
def test_each_text_form_with_a_four_digit_year_is_read(roster, text):
    result = parse_roster(roster([["가", "01000000001", text]], header=HEADER))
    assert result.skipped == []
    assert [row.birth_date for row in result.rows] == [date(2012, 3, 5)]


def test_date_cells_and_a_number_cell_are_read(roster):
    # openpyxl writes a date or a datetime as a date-formatted number; 20120305 typed as a number stays a number.
    path = roster([["가", "01000000001", datetime(2012, 3, 5)], ["나", "01000000002", date(2011, 12, 31)],
                   ["다", "01000000003", 20100101]], header=HEADER)
    result = parse_roster(path)
    assert result.skipped == []
    assert [row.birth_date for row in result.rows] == [date(2012, 3, 5), date(2011, 12, 31), date(2010, 1, 1)]


def test_a_blank_or_placeholder_birth_date_is_no_birth_date(roster):
    path = roster([["가", "01000000001", ""], ["나", "01000000002", "-"], ["다", "01000000003", "없음"],
                   ["라", "01000000004", None]], header=HEADER)
    result = parse_roster(path)
    assert result.skipped == []
    assert [row.birth_date for row in result.rows] == [None, None, None, None]


@pytest.mark.parametrize("value", [
    "12-03-05", "03/05/2012", "05.03.2012", "2012-13-01", "2012-02-30", "2012-03", "2012-03/05", "120305",
    "2012년 3월", "생일 모름", "1899-12-31", datetime(1899, 12, 31), "2099-01-01", datetime(2099, 1, 1), 2012,
])
def test_an_unreadable_or_impossible_birth_date_skips_the_row_with_a_code(roster, value):
    # As for a wrong student phone or gender, the row is reported with its code instead of guessing.
    path = roster([["가", "01000000001", value], ["나", "01000000002", "2012-03-05"]], header=HEADER)
    result = parse_roster(path)
    assert result.skipped == [SkippedRow(2, "INVALID_BIRTH_DATE", MSG_INVALID_BIRTH_DATE)]
    assert [(row.name, row.birth_date) for row in result.rows] == [("나", date(2012, 3, 5))]


def test_repeated_cells_are_judged_the_same_on_every_row(roster):
    # The value cache must give each row the same answer, good or bad, and keep rows apart.
    path = roster([["가", "01000000001", "2012-03-05"], ["나", "01000000002", "bad"],
                   ["다", "01000000003", "2012-03-05"], ["라", "01000000004", "bad"], ["마", "01000000005", ""]],
                  header=HEADER)
    result = parse_roster(path)
    assert [(item.row, item.code) for item in result.skipped] == [(3, "INVALID_BIRTH_DATE"), (5, "INVALID_BIRTH_DATE")]
    assert [(row.name, row.birth_date) for row in result.rows] == [
        ("가", date(2012, 3, 5)), ("다", date(2012, 3, 5)), ("마", None)]


@pytest.mark.parametrize(("now", "accepted"), [
    (datetime(2026, 3, 4, 15, 0, tzinfo=UTC), True),  # 2026-03-05 00:00 in Seoul
    (datetime(2026, 3, 4, 14, 59, tzinfo=UTC), False),  # still 2026-03-04 in Seoul
])
def test_the_future_is_judged_by_the_date_in_seoul(roster, now, accepted):
    path = roster([["가", "01000000001", "2026-03-05"]], header=HEADER)
    with time_machine.travel(now, tick=False):
        result = parse_roster(path)
    assert [row.birth_date for row in result.rows] == ([date(2026, 3, 5)] if accepted else [])
    assert [item.code for item in result.skipped] == ([] if accepted else ["INVALID_BIRTH_DATE"])


def test_a_roster_without_the_column_has_no_birth_dates(roster):
    result = parse_roster(roster([["가", "01000000001"]], header=["이름", "학부모 전화번호"]))
    assert "birth_date" not in result.columns
    assert [row.birth_date for row in result.rows] == [None]
