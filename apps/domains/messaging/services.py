"""Writes of the messaging profile and the credit ledger (ARCHITECTURE §4 Messaging)."""

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError
from apps.core.models import Tenant, User
from apps.domains.messaging import rules
from apps.domains.messaging.models import CreditEntry, CreditKind, MessagingProfile
from apps.domains.messaging.selectors import credit_balance
from apps.integrations.messaging import get_message_provider

# 010 mobiles; Seoul 02 and the other area codes; 070 internet phones; 15xx/16xx/18xx representative numbers.
_SENDER_SHAPES = (
    re.compile(r"010\d{8}"),
    re.compile(r"02\d{7,8}"),
    re.compile(r"0(?:3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)\d{7,8}"),
    re.compile(r"1[568]\d{6}"),
)
_PHONE_TEXT = re.compile(r"[0-9\s\-.()]+")


class InvalidSenderNumberError(DomainError):
    default_code = "INVALID_SENDER_NUMBER"
    default_message = ("발신번호 형식이 올바르지 않습니다. 휴대폰(010), 유선전화(02, 031 등 지역번호, 070) 또는 "
                       "대표번호(15xx, 16xx, 18xx)를 입력해 주세요.")


class InvalidOptOutNumberError(DomainError):
    default_code = "INVALID_OPT_OUT_NUMBER"
    default_message = "수신거부 번호는 080으로 시작하는 10자리 또는 11자리 번호여야 합니다."


class QuietHoursIncompleteError(DomainError):
    default_code = "QUIET_HOURS_INCOMPLETE"
    default_message = "방해 금지 시간은 시작과 끝을 함께 정하거나 함께 비워야 하며, 시작과 끝이 같을 수 없습니다."


class SenderNotApprovedError(ConflictError):
    default_code = "SENDER_NOT_APPROVED"
    default_message = "문자 서비스에 등록되어 승인된 발신번호가 아닙니다. 발신번호 등록 상태를 확인해 주세요."


class InsufficientCreditError(DomainError):
    status_code = 402
    default_code = "INSUFFICIENT_CREDIT"
    default_message = "문자 크레딧이 부족합니다. 충전한 뒤 다시 시도해 주세요."


class InvalidCreditAmountError(DomainError):
    default_code = "INVALID_CREDIT_AMOUNT"
    default_message = "금액은 0보다 커야 합니다."


def sender_number_normalize(value: str) -> str:
    """Digits of a sender number in one of the accepted shapes, or InvalidSenderNumberError."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not _PHONE_TEXT.fullmatch(text):
        raise InvalidSenderNumberError()
    digits = re.sub(r"\D", "", text)
    if not any(shape.fullmatch(digits) for shape in _SENDER_SHAPES):
        raise InvalidSenderNumberError()
    return digits


def opt_out_number_normalize(value: str) -> str:
    try:
        return rules.format_opt_out_number(unicodedata.normalize("NFKC", value or ""))
    except rules.OptOutNumberRequired as exc:
        raise InvalidOptOutNumberError() from exc


def messaging_profile_ensure(*, tenant: Tenant) -> MessagingProfile:
    """The tenant's profile, created with the default prices on first use."""
    profile, _ = MessagingProfile.objects.get_or_create(tenant=tenant, defaults={
        "price_sms": Decimal(settings.MESSAGING_PRICE_SMS),
        "price_lms": Decimal(settings.MESSAGING_PRICE_LMS),
        "price_ata": Decimal(settings.MESSAGING_PRICE_ATA),
    })
    return profile


@transaction.atomic
def messaging_profile_update(*, tenant: Tenant, data: dict) -> MessagingProfile:
    profile = _locked_profile(tenant)
    if "sender_number" in data:
        number = sender_number_normalize(data["sender_number"]) if data["sender_number"] else ""
        if number != profile.sender_number:
            # A different number has not been confirmed by the provider yet.
            profile.sender_number, profile.sender_verified_at = number, None
    if "opt_out_number" in data:
        profile.opt_out_number = opt_out_number_normalize(data["opt_out_number"]) if data["opt_out_number"] else ""
    if "kakao_channel_id" in data:
        profile.kakao_channel_id = data["kakao_channel_id"].strip()
    for name in ("price_sms", "price_lms", "price_ata", "quiet_hours_start", "quiet_hours_end"):
        if name in data:
            setattr(profile, name, data[name])
    start, end = profile.quiet_hours_start, profile.quiet_hours_end
    if (start is None) != (end is None) or (start is not None and start == end):
        raise QuietHoursIncompleteError()
    profile.save()
    return profile


def messaging_profile_verify_sender(*, tenant: Tenant, now: dt.datetime | None = None) -> MessagingProfile:
    """Ask the provider whether the sender number is registered; record it when APPROVED, else 409."""
    profile = messaging_profile_ensure(tenant=tenant)
    number = profile.sender_number
    if not number:
        raise SenderNotApprovedError(message="발신번호가 아직 없습니다. 먼저 발신번호를 저장해 주세요.",
                                     details={"provider_status": None})
    # Outside the transaction: the provider may take seconds, and holding the row meanwhile serves nothing.
    provider_status = get_message_provider().sender_number_status(number)
    if provider_status != "APPROVED":
        raise SenderNotApprovedError(details={"provider_status": provider_status})
    with transaction.atomic():
        profile = MessagingProfile.objects.select_for_update().get(tenant=tenant)
        # The number may have changed while the provider answered: only the number asked about is verified.
        if profile.sender_number == number:
            profile.sender_verified_at = now or timezone.now()
            profile.save(update_fields=["sender_verified_at", "updated_at"])
        else:
            raise SenderNotApprovedError(message="확인하는 사이에 발신번호가 바뀌었습니다. 다시 확인해 주세요.",
                                         details={"provider_status": provider_status})
    return profile


def _locked_profile(tenant: Tenant) -> MessagingProfile:
    messaging_profile_ensure(tenant=tenant)
    return MessagingProfile.objects.select_for_update().get(tenant=tenant)


def _positive(amount: Decimal) -> Decimal:
    amount = Decimal(amount)
    if not amount.is_finite() or amount <= 0:
        raise InvalidCreditAmountError(details={"amount": str(amount)})
    return amount


def _write_entry(*, tenant: Tenant, kind: str, amount: Decimal, reference: str, memo: str = "",
                 by: User | None = None) -> tuple[CreditEntry, bool]:
    """Under the profile lock: the entry for (reference, kind) if written before, else a new one; a debit that
    would take the balance below zero is refused."""
    _locked_profile(tenant)
    if reference:
        existing = CreditEntry.objects.filter(tenant=tenant, reference=reference, kind=kind).first()
        if existing is not None:
            return existing, False
    if amount < 0:
        balance = credit_balance(tenant=tenant)
        if balance + amount < 0:
            raise InsufficientCreditError(details={"balance": str(balance), "needed": str(-amount)})
    entry = CreditEntry.objects.create(tenant=tenant, kind=kind, amount=amount, reference=reference, memo=memo,
                                       created_by=by)
    return entry, True


def _reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise ValueError("a ledger movement about a send needs its reference")
    return reference


@transaction.atomic
def credit_grant(*, tenant: Tenant, amount: Decimal, memo: str = "", by: User | None = None) -> CreditEntry:
    entry, _ = _write_entry(tenant=tenant, kind=CreditKind.TOP_UP, amount=_positive(amount), reference="",
                            memo=memo, by=by)
    return entry


@transaction.atomic
def credit_reserve(*, tenant: Tenant, amount: Decimal, reference: str) -> CreditEntry:
    """Hold `amount` for a send; INSUFFICIENT_CREDIT (402) when the balance is short. Once per reference."""
    entry, _ = _write_entry(tenant=tenant, kind=CreditKind.RESERVE, amount=-_positive(amount),
                            reference=_reference(reference))
    return entry


@transaction.atomic
def credit_release(*, tenant: Tenant, amount: Decimal, reference: str) -> CreditEntry:
    """Give back held credit (a cancelled send, or a reservation settled by its charges). Once per reference."""
    entry, _ = _write_entry(tenant=tenant, kind=CreditKind.RELEASE, amount=_positive(amount),
                            reference=_reference(reference))
    return entry


@transaction.atomic
def credit_charge(*, tenant: Tenant, amount: Decimal, reference: str) -> CreditEntry:
    """Charge what was accepted; the caller releases the matching reservation in the same transaction first.
    Once per reference: a redelivered job charges nothing more."""
    entry, _ = _write_entry(tenant=tenant, kind=CreditKind.CHARGE, amount=-_positive(amount),
                            reference=_reference(reference))
    return entry


@transaction.atomic
def credit_refund(*, tenant: Tenant, amount: Decimal, reference: str) -> CreditEntry:
    """Give back a charge whose message failed. Once per reference."""
    entry, _ = _write_entry(tenant=tenant, kind=CreditKind.REFUND, amount=_positive(amount),
                            reference=_reference(reference))
    return entry
