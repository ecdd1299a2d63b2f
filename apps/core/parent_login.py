"""Parent login fields (issue 14, docs/parents.md): `{academy, phone, password}` becomes simplejwt's
`{username, password}`, the username `<phone>@<academy code>`; the same phone at two academies is two users."""

from apps.core.exceptions import DomainError
from apps.core.models import Tenant
from apps.core.phone import normalize_phone

ACADEMY_MAX_LENGTH = Tenant._meta.get_field("code").max_length


class LoginFieldsInvalidError(DomainError):
    default_code = "LOGIN_FIELDS_INVALID"
    default_message = ("아이디(`username`)로 로그인하거나, 학부모는 학원 코드(`academy`)와 휴대폰 번호(`phone`)로 "
                       "로그인해 주세요. 둘을 함께 보낼 수는 없습니다.")


def parent_username(*, tenant_code: str, phone: str) -> str:
    return f"{phone}@{tenant_code}"


def tenant_code_of(academy: str) -> str:
    """The academy's code as stored (typed in any case on a phone keyboard), or what was typed when none has it."""
    typed = academy.strip()
    return Tenant.objects.filter(code__iexact=typed).values_list("code", flat=True).first() or typed


def login_credentials(data) -> dict | None:
    """simplejwt's fields for a parent login, or None for a username login (left to simplejwt as it is).

    Raises LOGIN_FIELDS_INVALID for a mix of the two or an academy that is not text, INVALID_PHONE for a phone that
    is not a Korean mobile number."""
    if not hasattr(data, "get"):
        return None
    academy, phone = data.get("academy"), data.get("phone")
    if academy is None and phone is None:
        return None
    if data.get("username") not in (None, ""):
        raise LoginFieldsInvalidError()
    if not isinstance(academy, str) or not academy.strip() or len(academy) > ACADEMY_MAX_LENGTH or phone is None:
        raise LoginFieldsInvalidError()
    username = parent_username(tenant_code=tenant_code_of(academy), phone=normalize_phone(phone))
    credentials = {"username": username}
    if "password" in data:
        credentials["password"] = data.get("password")
    return credentials
