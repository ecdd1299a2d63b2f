"""Video reads (ARCHITECTURE §4 Video): lists for staff, who may watch, and the transcode concurrency gate."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

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


def _holding_batch() -> QuerySet[Job]:
    # A job holds a Batch slot from its submit (QUEUED with an external id) until it ends.
    return Job.objects.filter(kind=TRANSCODE_KIND).filter(
        Q(state=JobState.RUNNING) | (Q(state=JobState.QUEUED) & ~Q(external_id=""))
    )


def video_transcode_slot_open(job: Job) -> bool:
    """The dispatch gate of `video_transcode`: below VIDEO_MAX_RUNNING_PER_TENANT and VIDEO_MAX_RUNNING_GLOBAL."""
    others = _holding_batch().exclude(id=job.id)
    if others.filter(tenant_id=job.tenant_id).count() >= settings.VIDEO_MAX_RUNNING_PER_TENANT:
        return False
    return others.count() < settings.VIDEO_MAX_RUNNING_GLOBAL


def video_transcode_backlog_count() -> int:
    """QUEUED + RUNNING transcodes of every tenant: what the scaling Lambda reads."""
    return Job.objects.filter(kind=TRANSCODE_KIND, state__in=[JobState.QUEUED, JobState.RUNNING]).count()
