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
