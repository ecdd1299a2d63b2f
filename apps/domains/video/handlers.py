"""The video_transcode job (ARCHITECTURE §4 Video, Batch container): raw object → HLS ladder in storage → READY.

`video_transcode` runs inside `apps.worker.runtime.execute_job` (claim, heartbeat thread, report); the Batch
entrypoint `apps.worker.video.batch_main` is its only caller in production. Safe to run again for the same job:
a READY video answers its stored result without touching storage, and re-uploading the same keys is harmless.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from django.conf import settings

from apps.integrations.storage import InvalidKey, StorageError, get_storage
from apps.jobs.errors import JobFailure, JobInterrupted
from apps.jobs.models import Job, JobState

from . import media
from .models import VIDEO_BUCKET, Video, VideoState
from .services import video_mark_failed, video_mark_processing, video_mark_ready
from .transcode import TranscodeOptions, transcode_to_hls

logger = logging.getLogger(__name__)

STAGE_DOWNLOAD = "다운로드"
STAGE_ENCODE = "인코딩"
STAGE_UPLOAD = "업로드"
# Share of the progress bar the encode takes; the upload fills the rest up to 99 (100 comes with complete).
ENCODE_SHARE = 95

FAILURE_MESSAGES = {
    "PROBE_FAILED": "영상 파일을 읽을 수 없습니다. 손상되었거나 영상이 아닌 파일입니다.",
    "NO_VIDEO_STREAM": "파일에 영상 트랙이 없습니다.",
    "TRANSCODE_FAILED": "영상 변환에 실패했습니다.",
    "TIMEOUT": "영상 변환 시간이 제한을 넘었습니다.",
    "DISK_FULL": "작업 디스크 공간이 부족합니다.",
    "UPLOAD_FAILED": "변환된 영상을 저장하지 못했습니다. 자동으로 다시 시도합니다.",
    "DOWNLOAD_FAILED": "원본 영상을 내려받지 못했습니다. 자동으로 다시 시도합니다.",
    "SOURCE_MISSING": "원본 영상 파일이 저장소에 없습니다.",
    "VIDEO_NOT_FOUND": "영상을 찾을 수 없습니다.",
    "VIDEO_NOT_TRANSCODABLE": "이 영상은 변환할 수 있는 상태가 아닙니다.",
}
# Storage trouble is usually passing (network, R2 5xx): another attempt may succeed. Media trouble is the file's.
RETRYABLE_CODES = frozenset({"UPLOAD_FAILED", "DOWNLOAD_FAILED"})


def _failure(code: str, *, message: str | None = None, details: dict | None = None) -> JobFailure:
    return JobFailure(code, message or FAILURE_MESSAGES.get(code, FAILURE_MESSAGES["TRANSCODE_FAILED"]),
                      retryable=code in RETRYABLE_CODES, details=details)


class _StopFlag:
    """What run_ffmpeg polls (`is_set()`): SIGTERM, a cancelled job or a lost lease all stop the encode."""

    def __init__(self, ctx):
        self._ctx = ctx

    def is_set(self) -> bool:
        return self._ctx.stop_requested


class _ThrottledProgress:
    """Reports a whole percent at most every VIDEO_PROGRESS_REPORT_SECONDS; never goes backwards."""

    def __init__(self, ctx, *, interval: float, clock=time.monotonic):
        self._ctx = ctx
        self._interval = interval
        self._clock = clock
        self._last_percent = -1
        self._last_at: float | None = None

    def report(self, percent: int, stage: str, *, force: bool = False) -> None:
        percent = max(0, min(99, percent))
        if percent < self._last_percent or (percent == self._last_percent and not force):
            return
        now = self._clock()
        if not force and self._last_at is not None and now - self._last_at < self._interval:
            return
        self._last_percent, self._last_at = percent, now
        self._ctx.progress(percent, stage)


def free_bytes(directory: str | os.PathLike) -> int:
    """Free space where the worker downloads and encodes (a function so tests can shrink the disk)."""
    return shutil.disk_usage(directory).free


def _video_id(job: Job) -> int | None:
    value = job.payload.get("video_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def remove_job_temp_dirs(job_id, temp_root: str | os.PathLike) -> None:
    """What earlier attempts of this job left in the scratch directory (a SIGKILLed container cannot clean up).

    Only called while holding the job's lease: the scratch volume is shared by every container on the host, and
    another job's directory, or this job's under a live holder, must never go.
    """
    for path in Path(temp_root).glob(f"video-{job_id}-*"):
        shutil.rmtree(path, ignore_errors=True)


def _load_video(job: Job) -> Video:
    video_id = _video_id(job)
    if video_id is None:
        raise _failure("VIDEO_NOT_FOUND", details={"video_id": job.payload.get("video_id")})
    video = Video.objects.filter(id=video_id, tenant_id=job.tenant_id).first()
    if video is None:
        raise _failure("VIDEO_NOT_FOUND", details={"video_id": video_id})
    return video


def _result_of(video: Video) -> dict:
    """The job result, from what a READY video stores (also what a second run for the same job answers)."""
    return {
        "video_id": video.id,
        "duration": video.duration_seconds,
        "width": video.width,
        "height": video.height,
        "renditions": video.renditions,
        "sizes": {r["name"]: r.get("bytes", 0) for r in video.renditions},
        "total_bytes": sum(r.get("bytes", 0) for r in video.renditions),
        "master_key": f"{video.hls_prefix}{media.MASTER_PLAYLIST}",
        "thumbnail_key": video.thumbnail_key,
    }


def video_transcode(job: Job, ctx) -> dict:
    """Download the raw upload, make the HLS ladder, upload it (playlists last), mark the video READY."""
    video = _load_video(job)
    if video.state == VideoState.READY:
        logger.info("video_already_ready", extra={"job_id": str(job.id), "video_id": video.id})
        return _result_of(video)
    transition = video_mark_processing(video=video, job_id=job.id)
    if not transition.won:
        if transition.video.state == VideoState.READY:
            return _result_of(transition.video)
        raise _failure("VIDEO_NOT_TRANSCODABLE", details={"state": transition.video.state})
    video = transition.video

    storage = get_storage()
    try:
        raw = storage.head(VIDEO_BUCKET, video.raw_key)
    except (StorageError, InvalidKey) as exc:
        raise _failure("DOWNLOAD_FAILED", details={"error": str(exc)}) from exc
    if raw is None:
        raise _failure("SOURCE_MISSING", details={"raw_key": video.raw_key})

    temp_root = Path(settings.VIDEO_WORKER_TEMP_DIR)
    temp_root.mkdir(parents=True, exist_ok=True)
    remove_job_temp_dirs(job.id, temp_root)
    needed = int(raw.size * settings.VIDEO_DISK_FACTOR)
    free = free_bytes(temp_root)
    if free < needed:
        raise _failure("DISK_FULL", details={"free_bytes": free, "needed_bytes": needed, "dir": str(temp_root)})

    progress = _ThrottledProgress(ctx, interval=settings.VIDEO_PROGRESS_REPORT_SECONDS)
    started = time.monotonic()
    # Removed on every way out (success, failure, SIGTERM); only SIGKILL of the container leaves it behind.
    with tempfile.TemporaryDirectory(dir=temp_root, prefix=f"video-{job.id}-") as work:
        work_dir = Path(work)
        source = work_dir / f"source{Path(video.raw_key).suffix.lower()[:10]}"
        progress.report(0, STAGE_DOWNLOAD, force=True)
        try:
            storage.get_to_file(VIDEO_BUCKET, video.raw_key, source)
        except StorageError as exc:
            raise _failure("DOWNLOAD_FAILED", details={"error": str(exc)}) from exc
        if ctx.stop_requested:
            raise JobInterrupted()
        downloaded = time.monotonic()

        remaining = settings.VIDEO_TRANSCODE_TIMEOUT_SECONDS - (downloaded - started)
        if remaining <= 0:
            raise _failure("TIMEOUT")
        options = replace(TranscodeOptions.from_settings(), timeout_seconds=remaining)
        try:
            result = transcode_to_hls(
                source, work_dir / "hls", options=options,
                on_progress=lambda pct: progress.report(pct * ENCODE_SHARE // 100, STAGE_ENCODE),
                stop_event=_StopFlag(ctx),
            )
        except media.MediaError as exc:
            if exc.code == "INTERRUPTED":
                raise JobInterrupted() from exc
            # ffmpeg's stderr tail goes to the log; people get the Korean sentence.
            logger.warning("video_transcode_media_error", extra={
                "job_id": str(job.id), "video_id": video.id, "error_code": exc.code, "detail": exc.detail[-4000:]})
            raise _failure(exc.code, message=exc.message, details={"detail": exc.detail}) from exc
        encoded = time.monotonic()

        sizes = _upload(storage, video, result.files, ctx=ctx, progress=progress)
        uploaded = time.monotonic()

    renditions = [{**r, "bytes": sizes.get(Path(r["playlist"]).parent.as_posix(), 0)} for r in result.renditions]
    top = renditions[0]
    thumbnail_key = f"{video.hls_prefix}{result.thumbnail_key}" if result.thumbnail_key else ""
    ready = video_mark_ready(video=video, renditions=renditions, duration=result.duration, width=top["width"],
                             height=top["height"], thumbnail_key=thumbnail_key)
    if not ready.won and ready.video.state != VideoState.READY:
        _discard_if_deleted(storage, video)
        raise _failure("VIDEO_NOT_TRANSCODABLE", details={"state": ready.video.state})
    logger.info("video_transcoded", extra={
        "job_id": str(job.id), "video_id": video.id, "duration": result.duration,
        "rungs": [r["name"] for r in renditions], "files": len(result.files), "total_bytes": result.total_bytes,
        "download_seconds": round(downloaded - started, 2), "encode_seconds": round(encoded - downloaded, 2),
        "upload_seconds": round(uploaded - encoded, 2)})
    return _result_of(ready.video)


def _discard_if_deleted(storage, video: Video) -> None:
    """The delete flow removed the HLS prefix before this container noticed; what it uploaded since is orphaned."""
    if not Video.objects.filter(id=video.id, state=VideoState.DELETED).exists():
        return
    try:
        storage.delete_prefix(VIDEO_BUCKET, video.hls_prefix)
    except StorageError:
        logger.warning("video_orphans_not_removed", extra={"video_id": video.id, "prefix": video.hls_prefix})


def _upload(storage, video: Video, files, *, ctx, progress: _ThrottledProgress) -> dict[str, int]:
    """In transcode's order (segments, thumbnail, variant playlists, master last); returns bytes per rung dir."""
    sizes: dict[str, int] = {}
    total = len(files) or 1
    for index, output in enumerate(files):
        if ctx.stop_requested:
            _discard_if_deleted(storage, video)
            raise JobInterrupted()
        key = f"{video.hls_prefix}{output.relative_key}"
        try:
            storage.put_file(VIDEO_BUCKET, key, output.path, content_type=output.content_type,
                             cache_control=output.cache_control)
        except (StorageError, OSError) as exc:
            raise _failure("UPLOAD_FAILED", details={"key": key, "error": str(exc)}) from exc
        rung_dir = Path(output.relative_key).parent.as_posix()
        if rung_dir != ".":
            sizes[rung_dir] = sizes.get(rung_dir, 0) + output.size
        progress.report(ENCODE_SHARE + (99 - ENCODE_SHARE) * (index + 1) // total, STAGE_UPLOAD)
    return sizes


def video_job_finished(job: Job) -> None:
    """on_terminal: a FAILED or DEAD transcode fails its video (if the video still waits on this job)."""
    if job.state not in (JobState.FAILED, JobState.DEAD):
        return  # DONE: the handler marked it READY; CANCELLED: the API's delete flow owns the video
    video_id = _video_id(job)
    video = Video.objects.filter(id=video_id, tenant_id=job.tenant_id).first() if video_id is not None else None
    if video is None or (video.current_job_id is not None and video.current_job_id != job.id):
        return
    outcome = video_mark_failed(video=video, code=job.error_code or "TRANSCODE_FAILED",
                                message=job.error_message or FAILURE_MESSAGES["TRANSCODE_FAILED"])
    logger.info("video_job_finished", extra={"job_id": str(job.id), "video_id": video.id, "job_state": job.state,
                                             "video_state": outcome.video.state, "error_code": job.error_code})
