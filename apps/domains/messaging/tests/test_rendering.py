import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.domains.messaging.rendering import MissingVariables, format_value, render, template_variables

ABSENCE = "[#{학원명}] #{학생이름} 학생이 #{날짜} #{강의명} 수업에 결석했습니다."


def test_template_variables_lists_each_name_once_in_order_of_first_appearance():
    body = "#{학생이름} #{점수}점, #{학생이름} #{학생 이름} #{} #{a{b}} # {x} #{줄\n바꿈} #{학원명}"

    assert template_variables(body) == ["학생이름", "점수", "학생 이름", "학원명"]


def test_template_variables_of_a_body_without_any():
    assert template_variables("내일 휴강합니다.") == []


def test_render_fills_every_variable():
    values = {"학원명": "가나학원", "학생이름": "홍길동", "날짜": dt.date(2026, 11, 28), "강의명": "수학 A반"}

    assert render(ABSENCE, values) == "[가나학원] 홍길동 학생이 11월 28일(토) 수학 A반 수업에 결석했습니다."


def test_render_names_every_missing_or_blank_variable_in_template_order():
    # Given a name absent, one None, one empty and one blank
    values = {"학원명": "  ", "학생이름": None, "강의명": ""}

    with pytest.raises(MissingVariables) as caught:
        render(ABSENCE, values)

    assert caught.value.names == ["학원명", "학생이름", "날짜", "강의명"]
    assert caught.value.code == "TEMPLATE_VARIABLES_MISSING"
    assert caught.value.status_code == 400
    assert caught.value.details == {"missing": ["학원명", "학생이름", "날짜", "강의명"]}
    assert caught.value.message == "템플릿 변수의 값이 없습니다: #{학원명}, #{학생이름}, #{날짜}, #{강의명}"


def test_zero_is_a_value_not_a_missing_one():
    assert render("#{학생이름} #{점수}점", {"학생이름": "홍길동", "점수": 0}) == "홍길동 0점"


def test_a_value_containing_a_variable_stays_literal():
    values = {"학생이름": "#{점수}", "점수": 100}

    assert render("#{학생이름}: #{점수}점", values) == "#{점수}: 100점"


def test_values_the_body_does_not_use_are_ignored():
    assert render("안녕하세요 #{학생이름}", {"학생이름": "홍길동", "점수": None, "기타": "x"}) == "안녕하세요 홍길동"


def test_render_normalises_line_breaks_of_body_and_values():
    assert render("#{학생이름}\r\n점수\r#{점수}", {"학생이름": "홍\r\n길동", "점수": 90}) == "홍\n길동\n점수\n90"


@pytest.mark.parametrize(("value", "text"), [
    (95, "95"), (-3, "-3"), (95.0, "95"), (95.5, "95.5"), (0.1 + 0.2, "0.30000000000000004"), (1e-7, "0.0000001"),
    (1e20, "100000000000000000000"), (Decimal("95.50"), "95.5"), (Decimal("100.00"), "100"), (Decimal("1E+3"), "1000"),
    (Decimal("0.000001"), "0.000001"), ("홍길동", "홍길동"), (None, ""),
    (dt.date(2026, 11, 30), "11월 30일(월)"), (dt.date(2027, 1, 3), "1월 3일(일)"),
])
def test_values_are_written_plainly(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize(("value", "error"), [
    (True, TypeError), (float("nan"), ValueError), (float("inf"), ValueError), (Decimal("NaN"), ValueError),
    (dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC), TypeError), ([1], TypeError),
])
def test_values_without_a_plain_text_are_a_programming_error(value, error):
    with pytest.raises(error):
        format_value(value)


names = st.text(alphabet=st.sampled_from("학생이름점수강의명날짜abc _"), min_size=1, max_size=6).filter(str.strip)
# Literal text has braces but no "#", so only the drawn variables are variables; values may spell one.
literals = st.text(alphabet=st.sampled_from("가나다 abc{}.\n"), max_size=8)
values = st.text(alphabet=st.sampled_from("홍길동 #{}x0"), max_size=8).filter(str.strip)


@given(st.lists(st.tuples(literals, names), max_size=6), literals, st.data())
def test_render_is_one_pass_over_the_template(pieces, tail, data):
    body = "".join(f"{literal}#{{{name}}}" for literal, name in pieces) + tail
    filled = {name: data.draw(values) for _, name in pieces}

    rendered = render(body, filled)

    assert template_variables(body) == list(dict.fromkeys(name for _, name in pieces))
    assert rendered == "".join(f"{literal}{filled[name]}" for literal, name in pieces) + tail
