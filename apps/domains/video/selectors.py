"""Video reads (ARCHITECTURE §4 Video): lists for staff, who may watch, and the transcode backlog."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.jobs.models import Job, JobState

from .models import TRANSCODE_KIND, Video, VideoState


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


def video_transcode_backlog_count() -> int:
    """QUEUED + RUNNING transcodes of every tenant: what the scaling Lambda reads."""
    return Job.objects.filter(kind=TRANSCODE_KIND, state__in=[JobState.QUEUED, JobState.RUNNING]).count()
