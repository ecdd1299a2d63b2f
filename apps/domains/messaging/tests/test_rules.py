import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from apps.domains.messaging.encoding import EmptyMessage
from apps.domains.messaging.rules import (
    KST,
    AdOnAlimtalk,
    AdSenderNameRequired,
    InvalidMode,
    InvalidPurpose,
    NoSendingWindow,
    OptOutNumberRequired,
    PriceMissing,
    Recipient,
    ad_night,
    ad_text,
    check_mode,
    consent_valid,
    dedupe_recipients,
    estimate_cost,
    format_opt_out_number,
    in_quiet_hours,
    next_ad_time,
    next_allowed_time,
    reservation_cost,
    reservation_counts,
    reserved_type,
)


def kst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=KST)


# ---------------------------------------------------------------------------------------------------- ad layout

def test_an_ad_starts_with_the_mark_and_the_academy_and_ends_with_the_free_opt_out_line():
    text = ad_text("겨울방학 특강 모집\r\n선착순 20명", "가나 수학학원", "0801234567")

    assert text == "(광고)가나 수학학원\n겨울방학 특강 모집\n선착순 20명\n무료수신거부 080-123-4567"


def test_ad_text_is_idempotent():
    once = ad_text("겨울방학 특강 모집", "가나학원", "080-1234-5678")

    assert ad_text(once, "가나학원", "080-1234-5678") == once
    assert once == "(광고)가나학원\n겨울방학 특강 모집\n무료수신거부 080-1234-5678"


def test_a_mark_typed_by_the_author_is_not_doubled():
    assert ad_text("(광고) 겨울방학 특강", "가나학원", "0801234567") == (
        "(광고)가나학원\n겨울방학 특강\n무료수신거부 080-123-4567")


def test_other_wording_of_the_author_is_kept_as_written():
    text = ad_text("[광고] 특강\n무료거부 0801112222", "가나학원", "0801234567")

    assert text == "(광고)가나학원\n[광고] 특강\n무료거부 0801112222\n무료수신거부 080-123-4567"


@given(st.text(alphabet=st.sampled_from("가나 a(광고)\r\n무료수신거부080-1234567"), max_size=40),
       st.sampled_from(["가나학원", "(광고)", " 학원 "]), st.sampled_from(["0801234567", "080-1234-5678"]))
def test_ad_text_applied_twice_equals_once(body, name, number):
    try:
        once = ad_text(body, name, number)
    except EmptyMessage:
        reject()

    assert ad_text(once, name, number) == once
    assert once.startswith(f"(광고){name.strip()}\n")
    assert once.endswith(f"\n무료수신거부 {format_opt_out_number(number)}")


@pytest.mark.parametrize(("value", "formatted"), [
    ("0801234567", "080-123-4567"), ("080-123-4567", "080-123-4567"), (" 080 1234 5678 ", "080-1234-5678"),
    ("08012345678", "080-1234-5678"),
])
def test_opt_out_numbers_are_080_numbers_written_with_hyphens(value, formatted):
    assert format_opt_out_number(value) == formatted


@pytest.mark.parametrize("value", [
    None, "", "  ", "02-123-4567", "010-1234-5678", "080-12-345", "080123456789", "080-abc-defg",
    "０８０１２３４５６７", "+82 80 123 4567", "080.123.4567",
])
def test_an_ad_without_a_valid_080_number_is_refused(value):
    with pytest.raises(OptOutNumberRequired) as caught:
        ad_text("특강 안내", "가나학원", value)

    assert caught.value.code == "OPT_OUT_NUMBER_REQUIRED"
    assert caught.value.status_code == 400


def test_an_ad_without_the_academy_name_is_refused():
    with pytest.raises(AdSenderNameRequired):
        ad_text("특강 안내", " \n ", "0801234567")


@pytest.mark.parametrize("body", ["", " \r\n ", "(광고)", "(광고)가나학원\n무료수신거부 080-123-4567"])
def test_an_ad_with_nothing_to_say_is_refused(body):
    with pytest.raises(EmptyMessage):
        ad_text(body, "가나학원", "0801234567")


# ---------------------------------------------------------------------------------------------------- hours

@pytest.mark.parametrize(("moment", "night"), [
    (kst(2026, 11, 28, 20, 59, 59, 999999), False),
    (kst(2026, 11, 28, 21, 0), True),
    (kst(2026, 11, 28, 23, 59, 59), True),
    (kst(2026, 11, 29, 0, 0), True),
    (kst(2026, 11, 29, 7, 59, 59, 999999), True),
    (kst(2026, 11, 29, 8, 0), False),
    (kst(2026, 11, 29, 12, 0), False),
    # The same instants given in UTC: 12:00 UTC is 21:00 KST, 23:00 UTC is 08:00 KST.
    (dt.datetime(2026, 11, 28, 11, 59, 59, tzinfo=dt.UTC), False),
    (dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC), True),
    (dt.datetime(2026, 11, 28, 22, 59, 59, tzinfo=dt.UTC), True),
    (dt.datetime(2026, 11, 28, 23, 0, tzinfo=dt.UTC), False),
])
def test_the_ad_night_is_21_to_08_korean_time(moment, night):
    assert ad_night(moment) is night


@pytest.mark.parametrize("function", [ad_night, next_ad_time, lambda now: in_quiet_hours(now, dt.time(1), dt.time(2))])
def test_a_naive_time_is_refused(function):
    with pytest.raises(ValueError, match="timezone-aware"):
        function(dt.datetime(2026, 11, 28, 12, 0))


@pytest.mark.parametrize(("moment", "expected"), [
    (kst(2026, 11, 28, 21, 0), kst(2026, 11, 29, 8, 0)),
    (kst(2026, 12, 31, 23, 30), kst(2027, 1, 1, 8, 0)),
    (kst(2026, 11, 29, 2, 0), kst(2026, 11, 29, 8, 0)),
    (kst(2026, 11, 29, 7, 59, 59, 999999), kst(2026, 11, 29, 8, 0)),
    (kst(2026, 11, 29, 8, 0), kst(2026, 11, 29, 8, 0)),
    (kst(2026, 11, 29, 15, 17, 3), kst(2026, 11, 29, 15, 17, 3)),
    (dt.datetime(2026, 11, 28, 13, 0, tzinfo=dt.UTC), kst(2026, 11, 29, 8, 0)),
])
def test_next_ad_time_is_the_coming_8_oclock_during_the_night_and_now_otherwise(moment, expected):
    result = next_ad_time(moment)

    assert result == expected
    assert result.tzinfo == KST


@pytest.mark.parametrize(("moment", "quiet"), [
    (kst(2026, 11, 28, 21, 59, 59), False),
    (kst(2026, 11, 28, 22, 0), True),
    (kst(2026, 11, 29, 3, 0), True),
    (kst(2026, 11, 29, 6, 59, 59), True),
    (kst(2026, 11, 29, 7, 0), False),
])
def test_quiet_hours_wrap_midnight(moment, quiet):
    assert in_quiet_hours(moment, dt.time(22), dt.time(7)) is quiet


@pytest.mark.parametrize(("moment", "quiet"), [
    (kst(2026, 11, 28, 12, 59), False), (kst(2026, 11, 28, 13, 0), True), (kst(2026, 11, 28, 13, 59), True),
    (kst(2026, 11, 28, 14, 0), False),
])
def test_quiet_hours_within_a_day(moment, quiet):
    assert in_quiet_hours(moment, dt.time(13), dt.time(14)) is quiet


@pytest.mark.parametrize(("start", "end"), [(None, None), (dt.time(22), None), (None, dt.time(7)),
                                            (dt.time(9), dt.time(9))])
def test_unset_or_empty_quiet_hours_hold_nothing(start, end):
    assert in_quiet_hours(kst(2026, 11, 28, 9, 0), start, end) is False


@pytest.mark.parametrize(("now", "options", "expected"), [
    # Information outside quiet hours goes now, at any hour.
    (kst(2026, 11, 28, 23, 0), {"purpose": "info"}, kst(2026, 11, 28, 23, 0)),
    # Information in quiet hours waits for their end.
    (kst(2026, 11, 28, 23, 0), {"purpose": "info", "quiet_start": dt.time(22), "quiet_end": dt.time(7)},
     kst(2026, 11, 29, 7, 0)),
    (kst(2026, 11, 29, 1, 0), {"purpose": "info", "quiet_start": dt.time(22), "quiet_end": dt.time(7)},
     kst(2026, 11, 29, 7, 0)),
    # An ad at night without night consent waits for 08:00; with it, it goes now.
    (kst(2026, 11, 28, 22, 0), {"purpose": "ad"}, kst(2026, 11, 29, 8, 0)),
    (kst(2026, 11, 28, 22, 0), {"purpose": "ad", "night_consent": True}, kst(2026, 11, 28, 22, 0)),
    (kst(2026, 11, 28, 10, 0), {"purpose": "ad"}, kst(2026, 11, 28, 10, 0)),
    # Quiet hours hold ads too, after the night.
    (kst(2026, 11, 28, 22, 0), {"purpose": "ad", "quiet_start": dt.time(7), "quiet_end": dt.time(9)},
     kst(2026, 11, 29, 9, 0)),
    (kst(2026, 11, 28, 20, 30), {"purpose": "ad", "quiet_start": dt.time(20), "quiet_end": dt.time(8, 30)},
     kst(2026, 11, 29, 8, 30)),
    (kst(2026, 11, 28, 22, 0), {"purpose": "ad", "night_consent": True, "quiet_start": dt.time(20),
                                "quiet_end": dt.time(23)}, kst(2026, 11, 28, 23, 0)),
    # Quiet hours covering the day leave a night-consented ad the night.
    (kst(2026, 11, 28, 10, 0), {"purpose": "ad", "night_consent": True, "quiet_start": dt.time(8),
                                "quiet_end": dt.time(21)}, kst(2026, 11, 28, 21, 0)),
    (dt.datetime(2026, 11, 28, 14, 0, tzinfo=dt.UTC), {"purpose": "ad"}, kst(2026, 11, 29, 8, 0)),
])
def test_next_allowed_time_holds_a_message_until_it_may_go(now, options, expected):
    assert next_allowed_time(now, **options) == expected


def test_quiet_hours_covering_all_the_time_an_ad_may_go_leave_no_window():
    with pytest.raises(NoSendingWindow) as caught:
        next_allowed_time(kst(2026, 11, 28, 10, 0), purpose="ad", quiet_start=dt.time(8), quiet_end=dt.time(21))

    assert caught.value.code == "NO_SENDING_WINDOW"


def test_next_allowed_time_refuses_an_unknown_purpose():
    with pytest.raises(InvalidPurpose):
        next_allowed_time(kst(2026, 11, 28, 10, 0), purpose="promo")


minute_times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))


@given(st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
           lambda moment: moment.replace(second=0, microsecond=0, tzinfo=KST)),
       st.sampled_from(["info", "ad"]), st.booleans(), st.none() | st.tuples(minute_times, minute_times))
def test_next_allowed_time_is_the_first_allowed_minute(now, purpose, night_consent, quiet):
    # Given times on whole minutes, so stepping minute by minute sees every boundary
    quiet_start, quiet_end = quiet or (None, None)

    def allowed(moment):
        held_as_ad = purpose == "ad" and not night_consent and ad_night(moment)
        return not held_as_ad and not in_quiet_hours(moment, quiet_start, quiet_end)

    try:
        result = next_allowed_time(now, purpose=purpose, night_consent=night_consent, quiet_start=quiet_start,
                                   quiet_end=quiet_end)
    except NoSendingWindow:
        assert not any(allowed(now + dt.timedelta(minutes=step)) for step in range(24 * 60))
        return

    assert allowed(result)
    minutes = int((result - now).total_seconds() // 60)
    assert 0 <= minutes < 24 * 60
    assert not any(allowed(now + dt.timedelta(minutes=step)) for step in range(minutes))


# ---------------------------------------------------------------------------------------------------- consent

@pytest.mark.parametrize(("granted_at", "reconfirmed_at", "now", "valid"), [
    (kst(2024, 3, 10, 10, 0), None, kst(2026, 3, 10, 23, 59, 59), True),
    (kst(2024, 3, 10, 10, 0), None, kst(2026, 3, 11, 0, 0), False),
    (kst(2024, 3, 10, 10, 0), None, kst(2024, 3, 10, 10, 0), True),
    # Leap day: a consent of 29 February lasts through 28 February two years on.
    (kst(2024, 2, 29, 9, 0), None, kst(2026, 2, 28, 23, 59, 59), True),
    (kst(2024, 2, 29, 9, 0), None, kst(2026, 3, 1, 0, 0), False),
    (kst(2024, 2, 28, 9, 0), None, kst(2026, 2, 28, 23, 59, 59), True),
    (kst(2024, 2, 28, 9, 0), None, kst(2026, 3, 1, 0, 0), False),
    (kst(2026, 2, 28, 9, 0), None, kst(2028, 2, 28, 23, 59), True),
    (kst(2026, 2, 28, 9, 0), None, kst(2028, 2, 29, 0, 0), False),
    # A reconfirmation restarts the two years, also on a leap day.
    (kst(2022, 1, 5, 9, 0), kst(2023, 12, 20, 9, 0), kst(2025, 12, 20, 23, 59), True),
    (kst(2022, 1, 5, 9, 0), kst(2023, 12, 20, 9, 0), kst(2025, 12, 21, 0, 0), False),
    (kst(2026, 1, 5, 9, 0), kst(2028, 2, 29, 9, 0), kst(2030, 2, 28, 12, 0), True),
    (kst(2026, 1, 5, 9, 0), kst(2028, 2, 29, 9, 0), kst(2030, 3, 1, 0, 0), False),
    # The day is the Korean day: 15:30 UTC on 9 March is 00:30 KST on 10 March.
    (dt.datetime(2024, 3, 9, 15, 30, tzinfo=dt.UTC), None, dt.datetime(2026, 3, 10, 14, 59, tzinfo=dt.UTC), True),
    (dt.datetime(2024, 3, 9, 15, 30, tzinfo=dt.UTC), None, dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC), False),
    # No grant, a grant recorded after now, a reconfirmation recorded after now or before the grant.
    (None, kst(2026, 1, 1, 9, 0), kst(2026, 2, 1, 9, 0), False),
    (kst(2026, 3, 1, 9, 0), None, kst(2026, 2, 1, 9, 0), False),
    (kst(2022, 1, 5, 9, 0), kst(2026, 3, 1, 9, 0), kst(2026, 2, 1, 9, 0), False),
    (kst(2024, 6, 1, 9, 0), kst(2024, 1, 1, 9, 0), kst(2026, 6, 1, 9, 0), True),
    (kst(2024, 6, 1, 9, 0), kst(2024, 1, 1, 9, 0), kst(2026, 6, 2, 9, 0), False),
])
def test_consent_counts_for_two_years_from_its_grant_or_last_reconfirmation(granted_at, reconfirmed_at, now, valid):
    assert consent_valid(granted_at, reconfirmed_at, now) is valid


# ---------------------------------------------------------------------------------------------------- mode and cost

@pytest.mark.parametrize("mode", ["alimtalk", "alimtalk_then_sms"])
def test_alimtalk_never_carries_an_ad(mode):
    with pytest.raises(AdOnAlimtalk) as caught:
        check_mode("ad", mode)

    assert caught.value.code == "ALIMTALK_AD_NOT_ALLOWED"
    assert caught.value.status_code == 400


@pytest.mark.parametrize(("purpose", "mode"), [("ad", "sms"), ("info", "sms"), ("info", "alimtalk"),
                                               ("info", "alimtalk_then_sms")])
def test_allowed_purposes_and_modes(purpose, mode):
    assert check_mode(purpose, mode) is None


@pytest.mark.parametrize(("purpose", "mode", "error"), [("promo", "sms", InvalidPurpose), ("info", "mms", InvalidMode),
                                                        ("ad", "ALIMTALK", InvalidMode)])
def test_unknown_purposes_and_modes_are_refused(purpose, mode, error):
    with pytest.raises(error):
        check_mode(purpose, mode)


PRICES = {"SMS": Decimal("8.4"), "LMS": 30, "ATA": "13"}


def test_estimate_cost_sums_count_times_price():
    assert estimate_cost({"SMS": 3, "LMS": 2, "ATA": 0}, PRICES) == Decimal("85.2")
    assert estimate_cost({}, PRICES) == Decimal(0)


def test_a_type_sent_needs_a_price_and_a_type_not_sent_does_not():
    assert estimate_cost({"SMS": 1, "MMS": 0}, PRICES) == Decimal("8.4")

    with pytest.raises(PriceMissing) as caught:
        estimate_cost({"SMS": 1, "MMS": 2}, PRICES)

    assert caught.value.code == "MESSAGE_PRICE_MISSING"
    assert caught.value.details == {"type": "MMS"}


@pytest.mark.parametrize(("counts", "prices"), [({"SMS": -1}, PRICES), ({"SMS": 1}, {"SMS": -1}),
                                                ({"SMS": 1}, {"SMS": "NaN"})])
def test_negative_counts_and_prices_are_a_programming_error(counts, prices):
    with pytest.raises(ValueError):
        estimate_cost(counts, prices)


@pytest.mark.parametrize(("mode", "fallback", "prices", "expected"), [
    ("sms", "SMS", PRICES, "SMS"),
    ("sms", "LMS", PRICES, "LMS"),
    ("alimtalk", "LMS", PRICES, "ATA"),
    ("alimtalk_then_sms", "SMS", PRICES, "ATA"),
    ("alimtalk_then_sms", "LMS", PRICES, "LMS"),
    ("alimtalk_then_sms", "SMS", {"SMS": 20, "ATA": 13}, "SMS"),
    ("alimtalk_then_sms", "SMS", {"SMS": 13, "ATA": 13}, "ATA"),
])
def test_alimtalk_then_sms_reserves_the_dearer_of_alimtalk_and_its_fallback(mode, fallback, prices, expected):
    assert reserved_type(mode, fallback, prices) == expected


def test_reservation_of_a_send_counts_each_recipient_at_its_dearer_type():
    fallbacks = ["SMS", "SMS", "LMS"]

    assert reservation_counts("alimtalk_then_sms", fallbacks, PRICES) == {"ATA": 2, "LMS": 1}
    assert reservation_cost("alimtalk_then_sms", fallbacks, PRICES) == Decimal(56)
    assert reservation_cost("sms", fallbacks, PRICES) == Decimal("46.8")


def test_reservation_refuses_an_unknown_mode():
    with pytest.raises(InvalidMode):
        reserved_type("fax", "SMS", PRICES)


# ---------------------------------------------------------------------------------------------------- dedup

def test_a_parent_of_two_children_gets_one_message_per_child():
    items = [
        ("01012345678", "[가나학원] 홍길동 학생이 결석했습니다.", 1),
        ("01012345678", "[가나학원] 홍길순 학생이 결석했습니다.", 2),
    ]

    result = dedupe_recipients(items)

    assert result.kept == [Recipient(*items[0]), Recipient(*items[1])]
    assert result.duplicates == []


def test_the_same_text_goes_to_a_phone_once_per_send():
    # Given a student listed twice, and a student whose own phone is the parent's, with the same text
    items = [
        ("010-1234-5678", "내일 휴강합니다.\r\n가나학원", 1),
        ("01099998888", "내일 휴강합니다.\n가나학원", 1),
        ("01012345678", "내일 휴강합니다.\n가나학원", 1),
        ("01099998888", "내일 휴강합니다.\n가나학원", 2),
    ]

    result = dedupe_recipients(items)

    assert result.kept == [Recipient(*items[0]), Recipient(*items[1])]
    assert result.duplicates == [Recipient(*items[2]), Recipient(*items[3])]


@given(st.lists(st.tuples(st.sampled_from(["01011112222", "010-1111-2222", "01033334444"]),
                          st.sampled_from(["가", "나", "가\r\n", "가\n"]), st.integers(1, 3)), max_size=20))
def test_dedup_keeps_the_first_of_each_phone_and_text_and_loses_nobody(items):
    result = dedupe_recipients(items)

    keys = [(phone.replace("-", ""), text.replace("\r\n", "\n")) for phone, text, _ in result.kept]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(phone.replace("-", ""), text.replace("\r\n", "\n")) for phone, text, _ in items}
    assert sorted(result.kept + result.duplicates) == sorted(Recipient(*item) for item in items)
