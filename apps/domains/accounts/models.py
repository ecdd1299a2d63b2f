"""Logins of students and parents (issue 14): parent accounts and the children each parent may see.

A student's login is the `User` on `Student.user` (role student). A parent is a `User` of role parent with one
`Parent` row per academy: the same phone may be a parent at two academies, as two users. Which children a parent
sees is the explicit `ParentStudent` links staff made (matched on each student's parent phone when invited), never
a live match on the phone: correcting a typo in a student's parent phone must not hand the child to a stranger.
"""

from django.conf import settings
from django.db import models

from apps.core.models import TenantOwnedModel


class Parent(TenantOwnedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="parent")
    phone = models.CharField(max_length=11, help_text="010으로 시작하는 11자리")
    name = models.CharField(max_length=50, blank=True, default="")
    # When the parent first set a password with an invite code; None until then.
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "phone"], name="uniq_parent_phone_per_tenant")]

    def __str__(self):
        return f"parent {self.id} of tenant {self.tenant_id}"


class ParentStudent(TenantOwnedModel):
    """A parent may see this child. The link outlives the child's leaving: their history stays, hidden."""

    parent = models.ForeignKey(Parent, on_delete=models.CASCADE, related_name="links")
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="parent_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["parent", "student"], name="uniq_parent_student")]
        indexes = [models.Index(fields=["tenant", "student"], name="parent_student_student_idx")]

    def __str__(self):
        return f"parent {self.parent_id} -> student {self.student_id}"


class ParentInvite(TenantOwnedModel):
    """A one-time code texted to a parent to set their password (docs/parents.md, decision 0023).

    Only a hash of the code is stored. A parent has at most one open invite: a new one voids the last; the code
    ends when used, when it expires, or after too many wrong attempts.
    """

    class VoidReason(models.TextChoices):
        REISSUED = "reissued", "새 코드 발급"
        ATTEMPTS = "attempts", "시도 횟수 초과"
        DEACTIVATED = "deactivated", "계정 비활성화"

    parent = models.ForeignKey(Parent, on_delete=models.CASCADE, related_name="invites")
    code_hash = models.CharField(max_length=128)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=12, choices=VoidReason.choices, blank=True)
    # The text that carried the code (None only if it was never sent).
    send = models.ForeignKey("messaging.MessageSend", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["parent"], condition=models.Q(used_at__isnull=True, voided_at__isnull=True),
                                    name="parent_invite_one_open_per_parent"),
        ]

    def __str__(self):
        return f"invite {self.id} of parent {self.parent_id}"

    @property
    def is_open(self) -> bool:
        return self.used_at is None and self.voided_at is None
