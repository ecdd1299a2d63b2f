"""One password policy (issue 14): Django's AUTH_PASSWORD_VALIDATORS, checked by one function, in Korean.

Every place that sets a password a person chose (a student account's password, an Excel import's initial password)
calls `password_check`; a generated password is checked by the same rule. Neither function logs the password.
"""

import secrets

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import translation

from apps.core.exceptions import DomainError

PASSWORD_MAX_LENGTH = 128
# Lower-case letters and digits that cannot be mistaken for one another when read aloud or copied from a screen
# (no 0/o, 1/l/i): a staff member reads the password to a child once.
GENERATED_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GENERATED_GROUPS = 3
GENERATED_GROUP_LENGTH = 4


class PasswordTooWeakError(DomainError):
    default_code = "PASSWORD_TOO_WEAK"
    default_message = "비밀번호가 정책에 맞지 않습니다."


def password_check(password: str, *, user=None) -> None:
    """Raise PasswordTooWeakError (400) with every validator's Korean message when `password` breaks the policy.

    `user` (saved or not) lets the similarity validator compare the password with the username and name.
    """
    if len(password) > PASSWORD_MAX_LENGTH:
        raise PasswordTooWeakError(
            message=f"비밀번호는 {PASSWORD_MAX_LENGTH}자 이하여야 합니다.",
            details={"field": "password", "messages": [f"비밀번호는 {PASSWORD_MAX_LENGTH}자 이하여야 합니다."],
                     "codes": ["password_too_long"]})
    try:
        with translation.override("ko"):
            password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        with translation.override("ko"):
            messages = [str(message) for error in exc.error_list for message in error.messages]
        codes = [error.code for error in exc.error_list]
        raise PasswordTooWeakError(message=" ".join(messages), details={
            "field": "password", "messages": messages, "codes": codes}) from None


def password_policy_texts() -> list[str]:
    """The policy in Korean, one sentence per rule (for API descriptions and error hints)."""
    with translation.override("ko"):
        return [str(text) for text in password_validation.password_validators_help_texts()]


def password_generate(*, user=None) -> str:
    """A readable random password ("k7mp-x3qa-9tzr", 14 characters, about 59 bits) that passes the policy."""
    while True:
        password = "-".join(
            "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_GROUP_LENGTH))
            for _ in range(GENERATED_GROUPS))
        try:
            password_check(password, user=user)
        except PasswordTooWeakError:
            continue
        return password
