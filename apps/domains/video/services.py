"""Video writes (ARCHITECTURE §4 Video): creation with up-front validation, and guarded state transitions.

Every transition is one `UPDATE ... WHERE state IN (...)`: of two callers racing, exactly one wins, and a terminal
or later state is never overwritten by an earlier one (a READY video does not go back to PROCESSING).
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import DomainError, NotFoundError

from .models import Video, VideoState

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".3gp", ".ogv",
})
GENERIC_CONTENT_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", ""})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 100


@dataclass(frozen=True)
class VideoTransition:
    won: bool
    video: Video


def safe_filename(filename: str) -> str:
    """ASCII-only, no path, no leading dots; the extension (lower-cased) kept. "강의 1.MP4" → "1.mp4"."""
    base = re.split(r"[\\/]", filename or "")[-1]
    stem, ext = os.path.splitext(base)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    clean_stem = _UNSAFE.sub("_", ascii_stem).strip("._-")[:_MAX_STEM].strip("._-") or "video"
    clean_ext = _UNSAFE.sub("", ext.lower())[:10]
    if clean_ext and not clean_ext.startswith("."):
        clean_ext = "." + clean_ext
    return clean_stem + (clean_ext if clean_ext != "." else "")


def video_raw_key(*, tenant_id: int, video_id: int, filename: str) -> str:
    return f"tenants/{tenant_id}/video/raw/{video_id}/{filename}"


def video_hls_prefix(*, tenant_id: int, video_id: int) -> str:
    return f"tenants/{tenant_id}/video/hls/{video_id}/"


def _validate_upload(*, filename: str, size: int, content_type: str) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise DomainError("VIDEO_INVALID_SIZE", "파일 크기가 올바르지 않습니다.")
    limit = settings.VIDEO_MAX_UPLOAD_BYTES
    if size > limit:
        raise DomainError("VIDEO_TOO_LARGE", f"영상 파일은 최대 {limit / 1024**3:g}GB까지 올릴 수 있습니다.",
                          details={"max_bytes": limit, "size": size})
    ext = os.path.splitext(filename or "")[1].lower()
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind.startswith("video/"):
        return
    if kind in GENERIC_CONTENT_TYPES and ext in VIDEO_EXTENSIONS:
        return
    raise DomainError("VIDEO_INVALID_TYPE", "영상 파일만 올릴 수 있습니다.",
                      details={"content_type": content_type, "filename": filename})


@transaction.atomic
def video_create(*, tenant, created_by, title: str, lecture, session, filename: str, size: int,
                 content_type: str) -> Video:
    """A PENDING_UPLOAD video with its raw key and HLS prefix; refuses bad size/type before any upload starts."""
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise DomainError("VIDEO_TITLE_REQUIRED", "제목을 1~200자로 입력해 주세요.")
    if lecture is None and session is None:
        raise DomainError("VIDEO_TARGET_REQUIRED", "강의 또는 회차를 지정해 주세요.")
    if lecture is not None and lecture.tenant_id != tenant.id:
        raise NotFoundError("LECTURE_NOT_FOUND", "강의를 찾을 수 없습니다.")
    if session is not None:
        if session.tenant_id != tenant.id:
            raise NotFoundError("SESSION_NOT_FOUND", "회차를 찾을 수 없습니다.")
        if lecture is not None and session.lecture_id != lecture.id:
            raise DomainError("VIDEO_SESSION_MISMATCH", "회차가 해당 강의에 속하지 않습니다.")
        lecture = lecture or session.lecture
    _validate_upload(filename=filename, size=size, content_type=content_type)

    video = Video.objects.create(
        tenant=tenant, created_by=created_by, title=title, lecture=lecture, session=session,
        filename=(filename or "")[:255], safe_filename=safe_filename(filename), size=size,
        content_type=(content_type or "application/octet-stream")[:100],
    )
    video.raw_key = video_raw_key(tenant_id=tenant.id, video_id=video.id, filename=video.safe_filename)
    video.hls_prefix = video_hls_prefix(tenant_id=tenant.id, video_id=video.id)
    video.save(update_fields=["raw_key", "hls_prefix"])
    return video


def _transition(video: Video, from_states: tuple[str, ...], **fields) -> VideoTransition:
    fields["updated_at"] = timezone.now()
    won = Video.objects.filter(pk=video.pk, state__in=from_states).update(**fields) == 1
    video.refresh_from_db()
    return VideoTransition(won=won, video=video)


def video_set_upload_id(*, video: Video, upload_id: str) -> VideoTransition:
    return _transition(video, (VideoState.PENDING_UPLOAD,), upload_id=upload_id)


def video_mark_uploaded(*, video: Video, job_id: uuid.UUID | None = None) -> VideoTransition:
    fields = {"state": VideoState.UPLOADED, "upload_id": ""}
    if job_id is not None:
        fields["current_job_id"] = job_id
    return _transition(video, (VideoState.PENDING_UPLOAD,), **fields)


def video_mark_processing(*, video: Video, job_id: uuid.UUID | None = None) -> VideoTransition:
    """UPLOADED → PROCESSING; a second attempt of the same transcode re-enters PROCESSING."""
    fields = {"state": VideoState.PROCESSING}
    if job_id is not None:
        fields["current_job_id"] = job_id
    return _transition(video, (VideoState.UPLOADED, VideoState.PROCESSING), **fields)


def video_mark_ready(*, video: Video, renditions: list[dict], duration: float, width: int | None = None,
                     height: int | None = None, thumbnail_key: str = "") -> VideoTransition:
    return _transition(
        video, (VideoState.UPLOADED, VideoState.PROCESSING),
        state=VideoState.READY, renditions=renditions, duration_seconds=duration, width=width, height=height,
        thumbnail_key=thumbnail_key, error_code="", error_message="",
    )


def video_mark_failed(*, video: Video, code: str, message: str) -> VideoTransition:
    return _transition(
        video, (VideoState.PENDING_UPLOAD, VideoState.UPLOADED, VideoState.PROCESSING),
        state=VideoState.FAILED, error_code=code[:50], error_message=message,
    )


def video_reset_for_retry(*, video: Video, job_id: uuid.UUID | None = None) -> VideoTransition:
    """FAILED → UPLOADED for a new transcode attempt of the same raw upload."""
    return _transition(video, (VideoState.FAILED,), state=VideoState.UPLOADED, error_code="", error_message="",
                       current_job_id=job_id)


def video_mark_deleted(*, video: Video) -> VideoTransition:
    live = tuple(s for s in VideoState.values if s != VideoState.DELETED)
    return _transition(video, live, state=VideoState.DELETED, upload_id="")
