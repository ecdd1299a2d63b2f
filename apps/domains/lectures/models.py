"""Lectures and their sessions (ARCHITECTURE §6 domains/lectures)."""

from django.conf import settings
from django.db import models

from apps.core.models import TenantOwnedModel


class Lecture(TenantOwnedModel):
    title = models.CharField(max_length=200)
    subject = models.CharField(max_length=100, blank=True, default="")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="lectures"
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the lecture is archived (docs/decisions/0005): hidden from the list, its records kept, read-only.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "title"], name="lecture_tenant_title_idx")]

    def __str__(self):
        return self.title


class Session(TenantOwnedModel):
    # PROTECT: a stray lecture delete must not take the sessions' attendance with it; lecture_purge deletes in order.
    lecture = models.ForeignKey(Lecture, on_delete=models.PROTECT, related_name="sessions")
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=200, blank=True, default="")
    date = models.DateField(null=True, blank=True)
    # Optional class hours (the calendar of /api/v1/me/sessions/), in the academy's time zone.
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["lecture_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "order"], name="uniq_session_order"),
            models.CheckConstraint(
                condition=models.Q(start_time__isnull=True) | models.Q(end_time__isnull=True)
                | models.Q(end_time__gt=models.F("start_time")),
                name="session_end_after_start"),
        ]

    def __str__(self):
        return f"{self.lecture_id}#{self.order} {self.title}"
