"""Video reads (ARCHITECTURE §4 Video): lists for staff, who may watch, and the transcode backlog."""

from __future__ import annotations

from django.db.models import F, FilteredRelation, Q, QuerySet

from apps.jobs.models import Job, JobState

from .models import TRANSCODE_KIND, Video, VideoProgress, VideoState


def video_list(*, tenant, lecture_id: int | None = None, state: str | None = None) -> QuerySet[Video]:
    """A tenant's videos, newest first; DELETED rows are kept for the record but never listed."""
    queryset = Video.objects.filter(tenant=tenant).exclude(state=VideoState.DELETED).select_related("lecture")
    if lecture_id is not None:
        queryset = queryset.filter(lecture_id=lecture_id)
    if state:
        queryset = queryset.filter(state=state)
    return queryset


def video_can_watch(*, video: Video, user) -> bool:
    """Staff of the video's tenant, or a student with an ACTIVE enrollment in its lecture (a session's lecture).

    Not while the lecture is archived (docs/decisions/0005): the admin asked for it to be gone; restoring it gives
    its students their videos back.
    """
    if user.tenant_id != video.tenant_id:
        return False
    if user.is_tenant_staff:
        return True
    if video.lecture_id is None:
        return False
    from apps.domains.enrollment.models import Enrollment, EnrollmentStatus

    return Enrollment.objects.filter(
        tenant_id=video.tenant_id, lecture_id=video.lecture_id, status=EnrollmentStatus.ACTIVE,
        student__user=user, student__deleted_at__isnull=True, lecture__archived_at__isnull=True,
    ).exists()


def video_list_for_student(*, tenant, student_id: int) -> QuerySet[Video]:
    """READY videos of the lectures the student is ACTIVE in (not archived), newest first, each with the student's
    progress columns (`p_*`, None when never played) joined: one query per page, whatever the page size."""
    from apps.domains.enrollment.models import EnrollmentStatus

    return (
        Video.objects.filter(
            tenant=tenant, state=VideoState.READY, lecture__archived_at__isnull=True,
            lecture__enrollments__student_id=student_id, lecture__enrollments__status=EnrollmentStatus.ACTIVE)
        .select_related("lecture", "session")
        .annotate(mine=FilteredRelation("progress", condition=Q(progress__student_id=student_id)))
        .annotate(p_watched_tenths=F("mine__watched_tenths"), p_last_position=F("mine__last_position"),
                  p_last_watched_at=F("mine__last_watched_at"), p_completed_at=F("mine__completed_at"))
        .order_by("-id")
    )


def video_viewers(*, video: Video):
    """The viewing report of a video: every ACTIVE, live student of its lecture, with their progress columns
    (`p_*`, None when they never played it). One query per page."""
    from apps.domains.enrollment.models import EnrollmentStatus
    from apps.domains.students.models import Student

    if video.lecture_id is None:
        return Student.objects.none()
    return (
        Student.objects.filter(tenant_id=video.tenant_id, deleted_at__isnull=True,
                               enrollments__lecture_id=video.lecture_id,
                               enrollments__status=EnrollmentStatus.ACTIVE)
        .annotate(seen=FilteredRelation("video_progress", condition=Q(video_progress__video_id=video.id)))
        .annotate(p_watched_tenths=F("seen__watched_tenths"), p_last_position=F("seen__last_position"),
                  p_last_watched_at=F("seen__last_watched_at"), p_completed_at=F("seen__completed_at"))
    )


def video_resume_position(*, video: Video, student_id: int) -> float | None:
    """Where the student's player should start: their latest position, or None (never played, or at the end)."""
    from . import progress_rules

    position = (VideoProgress.objects.filter(video_id=video.id, student_id=student_id)
                .values_list("last_position", flat=True).first())
    if position is None or (video.duration_seconds is not None
                            and position >= video.duration_seconds - progress_rules.RESUME_END_SECONDS):
        return None
    return position


def video_transcode_backlog_count() -> int:
    """QUEUED + RUNNING transcodes of every tenant: what the scaling Lambda reads."""
    return Job.objects.filter(kind=TRANSCODE_KIND, state__in=[JobState.QUEUED, JobState.RUNNING]).count()
