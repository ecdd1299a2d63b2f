"""Shared pieces of the Batch entrypoint, handler and command tests: a video with its raw object and job."""

from pathlib import Path

import pytest

from apps.domains.video.models import Video, VideoState
from apps.domains.video.services import video_create, video_mark_uploaded
from apps.integrations import batch as batch_module
from apps.integrations import storage as storage_module
from apps.jobs.models import Job, JobBackend, JobState

# Small and fast: two rungs below a 640x360 source, 1 s segments, x264 ultrafast.
FAST_VIDEO_SETTINGS = {
    "VIDEO_RENDITIONS": [360, 240],
    "VIDEO_SEGMENT_SECONDS": 1,
    "VIDEO_X264_PRESET": "ultrafast",
    "VIDEO_PROGRESS_REPORT_SECONDS": 0.0,
    "VIDEO_TRANSCODE_TIMEOUT_SECONDS": 120,
    "VIDEO_DISK_FACTOR": 3.0,
}


@pytest.fixture
def video_env(settings, tmp_path):
    """LocalStorage and the worker's scratch directory in tmp_path, the fast ladder settings."""
    settings.STORAGE_BACKEND = "local"
    settings.LOCAL_STORAGE_DIR = tmp_path / "storage"
    settings.VIDEO_WORKER_TEMP_DIR = str(tmp_path / "work")
    for name, value in FAST_VIDEO_SETTINGS.items():
        setattr(settings, name, value)
    storage_module.reset_storage_for_tests()
    batch_module.reset_batch_for_tests()
    yield storage_module.get_storage()
    storage_module.reset_storage_for_tests()
    batch_module.reset_batch_for_tests()


@pytest.fixture
def uploaded_video(tenant, make_lecture, video_env):
    """An UPLOADED video whose raw object holds the given bytes or file."""

    def make(source: Path | bytes, *, tenant=tenant, filename: str = "lecture.mp4") -> Video:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        video = video_create(tenant=tenant, created_by=None, title="1강", lecture=make_lecture(tenant), session=None,
                             filename=filename, size=size, content_type="video/mp4")
        if isinstance(source, bytes):
            video_env.put("video", video.raw_key, source, content_type="video/mp4")
        else:
            video_env.put_file("video", video.raw_key, source, content_type="video/mp4")
        video_mark_uploaded(video=video)
        video.refresh_from_db()
        assert video.state == VideoState.UPLOADED
        return video

    return make


def make_transcode_job(video: Video, *, state: str = JobState.QUEUED, **fields) -> Job:
    """A video_transcode job row as upload_complete leaves it (already handed to Batch)."""
    fields.setdefault("backend", JobBackend.BATCH)
    fields.setdefault("external_id", "batch-0")
    job = Job.objects.create(tenant_id=video.tenant_id, kind="video_transcode", state=state,
                             payload={"video_id": video.id}, max_attempts=fields.pop("max_attempts", 3), **fields)
    Video.objects.filter(id=video.id).update(current_job_id=job.id)
    return job


def hls_objects(storage, video: Video) -> dict[str, tuple[str, str]]:
    """key (relative to the HLS prefix) → (content type, cache control) of every stored HLS object."""
    found = {}
    for info in storage.list_prefix("video", video.hls_prefix):
        handle, _, meta = storage.open("video", info.key)
        handle.close()
        found[info.key.removeprefix(video.hls_prefix)] = (meta.get("content_type"), meta.get("cache_control"))
    return found
