"""Students' logins (issue 14): staff create, reset and deactivate them; a guardian's consent activates a child's.

A student's login is the `User` (role student) on `Student.user`, named `<tenant code>-<student id>` whether staff
or an Excel import made it. Its `is_active` is the truth the login and every request read; these services keep it
equal to "not deactivated by staff, and activatable" (consent.py). Every change that ends access (a reset, a
deactivation, a withdrawn consent) raises the user's token version, which ends every token they hold.

A password is returned once, to the staff member who set it, and is never logged or stored in clear.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, ForbiddenError, NotFoundError
from apps.core.models import Role, Tenant, User
from apps.core.passwords import password_check, password_generate
from apps.core.tokens import AccountInactiveError, user_tokens_revoke
from apps.domains.students.consent import account_activatable, consent_required
from apps.domains.students.models import GuardianConsent, Student

logger = logging.getLogger(__name__)

GUARDIAN_CONSENT_REQUIRED = "GUARDIAN_CONSENT_REQUIRED"
DEACTIVATED = "DEACTIVATED"
INACTIVE_MESSAGES = {
    GUARDIAN_CONSENT_REQUIRED: ("만 14세 미만이거나 나이를 알 수 없는(생년월일이 없고 고등학생이 아닌) 학생은 보호자 "
                                "동의가 기록되어야 계정이 활성화됩니다. 생년월일을 입력하면 만 14세 이상은 바로 "
                                "활성화됩니다."),
    DEACTIVATED: "학원에서 사용을 중지한 계정입니다.",
}
# A consent time a little ahead of the server's clock is a clock difference, not a consent from the future.
CONSENT_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_CONSENT = datetime(2000, 1, 1, tzinfo=UTC)


class AccountExistsError(ConflictError):
    default_code = "ACCOUNT_EXISTS"
    default_message = "이미 계정이 있는 학생입니다. 비밀번호를 바꾸려면 재설정을 사용하세요."


class AccountUsernameTakenError(ConflictError):
    default_code = "ACCOUNT_USERNAME_TAKEN"
    default_message = "이 학생의 아이디를 다른 계정이 쓰고 있습니다. 관리자에게 문의하세요."


class AccountNotFoundError(NotFoundError):
    default_code = "ACCOUNT_NOT_FOUND"
    default_message = "이 학생에게는 아직 계정이 없습니다."


class GuardianConsentExistsError(ConflictError):
    default_code = "GUARDIAN_CONSENT_EXISTS"
    default_message = "이미 기록된 보호자 동의가 있습니다. 바꾸려면 먼저 철회하세요."


class GuardianConsentNotFoundError(NotFoundError):
    default_code = "GUARDIAN_CONSENT_NOT_FOUND"
    default_message = "기록된 보호자 동의가 없습니다."


class InvalidConsentDateError(DomainError):
    default_code = "INVALID_CONSENT_DATE"
    default_message = "동의 일시는 2000년 1월 1일부터 현재 사이여야 합니다."


class AccountPendingConsentError(ForbiddenError):
    default_code = "ACCOUNT_PENDING_CONSENT"
    default_message = "만 14세 미만 학생의 계정은 보호자 동의가 기록된 뒤에 사용할 수 있습니다. 학원에 문의해 주세요."


@dataclass(frozen=True)
class StudentAccount:
    username: str
    is_active: bool
    inactive_reason: str | None
    # Only in the answer to the staff member who just set it; never in a repr (a log line, an error report).
    password: str | None = field(default=None, repr=False)

    @property
    def inactive_message(self) -> str | None:
        return INACTIVE_MESSAGES.get(self.inactive_reason) if self.inactive_reason else None


def student_username(*, tenant: Tenant, student_id: int) -> str:
    """Unique and deterministic per tenant and student: re-running an import can never mint a second account."""
    return f"{tenant.code}-{student_id}"


def account_inactive_reason(*, student: Student, user: User) -> str | None:
    """Why the login is inactive: staff deactivated it, else it waits for a guardian's consent. No query."""
    if user.is_active:
        return None
    return DEACTIVATED if student.account_deactivated_at is not None else GUARDIAN_CONSENT_REQUIRED


def student_account_of(student: Student) -> StudentAccount | None:
    user = student.user
    if user is None:
        return None
    return StudentAccount(username=user.username, is_active=user.is_active,
                          inactive_reason=account_inactive_reason(student=student, user=user))


def guardian_consent_live(*, student: Student) -> GuardianConsent | None:
    return GuardianConsent.objects.filter(student=student, withdrawn_at__isnull=True).first()


def student_consent_required(*, student: Student, today=None) -> bool:
    return consent_required(birth_date=student.birth_date, school_type=student.school_type,
                            today=today or timezone.localdate())


def student_account_activatable(*, student: Student) -> bool:
    today = timezone.localdate()
    if not student_consent_required(student=student, today=today):
        return True
    return account_activatable(birth_date=student.birth_date, school_type=student.school_type,
                               has_consent=guardian_consent_live(student=student) is not None, today=today)


def _locked(student: Student) -> Student:
    return Student.objects.select_for_update(of=("self",)).select_related("tenant", "user").get(id=student.id)


def _student_user(student: Student) -> User:
    """The student's own login; a staff user linked by mistake (the admin) is not one staff may reset here."""
    if student.user is None or student.user.role != Role.STUDENT:
        raise AccountNotFoundError()
    return student.user


@transaction.atomic
def student_account_create(*, student: Student, password: str | None = None) -> StudentAccount:
    """A login for a student without one; inactive until a guardian's consent when the student is under 14.

    Raises AccountExistsError (409) when the student has one, PasswordTooWeakError (400) for a password the policy
    refuses; nothing is saved then.
    """
    student = _locked(student)
    if student.user_id is not None:
        raise AccountExistsError()
    username = student_username(tenant=student.tenant, student_id=student.id)
    if User.objects.filter(username=username).exists():
        raise AccountUsernameTakenError()
    user = User(username=username, first_name=student.name[:150], tenant=student.tenant, role=Role.STUDENT,
                is_active=student_account_activatable(student=student))
    if password is None:
        password = password_generate(user=user)
    else:
        password_check(password, user=user)
    user.set_password(password)
    user.save()
    student.user = user
    student.account_deactivated_at = None
    student.save(update_fields=["user", "account_deactivated_at", "updated_at"])
    logger.info("student_account_created", extra={"event": "student_account_created", "tenant_id": student.tenant_id,
                                                  "student_id": student.id, "user_id": user.id,
                                                  "is_active": user.is_active})
    return StudentAccount(username=username, is_active=user.is_active, password=password,
                          inactive_reason=account_inactive_reason(student=student, user=user))


@transaction.atomic
def student_account_reset(*, student: Student, password: str | None = None) -> StudentAccount:
    """A new password (given or generated) that ends every token of the old one; a deactivated login comes back
    (active when activatable). Raises AccountNotFoundError (404), PasswordTooWeakError (400)."""
    student = _locked(student)
    user = _student_user(student)
    if password is None:
        password = password_generate(user=user)
    else:
        password_check(password, user=user)
    user.set_password(password)
    user.is_active = student_account_activatable(student=student)
    user.save(update_fields=["password", "is_active"])
    student.account_deactivated_at = None
    student.save(update_fields=["account_deactivated_at", "updated_at"])
    user_tokens_revoke(user_ids=[user.id])
    logger.info("student_account_reset", extra={"event": "student_account_reset", "tenant_id": student.tenant_id,
                                                "student_id": student.id, "user_id": user.id,
                                                "is_active": user.is_active})
    return StudentAccount(username=user.username, is_active=user.is_active, password=password,
                          inactive_reason=account_inactive_reason(student=student, user=user))


@transaction.atomic
def student_account_deactivate(*, student: Student) -> StudentAccount:
    """Staff stop the login: inactive, every token ended, until a reset. Deactivating twice changes nothing more."""
    student = _locked(student)
    user = _student_user(student)
    if student.account_deactivated_at is None:
        student.account_deactivated_at = timezone.now()
        student.save(update_fields=["account_deactivated_at", "updated_at"])
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    user_tokens_revoke(user_ids=[user.id])
    logger.info("student_account_deactivated", extra={"event": "student_account_deactivated",
                                                      "tenant_id": student.tenant_id, "student_id": student.id,
                                                      "user_id": user.id})
    return StudentAccount(username=user.username, is_active=False,
                          inactive_reason=account_inactive_reason(student=student, user=user))


def student_account_sync(*, student: Student) -> None:
    """After what decides activation changed (consent, birth date, school type): an account not deactivated by
    staff becomes active when activatable, inactive (every token ended) when not. Call inside a transaction."""
    user = student.user
    if user is None or student.account_deactivated_at is not None or user.role != Role.STUDENT:
        return
    active = student_account_activatable(student=student)
    if active == user.is_active:
        return
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        user_tokens_revoke(user_ids=[user.id])
    logger.info("student_account_synced", extra={"event": "student_account_synced", "tenant_id": student.tenant_id,
                                                 "student_id": student.id, "user_id": user.id, "is_active": active})


@transaction.atomic
def guardian_consent_record(*, student: Student, guardian_name: str, relation: str, method: str,
                            consented_at: datetime, recorded_by: User, memo: str = "") -> GuardianConsent:
    """Record a guardian's consent (who, how, when) and activate the child's pending login.

    Raises GuardianConsentExistsError (409) when a live consent exists, InvalidConsentDateError (400) for a time in
    the future or before 2000.
    """
    if not EARLIEST_CONSENT <= consented_at <= timezone.now() + CONSENT_CLOCK_SKEW:
        raise InvalidConsentDateError()
    student = _locked(student)
    if guardian_consent_live(student=student) is not None:
        raise GuardianConsentExistsError()
    consent = GuardianConsent.objects.create(
        tenant_id=student.tenant_id, student=student, guardian_name=guardian_name.strip(), relation=relation,
        method=method, consented_at=consented_at, memo=memo, recorded_by=recorded_by)
    student_account_sync(student=student)
    logger.info("guardian_consent_recorded", extra={"event": "guardian_consent_recorded",
                                                    "tenant_id": student.tenant_id, "student_id": student.id,
                                                    "consent_id": consent.id, "method": method})
    return consent


@transaction.atomic
def guardian_consent_withdraw(*, student: Student, withdrawn_by: User) -> GuardianConsent:
    """Withdraw the live consent: the login of a child under 14 becomes inactive and its tokens end.

    Raises GuardianConsentNotFoundError (404) when there is none.
    """
    student = _locked(student)
    consent = guardian_consent_live(student=student)
    if consent is None:
        raise GuardianConsentNotFoundError()
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = withdrawn_by
    consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    student_account_sync(student=student)
    logger.info("guardian_consent_withdrawn", extra={"event": "guardian_consent_withdrawn",
                                                     "tenant_id": student.tenant_id, "student_id": student.id,
                                                     "consent_id": consent.id})
    return consent


@transaction.atomic
def student_login_refusal(*, user: User) -> DomainError | None:
    """Why a student whose password was right may not log in, or None after activating a login whose wait ended
    (the child turned 14, or a consent exists). Called only after the password matched an inactive user."""
    student = Student.objects.select_for_update().filter(user=user).first()
    if student is None or student.deleted_at is not None:
        return AccountInactiveError()
    if student.account_deactivated_at is not None:
        return AccountInactiveError()
    if not student_account_activatable(student=student):
        return AccountPendingConsentError()
    User.objects.filter(id=user.id).update(is_active=True)
    user.is_active = True
    logger.info("student_account_synced", extra={"event": "student_account_synced", "tenant_id": student.tenant_id,
                                                 "student_id": student.id, "user_id": user.id, "is_active": True})
    return None


def student_logins_awaiting_consent(*, tenant: Tenant | None = None) -> list[Student]:
    """Live students whose active login the guardian-consent rule would hold: logins made before the rule (or whose
    consent vanished by hand) that `student_account_sync` would deactivate. Staff-stopped logins are not listed."""
    live_consent = GuardianConsent.objects.filter(student=OuterRef("pk"), withdrawn_at__isnull=True)
    students = (Student.objects.filter(deleted_at__isnull=True, user__role=Role.STUDENT, user__is_active=True,
                                       account_deactivated_at__isnull=True)
                .annotate(has_consent=Exists(live_consent))
                .select_related("tenant", "user").order_by("tenant_id", "id"))
    if tenant is not None:
        students = students.filter(tenant=tenant)
    today = timezone.localdate()
    # One query however many students: the rule itself is the pure one student_account_activatable applies.
    return [student for student in students
            if not account_activatable(birth_date=student.birth_date, school_type=student.school_type,
                                       has_consent=student.has_consent, today=today)]


@transaction.atomic
def student_logins_hold_for_consent(*, tenant: Tenant | None = None) -> list[Student]:
    """Deactivate (every token ended) each login `student_logins_awaiting_consent` lists; returns those students."""
    held = student_logins_awaiting_consent(tenant=tenant)
    for student in held:
        student_account_sync(student=student)
    return held
