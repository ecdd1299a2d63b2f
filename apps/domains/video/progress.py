"""Watch progress writes (issue 14, docs/video.md "Watch progress", docs/decisions/0025): player heartbeats and the
retention of what they recorded.

A heartbeat costs one SQL statement on Postgres (the API's budget is two per heartbeat, authentication included): it
checks the student may watch the video (the rule of selectors.video_can_watch), upserts the player's device row and
merges the played span into the progress row with `int4multirange` union, all in one statement. On SQLite (`make run`
without Postgres) the same rule runs through progress_rules.py in a short transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.exceptions import NotFoundError

from . import progress_rules as rules
from .models import Video, VideoPlaybackDevice, VideoProgress, VideoState

logger = logging.getLogger(__name__)

# Device rows (one per player session) unseen for this long are deleted: a player resuming later starts a new span.
PLAYBACK_DEVICE_DAYS = 2


@dataclass(frozen=True)
class ProgressState:
    """What a heartbeat answers: the student's progress on the video after it."""

    watched_tenths: int
    last_position: float | None
    last_watched_at: datetime | None
    completed_at: datetime | None
    duration: float | None

    @property
    def watched_seconds(self) -> float:
        return self.watched_tenths / rules.TENTHS

    @property
    def percent(self) -> float | None:
        return rules.percent(self.watched_tenths, self.duration)


def _not_found() -> NotFoundError:
    # Not enrolled, not READY, another academy's or no such video: one answer, so ids reveal nothing.
    return NotFoundError("VIDEO_NOT_FOUND", "볼 수 있는 영상을 찾을 수 없습니다.")


def video_progress_record(*, tenant_id: int, student_id: int, video_id: int, playback_id: uuid.UUID, seq: int,
                          position: float, playing: bool = True, now: datetime | None = None) -> ProgressState:
    """Apply one heartbeat of the student's player `playback_id`; idempotent (a repeated or late seq changes
    nothing and answers the current progress). Raises NotFoundError when the student may not watch the video."""
    now = now or timezone.now()
    params = {"tenant_id": tenant_id, "student_id": student_id, "video_id": video_id, "playback_id": playback_id,
              "seq": seq, "position": float(position), "playing": playing, "now": now}
    if connection.vendor == "postgresql":
        return _record_sql(params)
    return _record_portable(params)


def _heartbeat_sql() -> str:
    from apps.domains.enrollment.models import Enrollment
    from apps.domains.lectures.models import Lecture

    tables = {"video": Video._meta.db_table, "lecture": Lecture._meta.db_table,
              "enrollment": Enrollment._meta.db_table, "device": VideoPlaybackDevice._meta.db_table,
              "progress": VideoProgress._meta.db_table}
    # `durability`: this transaction commits without waiting for its WAL flush (SET LOCAL synchronous_commit=off):
    # a Postgres crash may lose the last few hundred milliseconds of heartbeats, never corrupt anything; the wait
    # was most of a heartbeat's time on a busy disk (docs/decisions/0025). Only ever run in autocommit.
    # `previous` reads the statement's snapshot, before `device` writes: the device's last accepted heartbeat. Two
    # concurrent heartbeats of one player can both read it; each then adds a span the rule accepts from it, and
    # the union counts a span once (docs/decisions/0025).
    merged = "({progress}.watched::int4multirange + (SELECT span FROM played))"
    sql = """
WITH allowed AS (
    SELECT v.id AS video_id, v.tenant_id, v.duration_seconds AS duration,
           CASE WHEN v.duration_seconds IS NULL THEN %(position)s::float8
                ELSE LEAST(%(position)s::float8, v.duration_seconds) END AS position
    FROM {video} v
    JOIN {lecture} l ON l.id = v.lecture_id AND l.archived_at IS NULL
    JOIN {enrollment} e ON e.lecture_id = v.lecture_id AND e.student_id = %(student_id)s AND e.status = 'ACTIVE'
    WHERE v.id = %(video_id)s AND v.tenant_id = %(tenant_id)s AND v.state = 'READY'
),
previous AS (
    SELECT d.seq, d.position, d.playing, d.seen_at
    FROM {device} d JOIN allowed a ON d.video_id = a.video_id
    WHERE d.student_id = %(student_id)s AND d.playback_id = %(playback_id)s
),
durability AS (
    SELECT set_config('synchronous_commit', 'off', true)
),
device AS (
    INSERT INTO {device} (tenant_id, video_id, student_id, playback_id, seq, position, playing, seen_at)
    SELECT a.tenant_id, a.video_id, %(student_id)s, %(playback_id)s, %(seq)s, a.position, %(playing)s, %(now)s
    FROM allowed a, durability
    ON CONFLICT (video_id, student_id, playback_id) DO UPDATE
        SET seq = EXCLUDED.seq, position = EXCLUDED.position, playing = EXCLUDED.playing, seen_at = EXCLUDED.seen_at
        WHERE {device}.seq < EXCLUDED.seq
    RETURNING 1
),
played AS (
    SELECT a.tenant_id, a.video_id, a.duration, a.position,
           CASE WHEN p.playing AND a.position > p.position
                     AND a.position - p.position <= %(rate)s::float8 * LEAST(GREATEST(
                         EXTRACT(EPOCH FROM (%(now)s - p.seen_at))::float8, 0), %(gap)s::float8) + %(slack)s::float8
                THEN int4multirange(int4range(floor(p.position * %(tenths)s)::int,
                                              floor(a.position * %(tenths)s)::int))
                ELSE '{{}}'::int4multirange END AS span
    FROM allowed a LEFT JOIN previous p ON true
    WHERE EXISTS (SELECT 1 FROM device)
),
progress AS (
    INSERT INTO {progress} (tenant_id, video_id, student_id, watched, watched_tenths, last_position,
                            last_watched_at, completed_at, inactive_since, created_at)
    SELECT pl.tenant_id, pl.video_id, %(student_id)s, pl.span::text, t.total, pl.position, %(now)s,
           CASE WHEN pl.duration > 0 AND t.total >= %(complete)s * pl.duration THEN %(now)s END, NULL, %(now)s
    FROM played pl, LATERAL (SELECT COALESCE(SUM(upper(r) - lower(r)), 0) AS total FROM unnest(pl.span) r) t
    ON CONFLICT (video_id, student_id) DO UPDATE SET
        watched = MERGED::text,
        watched_tenths = (SELECT COALESCE(SUM(upper(r) - lower(r)), 0) FROM unnest(MERGED) r),
        last_position = EXCLUDED.last_position,
        last_watched_at = EXCLUDED.last_watched_at,
        completed_at = COALESCE({progress}.completed_at, CASE
            WHEN (SELECT duration FROM played) > 0
                 AND (SELECT COALESCE(SUM(upper(r) - lower(r)), 0) FROM unnest(MERGED) r)
                     >= %(complete)s * (SELECT duration FROM played)
            THEN %(now)s END),
        inactive_since = NULL
    RETURNING watched_tenths, last_position, last_watched_at, completed_at
)
SELECT p.watched_tenths, p.last_position, p.last_watched_at, p.completed_at, (SELECT duration FROM allowed)
FROM progress p
UNION ALL
SELECT o.watched_tenths, o.last_position, o.last_watched_at, o.completed_at, a.duration
FROM allowed a LEFT JOIN {progress} o ON o.video_id = a.video_id AND o.student_id = %(student_id)s
WHERE NOT EXISTS (SELECT 1 FROM device)
"""
    return sql.replace("MERGED", merged).format(**tables)


_SQL: str | None = None


def _record_sql(params: dict) -> ProgressState:
    global _SQL
    if _SQL is None:
        _SQL = _heartbeat_sql()
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {**params, "rate": rules.MAX_RATE, "gap": rules.MAX_GAP_SECONDS,
                              "slack": rules.SLACK_SECONDS, "tenths": rules.TENTHS,
                              "complete": rules.COMPLETE_TENTHS_PER_SECOND})
        row = cursor.fetchone()
    if row is None:
        raise _not_found()
    watched, last_position, last_watched_at, completed_at, duration = row
    return ProgressState(watched_tenths=watched or 0, last_position=last_position, last_watched_at=last_watched_at,
                         completed_at=completed_at, duration=duration)


def _record_portable(params: dict) -> ProgressState:
    """The same heartbeat through the ORM and progress_rules (SQLite; also run on Postgres by the tests)."""
    from apps.domains.enrollment.models import EnrollmentStatus

    student_id, now = params["student_id"], params["now"]
    with transaction.atomic():
        video = Video.objects.filter(
            id=params["video_id"], tenant_id=params["tenant_id"], state=VideoState.READY,
            lecture__archived_at__isnull=True, lecture__enrollments__student_id=student_id,
            lecture__enrollments__status=EnrollmentStatus.ACTIVE,
        ).values("id", "tenant_id", "duration_seconds").first()
        if video is None:
            raise _not_found()
        duration = video["duration_seconds"]
        beat = rules.Beat(seq=params["seq"], position=rules.clamp(params["position"], duration),
                          playing=params["playing"], at=now)
        device = VideoPlaybackDevice.objects.select_for_update().filter(
            video_id=video["id"], student_id=student_id, playback_id=params["playback_id"]).first()
        previous = (rules.Beat(seq=device.seq, position=device.position, playing=device.playing, at=device.seen_at)
                    if device else None)
        progress = VideoProgress.objects.select_for_update().filter(video_id=video["id"],
                                                                    student_id=student_id).first()
        if not rules.accepts(previous, beat):
            return _state(progress, duration)
        if device is None:
            device = VideoPlaybackDevice(tenant_id=video["tenant_id"], video_id=video["id"], student_id=student_id,
                                         playback_id=params["playback_id"])
        device.seq, device.position, device.playing, device.seen_at = beat.seq, beat.position, beat.playing, now
        device.save()
        span = rules.played_span(previous, beat)
        if progress is None:
            progress = VideoProgress(tenant_id=video["tenant_id"], video_id=video["id"], student_id=student_id)
        watched = rules.union(rules.from_text(progress.watched), [span] if span else [])
        progress.watched, progress.watched_tenths = rules.to_text(watched), rules.total(watched)
        progress.last_position, progress.last_watched_at, progress.inactive_since = beat.position, now, None
        if progress.completed_at is None and rules.is_complete(progress.watched_tenths, duration):
            progress.completed_at = now
        progress.save()
    return _state(progress, duration)


def _state(progress: VideoProgress | None, duration: float | None) -> ProgressState:
    if progress is None:
        return ProgressState(watched_tenths=0, last_position=None, last_watched_at=None, completed_at=None,
                             duration=duration)
    return ProgressState(watched_tenths=progress.watched_tenths, last_position=progress.last_position,
                         last_watched_at=progress.last_watched_at, completed_at=progress.completed_at,
                         duration=duration)


@transaction.atomic
def video_progress_purge(*, now: datetime | None = None) -> dict:
    """The daily retention task (docs/decisions/0025).

    Progress lives while the student's enrollment in the video's lecture is ACTIVE (and the student not deleted);
    the first daily pass that finds it otherwise stamps `inactive_since`, a later pass that finds it ACTIVE again
    clears it, and rows inactive for VIDEO_PROGRESS_RETENTION_DAYS are deleted. Device rows go after
    PLAYBACK_DEVICE_DAYS without a heartbeat.
    """
    from django.db.models import Exists, OuterRef

    from apps.domains.enrollment.models import Enrollment, EnrollmentStatus

    now = now or timezone.now()
    alive = Enrollment.objects.filter(lecture_id=OuterRef("video__lecture_id"), student_id=OuterRef("student_id"),
                                      status=EnrollmentStatus.ACTIVE, student__deleted_at__isnull=True)
    revived = VideoProgress.objects.filter(inactive_since__isnull=False).filter(Exists(alive)).update(
        inactive_since=None)
    ended = VideoProgress.objects.filter(inactive_since__isnull=True).exclude(Exists(alive)).update(
        inactive_since=now)
    cutoff = now - timedelta(days=settings.VIDEO_PROGRESS_RETENTION_DAYS)
    deleted, _ = VideoProgress.objects.filter(inactive_since__lt=cutoff).delete()
    devices, _ = VideoPlaybackDevice.objects.filter(seen_at__lt=now - timedelta(days=PLAYBACK_DEVICE_DAYS)).delete()
    outcome = {"ended": ended, "revived": revived, "deleted": deleted, "devices_deleted": devices}
    logger.info("video_progress_purged", extra=outcome)
    return outcome
