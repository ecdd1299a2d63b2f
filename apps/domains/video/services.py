"""Video writes (ARCHITECTURE §4 Video): creation with up-front validation, and guarded state transitions.

Every transition is one `UPDATE ... WHERE state IN (...)`: of two callers racing, exactly one wins, and a terminal
or later state is never overwritten by an earlier one (a READY video does not go back to PROCESSING).
"""

from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError, ServiceUnavailableError
from apps.domains.lectures.selectors import lecture_ensure_not_archived

from .models import TRANSCODE_KIND, VIDEO_BUCKET, Video, VideoState

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".3gp", ".ogv",
})
GENERIC_CONTENT_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", ""})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 100

logger = logging.getLogger(__name__)


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
    # Under one top-level prefix, so one R2 lifecycle rule expires every academy's raw uploads (docs/video.md §4).
    return f"raw/tenants/{tenant_id}/video/{video_id}/{filename}"


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
    lecture_ensure_not_archived(lecture=lecture)
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


def video_mark_uploaded(*, video: Video, job_id: uuid.UUID | None = None, **probed) -> VideoTransition:
    """PENDING_UPLOAD → UPLOADED; `probed` carries what the probe measured (duration_seconds, width, height)."""
    fields = {"state": VideoState.UPLOADED, "upload_id": "", **probed}
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


# ---------------------------------------------------------------------------
# Direct upload, upload_complete, retry, deletion (the HTTP flows of ARCHITECTURE §4 Video)
# ---------------------------------------------------------------------------
MAX_PARTS = 10_000  # S3 and R2 limit per multipart upload
PROBE_URL_MARGIN_SECONDS = 60
PARTS_MISSING_MESSAGE = "업로드가 끝나지 않았습니다. 모든 조각을 올린 뒤 다시 시도해 주세요."
LIVE_STATES = (VideoState.UPLOADED, VideoState.PROCESSING, VideoState.READY)


class VideoEnqueueError(ServiceUnavailableError):
    default_code = "VIDEO_ENQUEUE_FAILED"
    default_message = "비디오 작업 큐 등록 실패"


class VideoStorageError(ServiceUnavailableError):
    default_code = "VIDEO_STORAGE_UNAVAILABLE"
    default_message = "영상 저장소에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


@dataclass(frozen=True)
class UploadPart:
    part_number: int
    url: str


@dataclass(frozen=True)
class UploadInstructions:
    """What the browser does next: one PUT of the whole file to `url`, or one PUT per part to each part's url."""

    kind: str  # "single" | "multipart"
    expires_at: datetime
    url: str = ""
    headers: dict = field(default_factory=dict)
    upload_id: str = ""
    part_size: int = 0
    part_count: int = 0
    parts: list[UploadPart] = field(default_factory=list)


def _storage():
    from apps.integrations.storage import get_storage

    return get_storage()


def _expires_at(seconds: int) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def video_part_size(*, size: int) -> int:
    """The configured part size, grown when needed so no upload needs more than 10,000 parts."""
    return max(settings.VIDEO_PART_SIZE_BYTES, math.ceil(size / MAX_PARTS))


def video_raw_prefix(*, video: Video) -> str:
    """The folder of the video's raw upload, taken from its stored key: uploads made before the move to `raw/`
    (tenants/{t}/video/raw/{id}/…) are found where they are."""
    if video.raw_key:
        return video.raw_key.rsplit("/", 1)[0] + "/"
    return video_raw_key(tenant_id=video.tenant_id, video_id=video.id, filename="")


def video_upload_start(*, tenant, created_by, title: str, lecture, session, filename: str, size: int,
                       content_type: str) -> tuple[Video, UploadInstructions]:
    """`video_create` plus the direct upload: multipart above VIDEO_MULTIPART_THRESHOLD_BYTES, else one PUT."""
    from apps.integrations.storage import StorageError

    video = video_create(tenant=tenant, created_by=created_by, title=title, lecture=lecture, session=session,
                         filename=filename, size=size, content_type=content_type)
    expires = settings.VIDEO_UPLOAD_URL_EXPIRES_SECONDS
    storage = _storage()
    try:
        if size <= settings.VIDEO_MULTIPART_THRESHOLD_BYTES:
            url = storage.presign_put(VIDEO_BUCKET, video.raw_key, expires=expires, content_type=video.content_type)
            return video, UploadInstructions(kind="single", url=url, headers={"Content-Type": video.content_type},
                                             expires_at=_expires_at(expires))
        upload_id = storage.create_multipart(VIDEO_BUCKET, video.raw_key, content_type=video.content_type)
        video = video_set_upload_id(video=video, upload_id=upload_id).video
        part_size = video_part_size(size=size)
        part_count = math.ceil(size / part_size)
        parts = _sign_parts(video, range(1, part_count + 1), expires)
    except StorageError:
        video_mark_failed(video=video, code="VIDEO_STORAGE_UNAVAILABLE", message=VideoStorageError.default_message)
        raise VideoStorageError(details={"video_id": video.id})
    return video, UploadInstructions(kind="multipart", upload_id=upload_id, part_size=part_size,
                                     part_count=part_count, parts=parts, expires_at=_expires_at(expires))


def _sign_parts(video: Video, numbers, expires: int) -> list[UploadPart]:
    storage = _storage()
    return [
        UploadPart(part_number=n, url=storage.presign_part(VIDEO_BUCKET, video.raw_key, upload_id=video.upload_id,
                                                           part_number=n, expires=expires))
        for n in numbers
    ]


def _require_pending_upload(video: Video) -> None:
    if video.state != VideoState.PENDING_UPLOAD:
        raise ConflictError("VIDEO_UPLOAD_CLOSED", "업로드를 진행할 수 없는 상태의 영상입니다.",
                            details={"state": video.state})


def video_upload_sign_parts(*, video: Video, part_numbers: list[int]) -> tuple[list[UploadPart], datetime]:
    """Fresh presigned URLs for the given parts of a multipart upload still in progress."""
    from apps.integrations.storage import StorageError

    _require_pending_upload(video)
    if not video.upload_id:
        raise ConflictError("VIDEO_UPLOAD_NOT_MULTIPART", "분할 업로드 중인 영상이 아닙니다.")
    part_count = math.ceil(video.size / video_part_size(size=video.size))
    wrong = sorted({n for n in part_numbers if not 1 <= n <= part_count})
    if wrong:
        raise DomainError("VIDEO_INVALID_PART_NUMBER", f"조각 번호는 1~{part_count} 사이여야 합니다.",
                          details={"part_numbers": wrong, "part_count": part_count})
    expires = settings.VIDEO_UPLOAD_URL_EXPIRES_SECONDS
    try:
        return _sign_parts(video, sorted(set(part_numbers)), expires), _expires_at(expires)
    except StorageError:
        raise VideoStorageError(details={"video_id": video.id})


def video_upload_abort(*, video: Video) -> Video:
    """Abandons an upload in progress: the multipart upload is aborted and the video DELETED.

    DELETED rather than FAILED: an aborted upload has no content, and a FAILED video would offer a retry that
    could never work.
    """
    from apps.integrations.storage import StorageError

    _require_pending_upload(video)
    storage = _storage()
    try:
        if video.upload_id:
            storage.abort_multipart(VIDEO_BUCKET, video.raw_key, upload_id=video.upload_id)
        storage.delete_prefix(VIDEO_BUCKET, video_raw_prefix(video=video))
    except StorageError:
        raise VideoStorageError(details={"video_id": video.id})
    return video_mark_deleted(video=video).video


def _reject_upload(video: Video, code: str, message: str, *, details: dict | None = None) -> DomainError:
    """The upload is unusable: the video FAILED with the code, the raw object deleted. Returns the error to raise."""
    from apps.integrations.storage import StorageError

    video_mark_failed(video=video, code=code, message=message)
    try:
        _storage().delete(VIDEO_BUCKET, video.raw_key)
    except StorageError:
        logger.exception("video_raw_delete_failed", extra={"video_id": video.id, "tenant_id": video.tenant_id})
    return DomainError(code, message, details={"video_id": video.id, **(details or {})})


def _complete_multipart(video: Video, parts: list[dict]) -> None:
    from apps.integrations.storage import ObjectNotFound, StorageError

    if not parts:
        raise DomainError("VIDEO_PARTS_REQUIRED", "분할 업로드를 마치려면 조각 목록(parts)이 필요합니다.")
    storage = _storage()
    try:
        storage.complete_multipart(VIDEO_BUCKET, video.raw_key, upload_id=video.upload_id, parts=parts)
    except ObjectNotFound:
        # The upload is gone: completed by a concurrent call (the object exists) or aborted (it does not).
        if not storage.exists(VIDEO_BUCKET, video.raw_key):
            raise ConflictError("VIDEO_UPLOAD_INCOMPLETE", PARTS_MISSING_MESSAGE)
    except StorageError as exc:
        raise ConflictError("VIDEO_UPLOAD_INCOMPLETE", PARTS_MISSING_MESSAGE, details={"reason": str(exc)[:300]})
    _transition(video, (VideoState.PENDING_UPLOAD,), upload_id="")


def _probe_raw(video: Video):
    from . import media
    from .transcode import probe_limits_from_settings

    timeout = settings.VIDEO_PROBE_TIMEOUT_SECONDS
    url = _storage().presign_get(VIDEO_BUCKET, video.raw_key, expires=timeout + PROBE_URL_MARGIN_SECONDS)
    return media.probe(url, timeout=timeout, limits=probe_limits_from_settings())


def video_upload_complete(*, video: Video, parts: list[dict] | None = None, created_by=None):
    """Checks the uploaded object and submits its transcode; returns the Job. Safe to call again: same Job.

    Deliberately not atomic: the storage calls and ffprobe must not hold a transaction, and the job is submitted
    outside one so a Batch refusal reaches the caller as VIDEO_ENQUEUE_FAILED (503) with the job left QUEUED.
    """
    from apps.integrations.storage import StorageError

    from . import media

    if video.state in LIVE_STATES and video.current_job_id:
        return _ensure_job(video, created_by=created_by)
    _require_pending_upload(video)
    try:
        if video.upload_id:
            _complete_multipart(video, parts or [])
        info = _storage().head(VIDEO_BUCKET, video.raw_key)
    except StorageError:
        raise VideoStorageError(details={"video_id": video.id})
    if info is None:
        raise ConflictError("VIDEO_UPLOAD_INCOMPLETE", "업로드된 파일이 없습니다. 업로드를 마친 뒤 다시 시도해 주세요.",
                            details={"video_id": video.id})
    if info.size != video.size:
        # A presigned PUT does not bind the length: the declared size is what every limit was checked against.
        raise _reject_upload(video, "VIDEO_SIZE_MISMATCH", "올린 파일의 크기가 처음 알려 준 크기와 다릅니다.",
                             details={"declared": video.size, "uploaded": info.size})
    try:
        probed = _probe_raw(video)
    except media.MediaError as exc:
        raise _reject_upload(video, exc.code, exc.message)
    except StorageError:
        raise VideoStorageError(details={"video_id": video.id})

    job_id = uuid.uuid4()
    # The video names its job before the job exists, so a container that starts at once finds it UPLOADED,
    # and a concurrent call loses this guarded transition and submits the same job id (one job).
    video_mark_uploaded(video=video, job_id=job_id, duration_seconds=probed.duration, width=probed.display_width,
                        height=probed.display_height)
    if video.state not in LIVE_STATES or video.current_job_id is None:
        raise ConflictError("VIDEO_UPLOAD_CLOSED", "업로드를 진행할 수 없는 상태의 영상입니다.",
                            details={"state": video.state})
    return _ensure_job(video, created_by=created_by)


def _ensure_job(video: Video, *, created_by=None):
    """The video's current transcode Job, submitted if the row does not exist yet (the first call, or a crash)."""
    from apps.jobs.errors import JobDispatchError
    from apps.jobs.services import job_submit

    job = _current_job(video)
    if job is not None:
        return job
    try:
        return job_submit(tenant=video.tenant, kind=TRANSCODE_KIND, payload={"video_id": video.id},
                          created_by=created_by, idempotency_key=f"video-{video.id}-{video.current_job_id}",
                          job_id=video.current_job_id)
    except JobDispatchError:
        raise VideoEnqueueError(details={"video_id": video.id, "job_id": str(video.current_job_id)})


def _current_job(video: Video):
    from apps.jobs.models import Job

    return Job.objects.filter(id=video.current_job_id).first() if video.current_job_id else None


def video_retry(*, video: Video, created_by=None):
    """A new transcode attempt (new Job) of a FAILED video, or of one whose job ended DEAD, FAILED or CANCELLED."""
    from apps.integrations.storage import StorageError
    from apps.jobs.models import ACTIVE_STATES

    job = _current_job(video)
    if job is not None and job.state in ACTIVE_STATES:
        raise ConflictError("VIDEO_JOB_ACTIVE", "변환 작업이 진행 중입니다. 끝난 뒤 다시 시도해 주세요.",
                            details={"job_id": str(job.id), "job_state": job.state})
    if video.state in (VideoState.UPLOADED, VideoState.PROCESSING) and (job is None or job.state != "DONE"):
        # The job ended without the video hearing of it: record the failure first, then retry as usual.
        video = video_mark_failed(video=video, code=(job.error_code if job else "") or "JOB_ENDED",
                                  message=(job.error_message if job else "") or "변환 작업이 끝나지 않았습니다.").video
    if video.state != VideoState.FAILED:
        raise ConflictError("VIDEO_NOT_RETRYABLE", "실패한 영상만 다시 변환할 수 있습니다.",
                            details={"state": video.state})
    try:
        raw_present = _storage().exists(VIDEO_BUCKET, video.raw_key)
    except StorageError:
        raise VideoStorageError(details={"video_id": video.id})
    if not raw_present:
        raise ConflictError("VIDEO_RAW_MISSING", "원본 파일이 없어 다시 변환할 수 없습니다. 영상을 새로 올려 주세요.")
    if not video_reset_for_retry(video=video, job_id=uuid.uuid4()).won:
        raise ConflictError("VIDEO_JOB_ACTIVE", "변환 작업이 진행 중입니다. 끝난 뒤 다시 시도해 주세요.",
                            details={"state": video.state})
    return _ensure_job(video, created_by=created_by)


def video_delete(*, video: Video) -> dict:
    """Cancels the running transcode (Batch job terminated), deletes raw and HLS objects, then marks DELETED.

    The row is kept (soft delete): jobs name the video by id, and a container still finishing its last report must
    find a DELETED video it cannot change rather than a missing row. Objects go before the state, so a storage
    failure (503) leaves a video the admin can delete again.
    """
    from apps.integrations.storage import StorageError
    from apps.jobs.models import ACTIVE_STATES
    from apps.jobs.services import job_cancel

    job = _current_job(video)
    if job is not None and job.state in ACTIVE_STATES:
        job_cancel(job_id=job.id)
    storage = _storage()
    try:
        if video.upload_id:
            storage.abort_multipart(VIDEO_BUCKET, video.raw_key, upload_id=video.upload_id)
        raw = storage.delete_prefix(VIDEO_BUCKET, video_raw_prefix(video=video))
        hls = storage.delete_prefix(VIDEO_BUCKET, video.hls_prefix) if video.hls_prefix else 0
    except StorageError:
        raise VideoStorageError(details={"video_id": video.id})
    video_mark_deleted(video=video)
    logger.info("video_deleted", extra={"video_id": video.id, "tenant_id": video.tenant_id, "raw_objects": raw,
                                        "hls_objects": hls})
    return {"raw_objects": raw, "hls_objects": hls}
