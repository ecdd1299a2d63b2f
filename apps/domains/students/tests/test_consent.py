"""The guardian-consent rule (개인정보 보호법 §22-2): pure, on dates."""

from datetime import date

import pytest

from apps.domains.students.consent import account_activatable, consent_required, full_age


@pytest.mark.parametrize("birth, today, age", [
    (date(2012, 5, 10), date(2026, 5, 9), 13),
    (date(2012, 5, 10), date(2026, 5, 10), 14),  # the birthday itself completes the year
    (date(2012, 2, 29), date(2026, 2, 28), 13),
    (date(2012, 2, 29), date(2026, 3, 1), 14),  # born on 29 February: 1 March in a common year
    (date(2012, 2, 29), date(2028, 2, 29), 16),
    (date(2026, 1, 1), date(2026, 1, 1), 0),
])
def test_full_age_counts_completed_years(birth, today, age):
    assert full_age(birth_date=birth, today=today) == age


@pytest.mark.parametrize("birth, school_type, required", [
    (date(2012, 11, 28), "", False),  # 14 today
    (date(2012, 11, 29), "", True),  # 14 tomorrow
    (date(2012, 11, 29), "HIGH", True),  # a birth date beats the school type
    (date(2000, 1, 1), "ELEMENTARY", False),
    (None, "HIGH", False),
    (None, "MIDDLE", True),
    (None, "ELEMENTARY", True),
    (None, "", True),  # nothing known: consent or a birth date
])
def test_consent_is_required_under_14_or_when_the_age_is_unknown(birth, school_type, required):
    assert consent_required(birth_date=birth, school_type=school_type, today=date(2026, 11, 28)) is required


@pytest.mark.parametrize("birth, has_consent, activatable", [
    (date(2015, 1, 1), False, False),
    (date(2015, 1, 1), True, True),
    (date(2010, 1, 1), False, True),
    (None, True, True),
])
def test_an_account_is_activatable_at_14_or_with_consent(birth, has_consent, activatable):
    assert account_activatable(birth_date=birth, school_type="", has_consent=has_consent,
                               today=date(2026, 11, 28)) is activatable
