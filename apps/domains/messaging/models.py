"""The messaging profile and the credit ledger of a tenant (ARCHITECTURE §4 Messaging)."""

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
