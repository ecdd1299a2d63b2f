"""The one password policy: Django's validators with Korean messages, and the generated passwords."""

import re

import pytest

from apps.core.models import User
from apps.core.passwords import GENERATED_ALPHABET, PasswordTooWeakError, password_check, password_generate


@pytest.mark.parametrize("password, codes, messages", [
    ("abc12", ["password_too_short"], ["이 비밀번호는 너무 짧습니다. 최소 8자 이상이어야 합니다."]),
    ("password", ["password_too_common"], ["너무 흔히 사용되는 비밀번호입니다."]),
    ("84629175", ["password_entirely_numeric"], ["비밀번호가 전부 숫자로 되어 있습니다."]),
])
def test_a_password_the_policy_refuses_says_why_in_korean(password, codes, messages):
    with pytest.raises(PasswordTooWeakError) as caught:
        password_check(password)

    assert (caught.value.code, caught.value.status_code) == ("PASSWORD_TOO_WEAK", 400)
    assert caught.value.details == {"field": "password", "messages": messages, "codes": codes}
    assert caught.value.message == " ".join(messages)
    assert password not in caught.value.message


def test_a_password_like_the_username_is_refused():
    user = User(username="alpha-1042", first_name="김민준")

    with pytest.raises(PasswordTooWeakError) as caught:
        password_check("alpha-1042", user=user)

    assert caught.value.details["codes"] == ["password_too_similar"]


def test_a_password_longer_than_128_characters_is_refused():
    with pytest.raises(PasswordTooWeakError) as caught:
        password_check("가" * 129)

    assert caught.value.details["codes"] == ["password_too_long"]


def test_a_good_password_passes():
    password_check("봄날-수학-2026")


def test_generated_passwords_are_readable_long_distinct_and_pass_the_policy():
    generated = {password_generate() for _ in range(50)}

    assert len(generated) == 50
    for password in generated:
        assert re.fullmatch(rf"[{GENERATED_ALPHABET}]{{4}}-[{GENERATED_ALPHABET}]{{4}}-[{GENERATED_ALPHABET}]{{4}}",
                            password)
        assert len(password) >= 12
        password_check(password)
    assert not set("0o1li") & set(GENERATED_ALPHABET)  # nothing to misread
