"""The messaging profile and the credit ledger of a tenant (ARCHITECTURE §4 Messaging)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import Tenant, TenantOwnedModel


class MessagingProfile(models.Model):
    """One per tenant, created on first read; its row is also the lock that serialises the tenant's ledger."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="messaging_profile")
    # Digits only: 010 mobiles, landlines (02, 0xx, 070) and 15xx/16xx/18xx representative numbers.
    sender_number = models.CharField(max_length=11, blank=True)
    sender_verified_at = models.DateTimeField(null=True, blank=True)
    # "080-123-4567" as it is printed at the end of an ad.
    opt_out_number = models.CharField(max_length=13, blank=True)
    kakao_channel_id = models.CharField(max_length=100, blank=True)
    price_sms = models.DecimalField(max_digits=7, decimal_places=2)
    price_lms = models.DecimalField(max_digits=7, decimal_places=2)
    price_ata = models.DecimalField(max_digits=7, decimal_places=2)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="messaging_profile_quiet_hours_both_or_neither"),
        ]

    def __str__(self):
        return f"messaging profile of tenant {self.tenant_id}"

    @property
    def sender_verified(self) -> bool:
        return bool(self.sender_number and self.sender_verified_at)


class CreditKind(models.TextChoices):
    TOP_UP = "TOP_UP", "충전"
    RESERVE = "RESERVE", "예약"
    CHARGE = "CHARGE", "차감"
    REFUND = "REFUND", "환불"
    RELEASE = "RELEASE", "예약 해제"


class CreditEntry(TenantOwnedModel):
    """One signed movement of credit; the balance is the sum of a tenant's entries."""

    amount = models.DecimalField(max_digits=12, decimal_places=2)
    kind = models.CharField(max_length=10, choices=CreditKind.choices)
    # What the entry is about (e.g. "send:42"); a (reference, kind) pair is written once, so a redelivered job
    # cannot charge, refund or release twice.
    reference = models.CharField(max_length=100, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference", "kind"], condition=~Q(reference=""),
                                    name="credit_entry_once_per_reference_and_kind"),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="credit_entry_tenant_recent")]

    def __str__(self):
        return f"{self.kind} {self.amount} (tenant {self.tenant_id})"


# ---------------------------------------------------------------------------------------------------- templates

class TemplateChannel(models.TextChoices):
    SMS = "sms", "문자"
    ALIMTALK = "alimtalk", "알림톡"


class TemplateCategory(models.TextChoices):
    ATTENDANCE = "attendance", "출결"
    EXAM = "exam", "시험"
    NOTICE = "notice", "공지"
    TUITION = "tuition", "수강료"
    ACCOUNT = "account", "계정"
    AD = "ad", "광고"
    ETC = "etc", "기타"


class TemplateReviewStatus(models.TextChoices):
    # An SMS template needs no review; an AlimTalk one is reviewed by Kakao through the provider.
    NOT_REQUIRED = "NOT_REQUIRED", "검수 불필요"
    PENDING = "PENDING", "검수 중"
    APPROVED = "APPROVED", "승인"
    REJECTED = "REJECTED", "반려"


class MessageTemplate(TenantOwnedModel):
    """A reusable text with `#{변수}` variables; an AlimTalk template carries the provider's id and review state."""

    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=10, choices=TemplateChannel.choices, default=TemplateChannel.SMS)
    category = models.CharField(max_length=12, choices=TemplateCategory.choices, default=TemplateCategory.ETC)
    subject = models.CharField(max_length=40, blank=True)
    body = models.TextField()
    provider_template_id = models.CharField(max_length=100, blank=True)
    review_status = models.CharField(max_length=12, choices=TemplateReviewStatus.choices,
                                     default=TemplateReviewStatus.NOT_REQUIRED)
    review_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft delete: sends keep pointing at the template they used.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], condition=Q(deleted_at__isnull=True),
                                    name="message_template_name_once_per_tenant"),
        ]

    def __str__(self):
        return self.name


# ---------------------------------------------------------------------------------------------------- consent

class ConsentHolder(models.TextChoices):
    STUDENT = "student", "학생"
    PARENT = "parent", "학부모"


class ConsentKind(models.TextChoices):
    AD = "ad", "광고 수신 동의"
    AD_NIGHT = "ad_night", "야간 광고 수신 동의"


class MessageConsent(TenantOwnedModel):
    """A recorded prior consent to advertising (정보통신망법 §50), for a student's own phone or their parent's."""

    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="message_consents")
    holder = models.CharField(max_length=10, choices=ConsentHolder.choices)
    kind = models.CharField(max_length=10, choices=ConsentKind.choices)
    # How it was obtained ("서면 동의서", "전화 녹취", …): the academy must be able to prove it.
    method = models.CharField(max_length=200)
    granted_at = models.DateTimeField()
    reconfirmed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "student", "holder", "kind"],
                                    condition=Q(withdrawn_at__isnull=True),
                                    name="message_consent_one_live_per_holder_and_kind"),
        ]

    def __str__(self):
        return f"{self.kind} consent of {self.holder} of student {self.student_id}"


class MessageOptOut(TenantOwnedModel):
    """수신거부: a phone that must get nothing from this academy (ads and information alike)."""

    phone = models.CharField(max_length=11)
    source = models.CharField(max_length=20, default="staff")  # "staff", "080", "provider"
    memo = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "phone"], name="message_opt_out_once_per_phone"),
        ]

    def __str__(self):
        return f"opt-out {self.phone[:3]}****{self.phone[-4:]} (tenant {self.tenant_id})"


# ---------------------------------------------------------------------------------------------------- sends

class SendAudience(models.TextChoices):
    STUDENT = "student", "학생"
    PARENT = "parent", "학부모"
    BOTH = "both", "학생과 학부모"


class SendMode(models.TextChoices):
    SMS = "sms", "문자"
    ALIMTALK = "alimtalk", "알림톡"
    ALIMTALK_THEN_SMS = "alimtalk_then_sms", "알림톡, 실패 시 문자"


class SendPurpose(models.TextChoices):
    INFO = "info", "안내"
    AD = "ad", "광고"


class SendStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED", "예약됨"
    QUEUED = "QUEUED", "대기"
    SENDING = "SENDING", "발송 중"
    DONE = "DONE", "완료"
    CANCELLED = "CANCELLED", "취소됨"
    FAILED = "FAILED", "실패"


class MessageSend(TenantOwnedModel):
    """One send request: who asked, what, to whom (the recipient rows), when, and what was reserved."""

    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    purpose = models.CharField(max_length=5, choices=SendPurpose.choices, default=SendPurpose.INFO)
    mode = models.CharField(max_length=20, choices=SendMode.choices, default=SendMode.SMS)
    audience = models.CharField(max_length=10, choices=SendAudience.choices, default=SendAudience.PARENT)
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=40, blank=True)
    # The text as written (template body or free text), before per-recipient rendering.
    body = models.TextField(blank=True)
    # How the recipients were chosen: {"student_ids": [...]} / {"lecture_id": n} / {"session_id": n,
    # "attendance": [...]}; kept for the record, the recipient rows are the truth.
    selection = models.JSONField(default=dict, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED)
    recipient_count = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True)  # [{"student_id": n, "code": "..."}]
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # "manual" for a staff send; automatic notices name their trigger ("absence", "welcome", "exam_published"…)
    # and a key that makes them once-only (e.g. "absence:<session>:<student>").
    trigger = models.CharField(max_length=30, default="manual")
    trigger_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Set when the retention task masked the bodies and phones of this send's rows.
    masked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "trigger_key"], condition=~Q(trigger_key=""),
                                    name="message_send_once_per_trigger_key"),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="message_send_tenant_recent")]

    def __str__(self):
        return f"send {self.id} ({self.status})"

    @property
    def credit_reference(self) -> str:
        return f"send:{self.id}"


class RecipientStatus(models.TextChoices):
    PENDING = "PENDING", "대기"
    SENDING = "SENDING", "발송 중"
    SENT = "SENT", "발송됨"
    DELIVERED = "DELIVERED", "전달됨"
    FAILED = "FAILED", "실패"
    # The provider may have taken it (a timeout, a 5xx): never resent; the reconciler settles it.
    UNKNOWN = "UNKNOWN", "확인 중"
    CANCELLED = "CANCELLED", "취소됨"


class MessageType(models.TextChoices):
    SMS = "SMS", "SMS"
    LMS = "LMS", "LMS"
    ATA = "ATA", "알림톡"


class MessageRecipient(TenantOwnedModel):
    """One message to one phone about one student: the unit that is sent at most once and always known."""

    # Our id for the provider (Solapi customFields): reconciliation asks by it. A fallback SMS after a failed
    # AlimTalk goes as f"{uid}-sms", so each provider message has its own id.
    uid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    send = models.ForeignKey(MessageSend, on_delete=models.CASCADE, related_name="recipients")
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    role = models.CharField(max_length=10, choices=ConsentHolder.choices)
    # Digits; masked ("010****5678") by the retention task after MESSAGING_RETENTION_DAYS.
    phone = models.CharField(max_length=11)
    text = models.TextField()
    subject = models.CharField(max_length=40, blank=True)
    # What is tried first (ATA for the AlimTalk modes) and, for alimtalk_then_sms, what replaces it (SMS/LMS).
    type = models.CharField(max_length=3, choices=MessageType.choices)
    fallback_type = models.CharField(max_length=3, choices=MessageType.choices, blank=True)
    # AlimTalk variables ({"학생이름": "김민준", …}) as the provider needs them besides the rendered text.
    variables = models.JSONField(default=dict, blank=True)
    # Held until this moment (ad night, quiet hours); None = as soon as the send runs.
    not_before = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RecipientStatus.choices, default=RecipientStatus.PENDING)
    # The type actually sent last (ATA, or the fallback) and what it cost; None until accepted.
    sent_type = models.CharField(max_length=3, choices=MessageType.choices, blank=True)
    reserved_amount = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    charged_amount = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True)
    provider_code = models.CharField(max_length=10, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    # The claim token of the batch that took it (PENDING → SENDING), so a batch is recognised after a crash.
    batch = models.UUIDField(null=True, blank=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["send", "status"], name="message_recipient_send_status"),
            models.Index(fields=["status", "updated_at"], name="message_recipient_unsettled",
                         condition=Q(status__in=["SENDING", "SENT", "UNKNOWN"])),
            models.Index(fields=["tenant", "student", "-id"], name="message_recipient_student"),
            models.Index(fields=["batch"], name="message_recipient_batch", condition=Q(batch__isnull=False)),
        ]

    def __str__(self):
        return f"recipient {self.uid} ({self.status})"

    @property
    def masked_phone(self) -> str:
        digits = self.phone
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


# ---------------------------------------------------------------------------------------------------- automatic notices

class NoticeKind(models.TextChoices):
    ABSENCE = "absence", "결석 알림"
    LATE = "late", "지각 알림"
    WELCOME = "welcome", "계정 안내"
    EXAM_PUBLISHED = "exam_published", "성적 발표"


class AutoNoticeSetting(TenantOwnedModel):
    """A tenant's switch for one automatic notice, with the template it uses and how it goes out."""

    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    enabled = models.BooleanField(default=False)
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=20, choices=SendMode.choices, default=SendMode.SMS)
    audience = models.CharField(max_length=10, choices=SendAudience.choices, default=SendAudience.PARENT)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="auto_notice_once_per_kind")]

    def __str__(self):
        return f"{self.kind} notice of tenant {self.tenant_id} ({'on' if self.enabled else 'off'})"


class PendingNotice(TenantOwnedModel):
    """An ABSENT/LATE mark waiting out its grace period: a correction within it cancels the notice; when due the
    scheduler turns it into a send whose trigger key makes it once per session and student."""

    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    session = models.ForeignKey("lectures.Session", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when it became a send (or was found already sent); the row stays as the record.
    fired_at = models.DateTimeField(null=True, blank=True)
    send = models.ForeignKey(MessageSend, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Why a fired notice sent nothing (the refusal's code: INSUFFICIENT_CREDIT, NO_RECIPIENTS, NOTICE_DISABLED…);
    # blank when it became a send. A refusal is recorded once and never retried.
    failure_code = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "session", "student"], name="pending_notice_once_per_mark"),
        ]
        indexes = [models.Index(fields=["due_at"], name="pending_notice_due", condition=Q(fired_at__isnull=True))]

    def __str__(self):
        return f"{self.kind} notice for student {self.student_id} in session {self.session_id}"
