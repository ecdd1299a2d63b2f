"""Upload services below the HTTP layer: part sizing, refusals that keep or fail the video, probe limits,
crash healing, retry of a video whose job ended behind its back, deletion failures, and the concurrency gate."""

import subprocess
import uuid

import pytest

from apps.core.exceptions import ConflictError, DomainError, ServiceUnavailableError
from apps.domains.video import services
from apps.domains.video.models import Video, VideoState
from apps.integrations.storage import StorageError
from apps.jobs.models import Job, JobState
from apps.jobs.registry import get_spec
from apps.jobs.services import job_slot_open

from .upload_support import create_and_upload

GB = 1024**3


def _new_video(tenant, lecture, teacher, *, size=1000) -> Video:
    return services.video_create(tenant=tenant, created_by=teacher, title="1강", lecture=lecture, session=None,
                                 filename="lecture.mp4", size=size, content_type="video/mp4")


# ---------------------------------------------------------------------------
# Starting an upload
# ---------------------------------------------------------------------------
def test_part_size_grows_so_no_upload_needs_more_than_10000_parts(settings):
    settings.VIDEO_PART_SIZE_BYTES = 1024**2

    assert services.video_part_size(size=20 * GB) == 2147484
    assert services.video_part_size(size=20 * GB) * services.MAX_PARTS >= 20 * GB
    assert services.video_part_size(size=GB) == 1024**2


def test_session_upload_files_the_video_under_the_sessions_lecture(tenant, lecture, teacher, make_session,
                                                                   local_storage):
    session = make_session(lecture)

    video, upload = services.video_upload_start(tenant=tenant, created_by=teacher, title="2회차", lecture=None,
                                                session=session, filename="a.mov", size=10,
                                                content_type="video/quicktime")

    assert (video.lecture_id, video.session_id, upload.kind) == (lecture.id, session.id, "single")


def test_a_storage_failure_when_starting_a_multipart_upload_is_503_and_the_video_failed(
    tenant, lecture, teacher, local_storage, settings, monkeypatch
):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 100

    def refuse(*args, **kwargs):
        raise StorageError("unreachable")

    monkeypatch.setattr(local_storage, "create_multipart", refuse)

    with pytest.raises(ServiceUnavailableError) as refused:
        services.video_upload_start(tenant=tenant, created_by=teacher, title="1강", lecture=lecture, session=None,
                                    filename="a.mp4", size=1000, content_type="video/mp4")

    assert refused.value.code == "VIDEO_STORAGE_UNAVAILABLE"
    assert Video.objects.get().state == VideoState.FAILED


# ---------------------------------------------------------------------------
# upload_complete refusals
# ---------------------------------------------------------------------------
def test_an_upload_of_another_size_than_declared_fails_the_video_and_deletes_the_object(
    tenant, lecture, teacher, local_storage, fake_batch
):
    video = _new_video(tenant, lecture, teacher, size=1000)
    local_storage.put("video", video.raw_key, b"x" * 5000)

    with pytest.raises(DomainError) as refused:
        services.video_upload_complete(video=video)

    assert (refused.value.code, refused.value.status_code) == ("VIDEO_SIZE_MISMATCH", 400)
    assert refused.value.details == {"video_id": video.id, "declared": 1000, "uploaded": 5000}
    assert Video.objects.get(id=video.id).state == VideoState.FAILED
    assert local_storage.exists("video", video.raw_key) is False
    assert Job.objects.count() == 0


def test_multipart_complete_without_parts_or_with_a_missing_part_keeps_the_upload_open(
    tenant, lecture, teacher, local_storage, settings, fake_batch
):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 100
    settings.VIDEO_PART_SIZE_BYTES = 600
    video, upload = services.video_upload_start(tenant=tenant, created_by=teacher, title="1강", lecture=lecture,
                                                session=None, filename="a.mp4", size=1000, content_type="video/mp4")

    with pytest.raises(DomainError) as no_parts:
        services.video_upload_complete(video=video, parts=[])
    with pytest.raises(ConflictError) as missing:
        services.video_upload_complete(video=video, parts=[{"PartNumber": 1, "ETag": "x"},
                                                           {"PartNumber": 2, "ETag": "y"}])

    assert no_parts.value.code == "VIDEO_PARTS_REQUIRED"
    assert missing.value.code == "VIDEO_UPLOAD_INCOMPLETE"
    video.refresh_from_db()
    assert (video.state, video.upload_id) == (VideoState.PENDING_UPLOAD, upload.upload_id)
    assert Job.objects.count() == 0


@pytest.fixture
def audio_only(tmp_path) -> bytes:
    path = tmp_path / "voice.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=44100:duration=1", "-c:a", "aac", str(path)],
                   check=True, capture_output=True, timeout=60)
    return path.read_bytes()


def test_an_audio_only_file_is_refused_with_no_video_stream(teacher_client, lecture, served_storage, fake_batch,
                                                            audio_only):
    video_id, _ = create_and_upload(teacher_client, lecture, audio_only)

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "NO_VIDEO_STREAM")
    video = Video.objects.get(id=video_id)
    assert (video.state, video.error_code) == (VideoState.FAILED, "NO_VIDEO_STREAM")
    assert served_storage.exists("video", video.raw_key) is False
    assert fake_batch.submitted == []


def test_a_video_longer_than_the_limit_is_refused_by_the_probe(teacher_client, lecture, served_storage, fake_batch,
                                                               tiny_video, settings):
    settings.VIDEO_MAX_DURATION_SECONDS = 0
    video_id, _ = create_and_upload(teacher_client, lecture, tiny_video)

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "DURATION_TOO_LONG")
    assert Video.objects.get(id=video_id).error_code == "DURATION_TOO_LONG"
    assert Job.objects.count() == 0


def test_completing_a_failed_video_is_409(tenant, lecture, teacher, local_storage):
    video = _new_video(tenant, lecture, teacher)
    services.video_mark_failed(video=video, code="PROBE_FAILED", message="영상이 아닙니다.")

    with pytest.raises(ConflictError) as refused:
        services.video_upload_complete(video=video)

    assert (refused.value.code, refused.value.details) == ("VIDEO_UPLOAD_CLOSED", {"state": "FAILED"})


def test_a_video_uploaded_whose_job_row_was_never_written_gets_exactly_that_job(
    tenant, lecture, teacher, local_storage, fake_batch, django_capture_on_commit_callbacks
):
    video = _new_video(tenant, lecture, teacher)
    job_id = uuid.uuid4()
    services.video_mark_uploaded(video=video, job_id=job_id)

    with django_capture_on_commit_callbacks(execute=True):
        job = services.video_upload_complete(video=video)
    again = services.video_upload_complete(video=video)

    assert job.id == again.id == job_id
    assert Job.objects.get().payload == {"video_id": video.id}
    assert fake_batch.submitted == [{"job_name": f"video_transcode-{job_id}", "job_id": str(job_id)}]


# ---------------------------------------------------------------------------
# Retry and delete
# ---------------------------------------------------------------------------
def test_a_processing_video_whose_job_died_can_be_retried(tenant, lecture, teacher, local_storage, fake_batch,
                                                          django_capture_on_commit_callbacks):
    dead = Job.objects.create(tenant=tenant, kind="video_transcode", state=JobState.DEAD, payload={},
                              error_code="HEARTBEAT_TIMEOUT", error_message="작업이 응답하지 않아 중단되었습니다.")
    video = _new_video(tenant, lecture, teacher)
    services.video_mark_uploaded(video=video, job_id=dead.id)
    services.video_mark_processing(video=video)
    local_storage.put("video", video.raw_key, b"raw")

    with django_capture_on_commit_callbacks(execute=True):
        job = services.video_retry(video=video, created_by=teacher)

    video.refresh_from_db()
    assert job.id != dead.id
    assert (video.state, video.current_job_id) == (VideoState.UPLOADED, job.id)
    assert [s["job_id"] for s in fake_batch.submitted] == [str(job.id)]


def test_a_storage_failure_during_delete_is_503_and_the_video_stays(tenant, lecture, teacher, local_storage,
                                                                   monkeypatch):
    video = _new_video(tenant, lecture, teacher)

    def refuse(*args, **kwargs):
        raise StorageError("unreachable")

    monkeypatch.setattr(local_storage, "delete_prefix", refuse)

    with pytest.raises(ServiceUnavailableError) as refused:
        services.video_delete(video=video)

    assert refused.value.code == "VIDEO_STORAGE_UNAVAILABLE"
    assert Video.objects.get(id=video.id).state == VideoState.PENDING_UPLOAD


def test_deleting_a_video_mid_upload_aborts_its_multipart_upload(tenant, lecture, teacher, local_storage, settings):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 100
    video, _ = services.video_upload_start(tenant=tenant, created_by=teacher, title="1강", lecture=lecture,
                                           session=None, filename="a.mp4", size=1000, content_type="video/mp4")

    counts = services.video_delete(video=video)

    assert counts == {"raw_objects": 0, "hls_objects": 0}
    assert list((local_storage.root / ".multipart").iterdir()) == []
    assert Video.objects.get(id=video.id).state == VideoState.DELETED


# ---------------------------------------------------------------------------
# Concurrency gate
# ---------------------------------------------------------------------------
def test_the_gate_counts_running_and_submitted_transcodes_only(tenant, other_tenant, settings):
    settings.VIDEO_MAX_RUNNING_PER_TENANT = 2
    settings.VIDEO_MAX_RUNNING_GLOBAL = 3

    def job(owner=tenant, kind="video_transcode", **fields):
        return Job.objects.create(tenant=owner, kind=kind, payload={}, **fields)

    candidate = job()
    job(state=JobState.RUNNING, external_id="b-1")
    job(state=JobState.QUEUED, external_id="")  # not submitted: holds no slot
    job(state=JobState.DONE, external_id="b-2")
    job(kind="excel_import", state=JobState.RUNNING, external_id="m-1")
    assert job_slot_open(job=candidate, spec=get_spec("video_transcode")) is True

    job(state=JobState.QUEUED, external_id="b-3")
    assert job_slot_open(job=candidate, spec=get_spec("video_transcode")) is False  # tenant at 2
    assert job_slot_open(job=job(owner=other_tenant), spec=get_spec("video_transcode")) is True  # global at 2 of 3

    job(owner=other_tenant, state=JobState.RUNNING, external_id="b-4")
    assert job_slot_open(job=job(owner=other_tenant), spec=get_spec("video_transcode")) is False  # global at 3


def test_two_concurrent_upload_completes_make_one_job_and_one_submit(teacher_client, lecture, served_storage,
                                                                     fake_batch, tiny_video):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    video_id, _ = create_and_upload(teacher_client, lecture, tiny_video)
    start = Barrier(2)

    def complete():
        try:
            start.wait(timeout=10)
            return services.video_upload_complete(video=Video.objects.get(id=video_id)).id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        job_ids = list(pool.map(lambda _: complete(), range(2)))

    job = Job.objects.get()
    assert job_ids == [job.id, job.id]
    assert Video.objects.get(id=video_id).current_job_id == job.id
    assert fake_batch.submitted == [{"job_name": f"video_transcode-{job.id}", "job_id": str(job.id)}]
