import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.domains.messaging import planning
from apps.domains.messaging.encoding import byte_length, normalize_newlines, unsupported_characters
from apps.domains.messaging.refusals import MessagingRefusal

KST = ZoneInfo("Asia/Seoul")
PRICES = {"SMS": Decimal("20"), "LMS": Decimal("50"), "ATA": Decimal("15")}
HANGUL_AND_FRIENDS = st.text(alphabet=st.sampled_from("가나똠햏뷁ㅤ漢字 ab\t\n\r\x01\x7f😀–·\u00a0"))


@given(st.one_of(st.text(), HANGUL_AND_FRIENDS))
def test_measure_agrees_with_the_encoding_core(text):
    text = normalize_newlines(text)

    assert planning.measure(text) == (byte_length(text), unsupported_characters(text))


def plan(**fields):
    values = {"students": [planning.StudentRow(1, "김민준", "", "01011112222")], "audience": "parent",
              "mode": "sms", "purpose": "info", "body": "#{학생이름} 안내", "subject": "", "academy_name": "알파 학원",
              "opt_out_number": "0801234567", "prices": PRICES, "at": dt.datetime(2026, 11, 24, 14, tzinfo=KST),
              **fields}
    return planning.plan_send(planning.PlanInput(**values))


def test_a_plan_renders_types_and_prices_each_row():
    result = plan()

    assert [(row.phone, row.text, row.type, row.reserved_amount, row.not_before) for row in result.recipients] == [
        ("01011112222", "김민준 안내", "SMS", Decimal("20"), None)]
    assert (result.type_counts, result.estimated_cost, result.skipped, result.first_allowed) == (
        {"SMS": 1}, Decimal("20"), [], None)


def test_alimtalk_then_sms_reserves_the_dearer_of_the_two():
    result = plan(mode="alimtalk_then_sms", body="#{학생이름} " + "가" * 50)

    assert [(row.type, row.fallback_type, row.reserved_amount, row.variables) for row in result.recipients] == [
        ("ATA", "LMS", Decimal("50"), {"학생이름": "김민준"})]


def test_alimtalk_text_over_a_thousand_characters_is_too_long():
    with pytest.raises(MessagingRefusal) as caught:
        plan(mode="alimtalk", body="가" * 1001)

    assert (caught.value.code, caught.value.details) == (
        "MESSAGE_TOO_LONG", {"chars": 1001, "max_chars": 1000, "student_id": 1})


def test_a_preview_plan_keeps_unsupported_characters_and_a_send_plan_refuses_them():
    kept = plan(body="안녕 😀", strict=False)

    assert kept.recipients[0].unsupported == [(3, "😀")]
    with pytest.raises(MessagingRefusal) as caught:
        plan(body="안녕 😀")
    assert caught.value.code == "UNSUPPORTED_CHARACTERS"


def test_every_recipient_held_gives_the_first_allowed_moment():
    result = plan(at=dt.datetime(2026, 11, 24, 23, tzinfo=KST), quiet_start=dt.time(22), quiet_end=dt.time(7, 30))

    assert result.first_allowed == dt.datetime(2026, 11, 25, 7, 30, tzinfo=KST)
