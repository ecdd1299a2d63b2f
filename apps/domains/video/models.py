"""Lecture videos (ARCHITECTURE §4 Video): one row per upload, from direct upload to a playable HLS ladder."""

from django.conf import settings
from django.db import models

from apps.core.models import TenantOwnedModel

VIDEO_BUCKET = "video"  # the logical storage bucket of raw uploads and HLS trees
TRANSCODE_KIND = "video_transcode"  # the Job kind of a transcode


class VideoState(models.TextChoices):
    PENDING_UPLOAD = "PENDING_UPLOAD", "업로드 대기"
    UPLOADED = "UPLOADED", "업로드 완료"
    PROCESSING = "PROCESSING", "변환 중"
    READY = "READY", "재생 가능"
    FAILED = "FAILED", "실패"
    DELETED = "DELETED", "삭제됨"


class Video(TenantOwnedModel):
    title = models.CharField(max_length=200)
    # PROTECT: a video left without its lecture could never be attached again; lecture_purge refuses live videos.
    lecture = models.ForeignKey(
        "lectures.Lecture", null=True, blank=True, on_delete=models.PROTECT, related_name="videos"
    )
    session = models.ForeignKey(
        "lectures.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="videos"
    )
    filename = models.CharField(max_length=255)  # as the uploader named it
    safe_filename = models.CharField(max_length=150)  # ASCII, used in the raw object key
    size = models.BigIntegerField()  # declared by the uploader, checked against the stored object later
    content_type = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=VideoState.choices, default=VideoState.PENDING_UPLOAD)
    raw_key = models.CharField(max_length=1024, blank=True, default="")
    hls_prefix = models.CharField(max_length=1024, blank=True, default="")
    upload_id = models.CharField(max_length=1024, blank=True, default="")  # multipart upload in progress, else ""
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    renditions = models.JSONField(default=list, blank=True)
    thumbnail_key = models.CharField(max_length=1024, blank=True, default="")
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # The transcode Job's id; a plain UUID until the job spine's model is wired in.
    current_job_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "state"], name="video_tenant_state_idx"),
            models.Index(fields=["tenant", "lecture"], name="video_tenant_lecture_idx"),
        ]

    def __str__(self):
        return f"{self.title} ({self.state})"


class VideoProgress(TenantOwnedModel):
    """How much of a video one student played (issue 14): the union of content played, in tenths of a second.

    Written by heartbeats only (apps/domains/video/progress.py). Kept while the student's enrollment in the lecture
    is ACTIVE and VIDEO_PROGRESS_RETENTION_DAYS after (`inactive_since`, docs/decisions/0025).
    """

    # The unique (video, student) index serves lookups by video: no index of its own.
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="progress", db_index=False)
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="video_progress")
    # The text of a Postgres int4multirange of tenths of a second: "{[0,600),[900,1200)}" (progress_rules.py).
    watched = models.TextField(default="{}")
    watched_tenths = models.PositiveIntegerField(default=0)  # the total length of `watched`
    last_position = models.FloatField(default=0)  # seconds: the latest accepted heartbeat's, where playback resumes
    last_watched_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)  # set once, when 90% was first reached
    # Set by the daily retention task when the enrollment is found no longer ACTIVE, cleared if it is again.
    inactive_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        # No index on a column a heartbeat changes, so its update stays a heap-only (HOT) one.
        constraints = [models.UniqueConstraint(fields=["video", "student"], name="uniq_video_progress")]

    def __str__(self):
        return f"{self.student_id}@{self.video_id}: {self.watched_tenths / 10:g}s"


class VideoPlaybackDevice(TenantOwnedModel):
    """The last accepted heartbeat of one player session (playback id) of a student on a video.

    Short-lived: rows unseen for PLAYBACK_DEVICE_DAYS are deleted by the daily retention task, which scans this
    small table. The unique index is its only one besides the key: a heartbeat's update changes no indexed column and
    stays heap-only (HOT).
    """

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+", db_index=False)
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="+", db_index=False)
    playback_id = models.UUIDField()
    seq = models.BigIntegerField()
    position = models.FloatField()
    playing = models.BooleanField()
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "student", "playback_id"],
                                               name="uniq_video_playback_device")]

    def __str__(self):
        return f"{self.student_id}@{self.video_id}/{self.playback_id}#{self.seq}"
