"""ARCHITECTURE §2, the job contract: one Job row per unit of background work, created before any dispatch."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TenantOwnedModel


class JobState(models.TextChoices):
    QUEUED = "QUEUED", "대기 중"
    RUNNING = "RUNNING", "실행 중"
    DONE = "DONE", "완료"
    FAILED = "FAILED", "실패"
    DEAD = "DEAD", "중단됨"
    CANCELLED = "CANCELLED", "취소됨"


TERMINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.DEAD, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})


class JobBackend(models.TextChoices):
    QUEUE = "queue", "큐"
    BATCH = "batch", "배치"
    LOCAL = "local", "로컬"


class Job(TenantOwnedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # What the failure's code refers to (an import's per-row reasons); set and cleared with error_code.
    error_details = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Nothing dispatches the job before this (retry backoff, scheduled work); NULL = due now.
    not_before = models.DateTimeField(null=True, blank=True)
    backend = models.CharField(max_length=10, choices=JobBackend.choices, blank=True, default="")
    queue = models.CharField(max_length=200, blank=True, default="")
    external_id = models.CharField(max_length=200, blank=True, default="")
    # NULL, not "", for "no key": the unique constraint only covers rows that have one.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Transitions are QuerySet.update() calls, which skip auto_now: each one sets updated_at itself.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The admin list: one tenant's jobs of a kind, newest first.
            models.Index(fields=["tenant", "kind", "created_at"], name="jobs_tenant_kind_created"),
            # The scanner: RUNNING jobs whose heartbeat is old.
            models.Index(fields=["state", "heartbeat_at"], name="jobs_state_heartbeat"),
            # The scanner: QUEUED jobs whose dispatch never got an external id.
            models.Index(fields=["state", "external_id"], name="jobs_state_external"),
            # The scheduler: QUEUED jobs that have come due.
            models.Index(fields=["state", "not_before"], name="jobs_state_not_before"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="jobs_unique_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100), name="jobs_progress_0_100"),
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="jobs_state_valid"),
        ]

    def __str__(self):
        return f"{self.kind} {self.id} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES
