"""Parent accounts (issue 14, docs/parents.md, decision 0023): staff invite a parent with a texted one-time code,
the parent sets a password with it, staff link and unlink children and deactivate the account.

The code is 8 digits from `secrets`, stored only as a password hash, valid PARENT_INVITE_CODE_HOURS, single use,
void after PARENT_INVITE_MAX_ATTEMPTS wrong tries, and never logged. Guessing is also throttled per (parent
username, address) and per address by the failed-login counters (apps/core/login_throttle.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.login_throttle import login_failure_record, login_success_record, login_throttle_check
from apps.core.models import Role, Tenant, User
from apps.core.parent_login import parent_username, tenant_code_of
from apps.core.passwords import PasswordTooWeakError, password_check
from apps.core.phone import normalize_phone
from apps.core.tokens import user_tokens_revoke
from apps.domains.accounts.models import Parent, ParentInvite, ParentStudent
from apps.domains.messaging import notices
from apps.domains.messaging.models import MessageSend
from apps.domains.students.models import Student

logger = logging.getLogger(__name__)

CODE_DIGITS = 8
_CODE_SEPARATORS = re.compile(r"[\s\-]")


# ---------------------------------------------------------------------------------------------------- errors

class InviteTargetInvalidError(DomainError):
    default_code = "PARENT_INVITE_TARGET_INVALID"
    default_message = "학부모 전화번호(`phone`)와 학생(`student_id`) 중 하나만 보내 주세요."


class NoStudentsForPhoneError(DomainError):
    default_code = "PARENT_PHONE_NO_STUDENTS"
    default_message = "이 학부모 전화번호가 등록된 재원생이 없습니다. 학생의 학부모 전화번호를 먼저 확인해 주세요."


class StudentNotFoundError(NotFoundError):
    default_code = "STUDENT_NOT_FOUND"
    default_message = "학생을 찾을 수 없습니다."


class ParentUsernameTakenError(ConflictError):
    default_code = "PARENT_USERNAME_TAKEN"
    default_message = "이 번호의 학부모 아이디를 다른 계정이 쓰고 있습니다. 운영자에게 문의해 주세요."


class ParentPhoneMismatchError(DomainError):
    default_code = "PARENT_PHONE_MISMATCH"
    default_message = ("이 학생의 학부모 전화번호가 이 학부모의 번호와 다릅니다. 학생 정보의 학부모 전화번호를 먼저 "
                       "고쳐 주세요.")


class InviteCodeInvalidError(DomainError):
    default_code = "INVITE_CODE_INVALID"
    default_message = ("학원 코드, 휴대폰 번호 또는 인증 코드가 올바르지 않습니다. 여러 번 틀리면 코드를 쓸 수 없게 "
                       "되니 학원에 새 코드를 요청해 주세요.")


class InviteCodeExpiredError(DomainError):
    default_code = "INVITE_CODE_EXPIRED"
    default_message = "인증 코드의 유효 시간이 지났습니다. 학원에 새 코드를 요청해 주세요."


class InviteCodeUsedError(DomainError):
    default_code = "INVITE_CODE_USED"
    default_message = "이미 사용한 인증 코드입니다. 설정한 비밀번호로 로그인하거나 학원에 새 코드를 요청해 주세요."


class InviteCodeVoidError(DomainError):
    default_code = "INVITE_CODE_VOID"
    default_message = "더 이상 쓸 수 없는 인증 코드입니다. 학원에 새 코드를 요청해 주세요."


# ---------------------------------------------------------------------------------------------------- invite

@dataclass(frozen=True)
class InviteResult:
    parent: Parent
    invite: ParentInvite
    send: MessageSend
    # Returned to the caller, never stored or logged; the API shows it only on the embedded messaging stack.
    setup_code: str
    linked_student_ids: list[int]


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _parent_for_phone(*, tenant: Tenant, phone: str, name: str) -> Parent:
    parent = Parent.objects.select_for_update().filter(tenant=tenant, phone=phone).select_related("user").first()
    if parent is not None:
        if name and parent.name != name:
            parent.name = name
            parent.save(update_fields=["name"])
        return parent
    username = parent_username(tenant_code=tenant.code, phone=phone)
    try:
        with transaction.atomic():
            # An unusable password until the parent sets one with the code.
            user = User.objects.create_user(username=username, password=None, tenant=tenant, role=Role.PARENT,
                                            first_name=name)
            return Parent.objects.create(tenant=tenant, user=user, phone=phone, name=name)
    except IntegrityError as exc:
        raise ParentUsernameTakenError() from exc


def _void_open_invites(*, parent: Parent, reason: str, now: dt.datetime) -> int:
    return ParentInvite.objects.filter(parent=parent, used_at__isnull=True, voided_at__isnull=True).update(
        voided_at=now, void_reason=reason)


@transaction.atomic
def parent_invite(*, tenant: Tenant, phone: object = None, student_id: int | None = None, name: str = "",
                  by: User | None = None, now: dt.datetime | None = None) -> InviteResult:
    """Invite the parent whose phone is `phone` (or `student_id`'s parent phone): create or reuse their account,
    link every live student of the tenant with that parent phone, void any earlier code and text a new one.

    Refused with nothing changed when the text cannot go (no approved sender, no credit, an opted-out phone)."""
    now = now or timezone.now()
    if (phone is None) == (student_id is None):
        raise InviteTargetInvalidError()
    if student_id is not None:
        student = Student.objects.filter(tenant=tenant, id=student_id, deleted_at__isnull=True).first()
        if student is None:
            raise StudentNotFoundError(details={"student_id": student_id})
        phone = student.parent_phone
    phone = normalize_phone(phone)
    children = list(Student.objects.filter(tenant=tenant, parent_phone=phone, deleted_at__isnull=True)
                    .order_by("id").values_list("id", flat=True))
    if not children:
        raise NoStudentsForPhoneError()
    parent = _parent_for_phone(tenant=tenant, phone=phone, name=name.strip())
    ParentStudent.objects.bulk_create(
        [ParentStudent(tenant=tenant, parent=parent, student_id=child) for child in children], ignore_conflicts=True)
    _void_open_invites(parent=parent, reason=ParentInvite.VoidReason.REISSUED, now=now)
    code = _new_code()
    hours = settings.PARENT_INVITE_CODE_HOURS
    invite = ParentInvite.objects.create(tenant=tenant, parent=parent, code_hash=make_password(code),
                                         expires_at=now + dt.timedelta(hours=hours), created_by=by)
    send = notices.parent_invite(tenant=tenant, student_id=children[0], invite_id=invite.id, setup_code=code,
                                 valid_hours=hours, login_url=settings.PARENT_LOGIN_URL, by=by, now=now)
    invite.send = send
    invite.save(update_fields=["send"])
    logger.info("parent_invited", extra={"tenant_id": tenant.id, "parent_id": parent.id, "invite_id": invite.id,
                                         "send_id": send.id, "children": len(children)})
    return InviteResult(parent=parent, invite=invite, send=send, setup_code=code, linked_student_ids=children)


# ---------------------------------------------------------------------------------------------------- activation

@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return make_password("0" * CODE_DIGITS)


def _tokens_revoke(user: User) -> None:
    """End every token the user was issued (apps/core/tokens.py: the version goes up)."""
    user_tokens_revoke(user_ids=[user.id])


def parent_activate(*, academy: str, phone: object, code: str, password: str, address: str,
                    now: dt.datetime | None = None) -> User:
    """Set the invited parent's password with their one-time code; returns the active user.

    Wrong codes (or an academy and phone with no invite: the same answer) count against the invite and against the
    failed-login counters of (parent username, address) and the address; a right code that is used, expired or
    void says so. A password the validators refuse leaves the code unused."""
    now = now or timezone.now()
    phone = normalize_phone(phone)
    tenant_code = tenant_code_of(academy)
    username = parent_username(tenant_code=tenant_code, phone=phone)
    login_throttle_check(username=username, address=address, now=now.timestamp())
    typed = _CODE_SEPARATORS.sub("", code) if isinstance(code, str) else ""
    error: DomainError | None = None
    with transaction.atomic():
        invite = (ParentInvite.objects.select_for_update(of=("self",))
                  .filter(tenant__code=tenant_code, tenant__is_active=True, parent__phone=phone)
                  .select_related("parent__user").order_by("-id").first())
        matches = check_password(typed, invite.code_hash if invite else _dummy_hash())
        if invite is None or not matches or len(typed) != CODE_DIGITS:
            error = InviteCodeInvalidError()
            if invite is not None and invite.is_open:
                _count_wrong_code(invite, now)
        elif invite.used_at is not None:
            error = InviteCodeUsedError()
        elif invite.voided_at is not None:
            error = InviteCodeVoidError()
        elif invite.expires_at <= now:
            error = InviteCodeExpiredError()
        else:
            return _activate(invite=invite, password=password, now=now, address=address)
    if isinstance(error, InviteCodeInvalidError):
        login_failure_record(username=username, address=address, now=now.timestamp())
    logger.info("parent_activation_refused", extra={"code": error.code, "address": address})
    raise error


def _count_wrong_code(invite: ParentInvite, now: dt.datetime) -> None:
    invite.failed_attempts += 1
    fields = ["failed_attempts"]
    if invite.failed_attempts >= settings.PARENT_INVITE_MAX_ATTEMPTS:
        invite.voided_at, invite.void_reason = now, ParentInvite.VoidReason.ATTEMPTS
        fields += ["voided_at", "void_reason"]
        logger.warning("parent_invite_voided", extra={"invite_id": invite.id, "tenant_id": invite.tenant_id,
                                                       "reason": invite.void_reason})
    invite.save(update_fields=fields)


def _activate(*, invite: ParentInvite, password: str, now: dt.datetime, address: str) -> User:
    parent = invite.parent
    user = parent.user
    if not isinstance(password, str):
        raise PasswordTooWeakError()
    password_check(password, user=user)
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    _tokens_revoke(user)  # a re-invited parent's old sessions end with the new password
    invite.used_at = now
    invite.save(update_fields=["used_at"])
    if parent.activated_at is None:
        parent.activated_at = now
        parent.save(update_fields=["activated_at"])
    login_success_record(username=user.username, address=address)
    logger.info("parent_activated", extra={"tenant_id": parent.tenant_id, "parent_id": parent.id,
                                           "invite_id": invite.id})
    return User.objects.get(id=user.id)


# ---------------------------------------------------------------------------------------------------- staff

def parent_child_link(*, parent: Parent, student: Student) -> bool:
    """Link a live student whose parent phone is this parent's (the issue's rule). True when the link is new."""
    if student.tenant_id != parent.tenant_id or student.deleted_at is not None:
        raise StudentNotFoundError(details={"student_id": student.id})
    if student.parent_phone != parent.phone:
        raise ParentPhoneMismatchError(details={"student_id": student.id})
    _, created = ParentStudent.objects.get_or_create(tenant_id=parent.tenant_id, parent=parent, student=student)
    if created:
        logger.info("parent_child_linked", extra={"tenant_id": parent.tenant_id, "parent_id": parent.id,
                                                  "student_id": student.id})
    return created


def parent_child_unlink(*, parent: Parent, student: Student) -> bool:
    """The parent no longer sees this child. True when a link was removed; unlinking twice is not an error."""
    deleted, _ = ParentStudent.objects.filter(parent=parent, student=student).delete()
    if deleted:
        logger.info("parent_child_unlinked", extra={"tenant_id": parent.tenant_id, "parent_id": parent.id,
                                                    "student_id": student.id})
    return bool(deleted)


@transaction.atomic
def parent_deactivate(*, parent: Parent, now: dt.datetime | None = None) -> Parent:
    """End the parent's access: no login, no token, no open code. A new invite lets them back in."""
    now = now or timezone.now()
    user = parent.user
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    _tokens_revoke(user)
    _void_open_invites(parent=parent, reason=ParentInvite.VoidReason.DEACTIVATED, now=now)
    logger.info("parent_deactivated", extra={"tenant_id": parent.tenant_id, "parent_id": parent.id})
    return parent
