"""Whether a child's login may be active (개인정보 보호법 §22-2, issue 14): a pure rule, no Django.

Processing the personal data of a child under 14 needs a legal guardian's consent. A student's login is
activatable when the student is 14 or older (만 나이: full years from the birth date to today in Asia/Seoul) or a
live guardian consent is recorded. Without a birth date, a high-school student (school_type HIGH) counts as 14 or
older, since 고1 starts at 15 or 16; anyone else needs a birth date showing 14+ or a consent.
"""

from datetime import date

CONSENT_AGE = 14
HIGH_SCHOOL = "HIGH"


def full_age(*, birth_date: date, today: date) -> int:
    """만 나이: completed years. Born on 29 February, the year completes on 1 March in a common year."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (1 if before_birthday else 0)


def consent_required(*, birth_date: date | None, school_type: str, today: date) -> bool:
    """Whether the student counts as under 14: a guardian's consent is then needed for an active login."""
    if birth_date is not None:
        return full_age(birth_date=birth_date, today=today) < CONSENT_AGE
    return school_type != HIGH_SCHOOL


def account_activatable(*, birth_date: date | None, school_type: str, has_consent: bool, today: date) -> bool:
    return has_consent or not consent_required(birth_date=birth_date, school_type=school_type, today=today)
