"""The one grade rule: notations, ranges per school type, 예비 and the school year."""

from datetime import date

import pytest

from apps.domains.students.grades import (
    MAX_GRADE,
    Grade,
    InvalidGradeError,
    grade_label,
    parse_grade,
    resolve_grade,
    school_year_start,
)
from apps.domains.students.models import SchoolType


def test_the_rule_covers_every_school_type():
    assert set(MAX_GRADE) == {*SchoolType.values, ""}


@pytest.mark.parametrize(("value", "expected"), [
    (3, Grade("", 3)), (2.0, Grade("", 2)), ("3", Grade("", 3)), ("2학년", Grade("", 2)),
    ("중2", Grade("MIDDLE", 2)), ("고 1", Grade("HIGH", 1)), ("초등학교 6학년", Grade("ELEMENTARY", 6)),
    ("중등1", Grade("MIDDLE", 1)), ("고２", Grade("HIGH", 2)),
    ("예비 고2", Grade("HIGH", 2, upcoming=True)), ("예비중1", Grade("MIDDLE", 1, upcoming=True)),
    ("예비 초1", Grade("ELEMENTARY", 1, upcoming=True)), ("예비 2학년", Grade("", 2, upcoming=True)),
    ("", Grade()), ("  ", Grade()), (None, Grade()),
])
def test_notations_staff_write(value, expected):
    assert parse_grade(value) == expected


@pytest.mark.parametrize("value", ["고이", "예비", "중2반", "2.5", 2.5, True, "1" * 21, "대학 1", [2]])
def test_unknown_notations_are_invalid_grade_with_what_is_accepted(value):
    with pytest.raises(InvalidGradeError) as caught:
        parse_grade(value)
    assert (caught.value.code, caught.value.status_code, caught.value.details) == ("INVALID_GRADE", 400,
                                                                                  {"field": "grade"})
    assert caught.value.message == ("학년이 올바르지 않습니다. 초등은 1~6학년, 중등·고등은 1~3학년이며 "
                                    "'3', '2학년', '중2', '고1', '예비 고2'처럼 입력해 주세요.")


@pytest.mark.parametrize(("school_type", "grade"), [
    ("ELEMENTARY", 7), ("ELEMENTARY", 9), ("MIDDLE", 4), ("MIDDLE", 7), ("HIGH", 4), ("", 7), ("HIGH", 0),
])
def test_grades_beyond_the_school_type_are_refused(school_type, grade):
    with pytest.raises(InvalidGradeError):
        resolve_grade(Grade(grade=grade), school_type=school_type)


@pytest.mark.parametrize(("school_type", "grade"), [("ELEMENTARY", 6), ("MIDDLE", 3), ("HIGH", 1), ("", 6)])
def test_grades_within_the_school_type_are_kept(school_type, grade):
    assert resolve_grade(Grade(grade=grade), school_type=school_type) == Grade(school_type, grade)


def test_a_stated_school_type_must_agree_with_the_notation():
    with pytest.raises(InvalidGradeError):
        resolve_grade(parse_grade("고1"), school_type="MIDDLE")


def test_an_upcoming_grade_names_the_school_about_to_be_entered():
    assert resolve_grade(parse_grade("예비 중1"), school_type="ELEMENTARY") == Grade("MIDDLE", 1, upcoming=True)


def test_a_school_type_inferred_from_a_name_only_fills_a_gap():
    assert resolve_grade(parse_grade("중2"), inferred_school_type="HIGH") == Grade("MIDDLE", 2)
    assert resolve_grade(parse_grade("2"), inferred_school_type="HIGH") == Grade("HIGH", 2)


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 12, 15), date(2027, 3, 1)), (date(2027, 2, 28), date(2027, 3, 1)),
    (date(2027, 3, 1), date(2027, 3, 1)), (date(2027, 3, 2), date(2028, 3, 1)),
])
def test_the_school_year_starts_on_the_coming_first_of_march(today, expected):
    assert school_year_start(today) == expected


@pytest.mark.parametrize(("today", "expected"), [(date(2027, 2, 28), "예비 고2"), (date(2027, 3, 1), "고2")])
def test_the_label_shows_예비_until_the_grade_starts(today, expected):
    assert grade_label(school_type="HIGH", grade=2, starts_on=date(2027, 3, 1), today=today) == expected


def test_labels_without_an_upcoming_grade():
    assert [grade_label(school_type=school_type, grade=grade, starts_on=None, today=date(2027, 1, 1))
            for school_type, grade in (("ELEMENTARY", 6), ("MIDDLE", 1), ("", 3), ("HIGH", None))] == [
        "초6", "중1", "3학년", ""]
