"""The messaging catalog (ARCHITECTURE §4 Messaging): templates and their AlimTalk review, ad consents
(정보통신망법 §50), the opt-out list (수신거부) and the automatic notice settings. Writes only; reads are in
selectors.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError, ServiceUnavailableError
from apps.core.models import Tenant, User
from apps.domains.messaging import encoding, rendering, rules
from apps.domains.messaging.models import (
    AutoNoticeSetting,
    ConsentHolder,
    ConsentKind,
    MessageConsent,
    MessageOptOut,
    MessageTemplate,
    NoticeKind,
    SendAudience,
    SendMode,
    TemplateCategory,
    TemplateChannel,
    TemplateReviewStatus,
)
from apps.domains.messaging.refusals import MessagingRefusal
from apps.integrations.messaging import ProviderError, get_message_provider

logger = logging.getLogger(__name__)

# Kakao's limit on an AlimTalk template's text.
ALIMTALK_MAX_CHARS = 1000
CONSENT_MAX_STUDENTS = 1000
# A browser clock a little ahead of ours still records "now"; further ahead is a mistake.
CONSENT_CLOCK_SKEW = dt.timedelta(minutes=5)
CONSENT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=rules.KST)
# The periodic sync asks about at most this many templates per pass, least recently checked first.
TEMPLATE_SYNC_BATCH = 50

_PHONE_TEXT = re.compile(r"\+?[0-9\s\-.()]+")
# Mobiles (010 with 8 digits after it, the older 011/016-019 with 7 or 8), Seoul 02, the other area codes, 070.
_RECEIVING_PHONE_SHAPES = (
    re.compile(r"010\d{8}"),
    re.compile(r"01[16789]\d{7,8}"),
    re.compile(r"02\d{7,8}"),
    re.compile(r"0(?:3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)\d{7,8}"),
)


# ---------------------------------------------------------------------------------------------------- errors

class TemplateNotFoundError(NotFoundError):
    default_code = "TEMPLATE_NOT_FOUND"
    default_message = "문자 템플릿을 찾을 수 없습니다."


class TemplateNameTakenError(ConflictError):
    default_code = "TEMPLATE_NAME_TAKEN"
    default_message = "같은 이름의 템플릿이 이미 있습니다. 다른 이름을 써 주세요."


class TemplateBodyEmptyError(DomainError):
    default_code = "TEMPLATE_BODY_EMPTY"
    default_message = "템플릿 내용이 비어 있습니다."


class TemplateVariableMalformedError(DomainError):
    default_code = "TEMPLATE_VARIABLE_MALFORMED"
    default_message = "템플릿 변수는 #{학생이름}처럼 #{ 와 } 사이에 이름을 써야 합니다. 닫히지 않은 변수가 있습니다."


class TemplateTooLongError(DomainError):
    default_code = "TEMPLATE_TOO_LONG"


class AlimtalkTemplateIdRequiredError(DomainError):
    default_code = "ALIMTALK_TEMPLATE_ID_REQUIRED"
    default_message = "알림톡 템플릿에는 카카오에 등록한 템플릿 코드(provider_template_id)가 필요합니다."


class TemplateFieldNotAllowedError(DomainError):
    default_code = "TEMPLATE_FIELD_NOT_ALLOWED"


class TemplateInUseError(ConflictError):
    default_code = "TEMPLATE_IN_USE"
    default_message = "자동 알림 설정에서 쓰고 있는 템플릿입니다. 자동 알림 설정에서 먼저 다른 템플릿으로 바꿔 주세요."


class TemplateNotAlimtalkError(ConflictError):
    default_code = "TEMPLATE_NOT_ALIMTALK"
    default_message = "알림톡 템플릿만 검수 상태를 확인할 수 있습니다."


class ProviderUnavailableError(ServiceUnavailableError):
    default_code = "MESSAGE_PROVIDER_UNAVAILABLE"
    default_message = "문자 서비스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


class StudentsNotFoundError(NotFoundError):
    default_code = "STUDENT_NOT_FOUND"
    default_message = "학생을 찾을 수 없습니다."


class ConsentGrantedAtInvalidError(DomainError):
    default_code = "CONSENT_GRANTED_AT_INVALID"
    default_message = "동의 시각은 2000년 이후, 현재 시각 이전이어야 합니다."


class InvalidOptOutPhoneError(DomainError):
    default_code = "INVALID_PHONE"
    default_message = ("올바른 전화번호가 아닙니다. 휴대폰(010 등) 또는 유선전화(02, 031 등 지역번호, 070) 번호를 "
                       "입력해 주세요.")


class NoticeKindNotFoundError(NotFoundError):
    default_code = "NOTICE_KIND_NOT_FOUND"
    default_message = "자동 알림 종류는 absence, late, welcome, exam_published 중 하나여야 합니다."


class NoticeTemplateRequiredError(DomainError):
    default_code = "NOTICE_TEMPLATE_REQUIRED"
    default_message = "자동 알림을 켜려면 템플릿을 골라야 합니다."


class NoticeTemplateChannelMismatchError(DomainError):
    default_code = "NOTICE_TEMPLATE_CHANNEL_MISMATCH"


class TemplateNotApprovedError(ConflictError):
    default_code = "TEMPLATE_NOT_APPROVED"
    default_message = "카카오 검수에서 승인된 알림톡 템플릿이어야 알림톡 자동 알림을 켤 수 있습니다."


def _domain(refusal: MessagingRefusal, **extra) -> DomainError:
    """A pure core's refusal as the DomainError the API answers with (same code, message and details)."""
    return DomainError(refusal.code, refusal.message, details={**refusal.details, **extra},
                       status_code=refusal.status_code)


# ---------------------------------------------------------------------------------------------------- templates

def template_malformed_variables(body: str) -> list[int]:
    """Indexes of every "#{" that opens no variable (unclosed, a brace or a line break inside); "#{}" is text."""
    bad = []
    for match in re.finditer(r"#\{", body):
        start = match.start()
        if body.startswith("#{}", start) or rendering.VARIABLE.match(body, start):
            continue
        bad.append(start)
    return bad


def _check_template(*, channel: str, category: str, subject: str, body: str, provider_template_id: str) -> None:
    if not body.strip():
        raise TemplateBodyEmptyError()
    malformed = template_malformed_variables(body)
    if malformed:
        raise TemplateVariableMalformedError(details={"indexes": malformed})
    if channel == TemplateChannel.SMS:
        if provider_template_id:
            raise TemplateFieldNotAllowedError(message="문자 템플릿에는 알림톡 템플릿 코드를 쓸 수 없습니다.",
                                               details={"field": "provider_template_id"})
        for field, text in (("subject", subject), ("body", body)):
            try:
                encoding.require_supported(text)
            except encoding.UnsupportedCharacters as exc:
                raise _domain(exc, field=field) from exc
        try:
            encoding.message_type(body, subject)
        except (encoding.MessageTooLong, encoding.SubjectTooLong) as exc:
            raise _domain(exc) from exc
        return
    if category == TemplateCategory.AD:
        raise _domain(rules.AdOnAlimtalk())
    if subject:
        raise TemplateFieldNotAllowedError(message="알림톡 템플릿에는 제목을 쓸 수 없습니다.",
                                           details={"field": "subject"})
    if not provider_template_id:
        raise AlimtalkTemplateIdRequiredError()
    if len(body) > ALIMTALK_MAX_CHARS:
        raise TemplateTooLongError(
            message=f"알림톡 템플릿은 {ALIMTALK_MAX_CHARS:,}자까지 쓸 수 있습니다. 지금 {len(body):,}자입니다.",
            details={"chars": len(body), "max_chars": ALIMTALK_MAX_CHARS})


def _name_taken(tenant: Tenant, name: str, exclude_id: int | None = None) -> bool:
    live = MessageTemplate.objects.for_tenant(tenant).filter(name=name, deleted_at__isnull=True)
    if exclude_id is not None:
        live = live.exclude(id=exclude_id)
    return live.exists()


def _save_template(template: MessageTemplate) -> None:
    # The unique constraint settles two concurrent writes of one name; the check before gives the common case.
    if _name_taken(template.tenant, template.name, exclude_id=template.id):
        raise TemplateNameTakenError(details={"name": template.name})
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        raise TemplateNameTakenError(details={"name": template.name}) from exc


@transaction.atomic
def message_template_create(*, tenant: Tenant, name: str, body: str, channel: str = TemplateChannel.SMS,
                            category: str = TemplateCategory.ETC, subject: str = "", provider_template_id: str = "",
                            by: User | None = None) -> MessageTemplate:
    """A new template; an AlimTalk one starts PENDING (Kakao reviews it), an SMS one needs no review."""
    body, subject = encoding.normalize_newlines(body), subject.strip()
    provider_template_id = provider_template_id.strip()
    _check_template(channel=channel, category=category, subject=subject, body=body,
                    provider_template_id=provider_template_id)
    template = MessageTemplate(
        tenant=tenant, name=name.strip(), channel=channel, category=category, subject=subject, body=body,
        provider_template_id=provider_template_id, created_by=by,
        review_status=(TemplateReviewStatus.PENDING if channel == TemplateChannel.ALIMTALK
                       else TemplateReviewStatus.NOT_REQUIRED))
    _save_template(template)
    return template


def _notice_kinds_using(template: MessageTemplate) -> list[str]:
    return sorted(AutoNoticeSetting.objects.filter(tenant_id=template.tenant_id, template=template)
                  .values_list("kind", flat=True))


@transaction.atomic
def message_template_update(*, template: MessageTemplate, data: dict) -> MessageTemplate:
    """Change the fields given. An AlimTalk template whose body, code or channel changed goes back to PENDING:
    Kakao approved the text it saw, not the new one."""
    template = MessageTemplate.objects.select_for_update().get(id=template.id, deleted_at__isnull=True)
    before = (template.channel, template.body, template.provider_template_id)
    if "name" in data:
        template.name = data["name"].strip()
    if "channel" in data and data["channel"] != template.channel:
        template.channel = data["channel"]
        if template.channel == TemplateChannel.SMS and "provider_template_id" not in data:
            template.provider_template_id = ""
    if "category" in data:
        template.category = data["category"]
    if "subject" in data:
        template.subject = data["subject"].strip()
    if "body" in data:
        template.body = encoding.normalize_newlines(data["body"])
    if "provider_template_id" in data:
        template.provider_template_id = data["provider_template_id"].strip()
    _check_template(channel=template.channel, category=template.category, subject=template.subject,
                    body=template.body, provider_template_id=template.provider_template_id)
    if template.channel != before[0]:
        # A notice setting chose its mode for this channel (an AlimTalk mode needs an AlimTalk template).
        kinds = _notice_kinds_using(template)
        if kinds:
            raise TemplateInUseError(message="자동 알림 설정에서 쓰고 있는 템플릿은 채널(문자/알림톡)을 바꿀 수 "
                                             "없습니다.", details={"notices": kinds})
    if template.channel == TemplateChannel.SMS:
        template.review_status, template.review_checked_at = TemplateReviewStatus.NOT_REQUIRED, None
    elif (template.channel, template.body, template.provider_template_id) != before:
        template.review_status, template.review_checked_at = TemplateReviewStatus.PENDING, None
    _save_template(template)
    return template


@transaction.atomic
def message_template_soft_delete(*, template: MessageTemplate, now: dt.datetime | None = None) -> None:
    """Hidden from lists and choices; sends keep pointing at it. A template a notice setting uses stays (409)."""
    template = MessageTemplate.objects.select_for_update().get(id=template.id)
    if template.deleted_at is not None:
        return
    kinds = _notice_kinds_using(template)
    if kinds:
        raise TemplateInUseError(details={"notices": kinds})
    template.deleted_at = now or timezone.now()
    template.save(update_fields=["deleted_at", "updated_at"])


@dataclass(frozen=True)
class TemplateSync:
    template: MessageTemplate
    provider_status: str


_REVIEW_OF_PROVIDER = {
    "APPROVED": TemplateReviewStatus.APPROVED,
    "PENDING": TemplateReviewStatus.PENDING,
    "REJECTED": TemplateReviewStatus.REJECTED,
    # A code the provider does not know cannot be sent with: it is refused until it is registered and synced again.
    "NOT_FOUND": TemplateReviewStatus.REJECTED,
}


def message_template_sync(*, template: MessageTemplate, now: dt.datetime | None = None) -> TemplateSync:
    """Ask the provider about an AlimTalk template's review and store the answer with the time it was checked.

    ProviderError propagates (the periodic task logs it; the API answers 503). The provider is asked outside any
    transaction; the answer is stored only if the template still has the body and code it was asked about.
    """
    if template.channel != TemplateChannel.ALIMTALK:
        raise TemplateNotAlimtalkError()
    asked = (template.body, template.provider_template_id)
    provider_status = get_message_provider().template_status(template.provider_template_id)
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().get(id=template.id)
        if (template.channel == TemplateChannel.ALIMTALK and template.deleted_at is None
                and (template.body, template.provider_template_id) == asked):
            template.review_status = _REVIEW_OF_PROVIDER.get(provider_status, TemplateReviewStatus.PENDING)
            template.review_checked_at = now or timezone.now()
            template.save(update_fields=["review_status", "review_checked_at", "updated_at"])
    return TemplateSync(template=template, provider_status=provider_status)


def message_template_sync_api(*, template: MessageTemplate) -> TemplateSync:
    try:
        return message_template_sync(template=template)
    except ProviderError as exc:
        logger.warning("template_sync_failed", extra={"template_id": template.id, "tenant_id": template.tenant_id,
                                                      "permanent": exc.permanent, "provider_code": exc.code})
        raise ProviderUnavailableError() from exc


def sync_alimtalk_templates(*, limit: int = TEMPLATE_SYNC_BATCH) -> dict[str, int]:
    """The periodic task: every tenant's PENDING AlimTalk templates, least recently checked first, at most `limit`
    a pass. A provider error is logged and the pass goes on; a permanent one (bad keys) ends the pass, since every
    other template would fail the same way."""
    pending = list(MessageTemplate.objects.filter(
        channel=TemplateChannel.ALIMTALK, review_status=TemplateReviewStatus.PENDING, deleted_at__isnull=True,
    ).order_by(F("review_checked_at").asc(nulls_first=True), "id")[:limit])
    counts = {"checked": 0, "changed": 0, "errors": 0}
    for template in pending:
        try:
            result = message_template_sync(template=template)
        except ProviderError as exc:
            counts["errors"] += 1
            logger.warning("template_sync_failed", extra={
                "template_id": template.id, "tenant_id": template.tenant_id, "permanent": exc.permanent,
                "provider_code": exc.code})
            if exc.permanent:
                break
            continue
        counts["checked"] += 1
        counts["changed"] += result.template.review_status != TemplateReviewStatus.PENDING
    if pending:
        logger.info("template_sync_pass", extra=counts)
    return counts


# ---------------------------------------------------------------------------------------------------- consents

@dataclass(frozen=True)
class ConsentRecording:
    consent: MessageConsent
    created: bool


def _live_students(tenant: Tenant, student_ids: list[int]):
    from apps.domains.students.models import Student

    wanted = list(dict.fromkeys(student_ids))
    found = {s.id: s for s in Student.objects.for_tenant(tenant).alive().filter(id__in=wanted)}
    missing = [i for i in wanted if i not in found]
    if missing:
        # All or nothing: a foreign or deleted id records no consent for anyone.
        raise StudentsNotFoundError(details={"student_ids": missing})
    return [found[i] for i in wanted]


@transaction.atomic
def message_consent_record(*, tenant: Tenant, student_ids: list[int], holder: str, kind: str, method: str,
                           granted_at: dt.datetime | None = None, by: User | None = None,
                           now: dt.datetime | None = None) -> list[ConsentRecording]:
    """One consent per student (§50 prior consent to ads). A student who already has a live consent of this holder
    and kind has it reconfirmed at `granted_at` (which restarts its two years); a withdrawn one stays as the record
    and a new one is written."""
    now = now or timezone.now()
    if holder not in ConsentHolder.values or kind not in ConsentKind.values:
        raise DomainError("VALIDATION_ERROR", "동의한 사람(holder)이나 동의 종류(kind)가 올바르지 않습니다.")
    method = method.strip()
    if not method:
        raise DomainError("CONSENT_METHOD_REQUIRED", "동의를 받은 방법(서면 동의서, 전화 녹취 등)을 적어 주세요.")
    if not student_ids or len(student_ids) > CONSENT_MAX_STUDENTS:
        raise DomainError("VALIDATION_ERROR", f"학생은 1명 이상 {CONSENT_MAX_STUDENTS:,}명 이하로 골라 주세요.")
    moment = now if granted_at is None else granted_at
    if moment < CONSENT_EARLIEST or moment > now + CONSENT_CLOCK_SKEW:
        raise ConsentGrantedAtInvalidError(details={"granted_at": moment.isoformat()})
    moment = min(moment, now)
    students = _live_students(tenant, student_ids)
    live = {c.student_id: c for c in MessageConsent.objects.select_for_update().filter(
        tenant=tenant, student__in=students, holder=holder, kind=kind, withdrawn_at__isnull=True)}
    recorded = []
    for student in students:
        consent = live.get(student.id)
        if consent is None:
            consent = MessageConsent.objects.create(tenant=tenant, student=student, holder=holder, kind=kind,
                                                    method=method, granted_at=moment, recorded_by=by)
            recorded.append(ConsentRecording(consent, True))
            continue
        anchor = max(consent.granted_at, consent.reconfirmed_at or consent.granted_at)
        if moment > anchor:
            consent.reconfirmed_at = moment
            consent.save(update_fields=["reconfirmed_at", "updated_at"])
        recorded.append(ConsentRecording(consent, False))
    return recorded


def message_consent_withdraw(*, consent: MessageConsent, now: dt.datetime | None = None) -> MessageConsent:
    """Record the withdrawal; withdrawing twice keeps the first moment."""
    MessageConsent.objects.filter(id=consent.id, withdrawn_at__isnull=True).update(
        withdrawn_at=now or timezone.now(), updated_at=timezone.now())
    consent.refresh_from_db()
    return consent


# ---------------------------------------------------------------------------------------------------- opt-outs

def opt_out_phone_normalize(value: str) -> str:
    """Digits of a Korean mobile or landline number written in any common way (+82 included), or INVALID_PHONE."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not _PHONE_TEXT.fullmatch(text):
        raise InvalidOptOutPhoneError()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or (digits.startswith("82") and len(digits) in (10, 11, 12)):
        if not digits.startswith("82"):
            raise InvalidOptOutPhoneError()
        digits = digits[2:] if digits[2:].startswith("0") else "0" + digits[2:]
    if not any(shape.fullmatch(digits) for shape in _RECEIVING_PHONE_SHAPES):
        raise InvalidOptOutPhoneError()
    return digits


def masked_phone(digits: str) -> str:
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def message_opt_out_add(*, tenant: Tenant, phone: str, memo: str = "", source: str = "staff",
                        by: User | None = None) -> tuple[MessageOptOut, bool]:
    """(the opt-out, created): a number already on the list is answered as it is."""
    digits = opt_out_phone_normalize(phone)
    existing = MessageOptOut.objects.for_tenant(tenant).filter(phone=digits).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            opt_out = MessageOptOut.objects.create(tenant=tenant, phone=digits, memo=memo.strip(), source=source,
                                                   created_by=by)
    except IntegrityError:
        # Added by someone else in the meantime.
        return MessageOptOut.objects.for_tenant(tenant).get(phone=digits), False
    logger.info("opt_out_added", extra={"tenant_id": tenant.id, "phone": masked_phone(digits), "source": source})
    return opt_out, True


def message_opt_out_remove(*, opt_out: MessageOptOut) -> None:
    MessageOptOut.objects.filter(id=opt_out.id).delete()
    logger.info("opt_out_removed", extra={"tenant_id": opt_out.tenant_id, "phone": masked_phone(opt_out.phone)})


# ---------------------------------------------------------------------------------------------------- notices

def _notice_template(tenant: Tenant, template_id: int) -> MessageTemplate:
    template = (MessageTemplate.objects.select_for_update().for_tenant(tenant)
                .filter(id=template_id, deleted_at__isnull=True).first())
    if template is None:
        raise TemplateNotFoundError(details={"template_id": template_id})
    return template


@transaction.atomic
def auto_notice_setting_update(*, tenant: Tenant, kind: str, data: dict) -> AutoNoticeSetting:
    """Change a tenant's automatic notice (the row is made on first change, off by default). An enabled notice has
    a template of the tenant whose channel fits the mode; an AlimTalk mode needs a template Kakao approved."""
    if kind not in NoticeKind.values:
        raise NoticeKindNotFoundError()
    setting, _ = AutoNoticeSetting.objects.get_or_create(tenant=tenant, kind=kind)
    setting = AutoNoticeSetting.objects.select_for_update().get(id=setting.id)
    if "template_id" in data:
        template_id = data["template_id"]
        setting.template = None if template_id is None else _notice_template(tenant, template_id)
    elif setting.template_id is not None:
        # Locked, so the template cannot be deleted while this setting starts or keeps pointing at it.
        setting.template = MessageTemplate.objects.select_for_update().get(id=setting.template_id)
    for name in ("enabled", "mode", "audience"):
        if name in data:
            setattr(setting, name, data[name])
    if setting.mode not in SendMode.values or setting.audience not in SendAudience.values:
        raise DomainError("VALIDATION_ERROR", "발송 방식(mode)이나 받는 사람(audience)이 올바르지 않습니다.")
    template = setting.template
    if template is not None:
        wanted = TemplateChannel.SMS if setting.mode == SendMode.SMS else TemplateChannel.ALIMTALK
        if template.channel != wanted:
            raise NoticeTemplateChannelMismatchError(
                message=("알림톡 발송에는 알림톡 템플릿을, 문자 발송에는 문자 템플릿을 골라 주세요."),
                details={"mode": setting.mode, "template_channel": template.channel})
    if setting.enabled:
        if template is None or template.deleted_at is not None:
            raise NoticeTemplateRequiredError()
        if template.channel == TemplateChannel.ALIMTALK and template.review_status != TemplateReviewStatus.APPROVED:
            raise TemplateNotApprovedError(details={"review_status": template.review_status})
    setting.save()
    return setting
