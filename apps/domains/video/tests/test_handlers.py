"""video_transcode through the real runtime (execute_job) in-process: real ffmpeg, LocalStorage, the internal API
answered by Django's test client; and video_job_finished."""

import threading

import pytest

from apps.domains.video import handlers
from apps.domains.video.models import Video, VideoState
from apps.domains.video.tests import batch_support
from apps.domains.video.tests.batch_support import hls_objects, make_transcode_job
from apps.integrations.storage import StorageError
from apps.jobs.models import Job, JobState
from apps.jobs.tests import conftest as jobs_fixtures
from apps.worker.runtime import execute_job
from apps.worker.tests import conftest as worker_fixtures

pytestmark = pytest.mark.slow

video_env = batch_support.video_env
uploaded_video = batch_support.uploaded_video
fake_batch = jobs_fixtures.fake_batch
in_process_client = worker_fixtures.in_process_client

SEGMENT = ("video/mp2t", "public, max-age=31536000, immutable")
PLAYLIST = ("application/vnd.apple.mpegurl", "no-cache")
THUMBNAIL = ("image/jpeg", "public, max-age=86400")


@pytest.fixture
def source(make_source):
    return make_source(width=640, height=360, seconds=2)


@pytest.fixture
def run(in_process_client, django_capture_on_commit_callbacks):
    def run_job(job, *, stop_event=None):
        with django_capture_on_commit_callbacks(execute=True):
            return execute_job(job_id=job.id, client=in_process_client, stop_event=stop_event or threading.Event())

    return run_job


@pytest.fixture
def put_calls(video_env, monkeypatch):
    calls = []
    real = video_env.put_file

    def spy(bucket, key, path, **kwargs):
        if "/video/hls/" in key:  # the raw uploads the tests set up are not the handler's
            calls.append(key)
        return real(bucket, key, path, **kwargs)

    monkeypatch.setattr(video_env, "put_file", spy)
    return calls


@pytest.fixture
def progress_calls(in_process_client, monkeypatch):
    calls = []
    real = in_process_client.progress

    def spy(job_id, *, percent, stage="", attempt):
        calls.append((percent, stage))
        return real(job_id, percent=percent, stage=stage, attempt=attempt)

    monkeypatch.setattr(in_process_client, "progress", spy)
    return calls


def test_transcode_uploads_the_ladder_playlists_last_and_marks_the_video_ready(
        uploaded_video, source, run, video_env, put_calls, progress_calls, fake_batch, settings, tmp_path):
    video = uploaded_video(source)
    job = make_transcode_job(video)

    execution = run(job)

    job.refresh_from_db()
    video.refresh_from_db()
    assert (execution.outcome, job.state, job.attempts, job.progress) == ("completed", JobState.DONE, 1, 100)
    assert video.state == VideoState.READY
    assert [(r["name"], r["width"], r["height"]) for r in video.renditions] == [("360p", 640, 360),
                                                                                ("240p", 426, 240)]
    assert (video.width, video.height) == (640, 360)
    assert video.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert video.thumbnail_key == f"{video.hls_prefix}thumbnail.jpg"
    stored = hls_objects(video_env, video)
    segments = sorted(k for k in stored if k.endswith(".ts"))
    assert segments == ["v0/seg_00000.ts", "v0/seg_00001.ts", "v1/seg_00000.ts", "v1/seg_00001.ts"]
    assert {stored[k] for k in segments} == {SEGMENT}
    assert stored["thumbnail.jpg"] == THUMBNAIL
    assert stored["v0/index.m3u8"] == stored["v1/index.m3u8"] == stored["master.m3u8"] == PLAYLIST
    assert len(stored) == 8
    # Nothing is playable until the master exists: segments and poster first, then variants, master last.
    relative = [key.removeprefix(video.hls_prefix) for key in put_calls]
    assert relative[-3:] == ["v0/index.m3u8", "v1/index.m3u8", "master.m3u8"]
    assert sorted(relative[:-3]) == sorted([*segments, "thumbnail.jpg"])
    assert job.result == {
        "video_id": video.id, "duration": video.duration_seconds, "width": 640, "height": 360,
        "renditions": video.renditions, "sizes": {r["name"]: r["bytes"] for r in video.renditions},
        "total_bytes": sum(r["bytes"] for r in video.renditions),
        "master_key": f"{video.hls_prefix}master.m3u8", "thumbnail_key": f"{video.hls_prefix}thumbnail.jpg",
    }
    assert all(r["bytes"] > 0 for r in video.renditions)
    percents = [p for p, _ in progress_calls]
    assert percents == sorted(percents) and percents[0] == 0 and percents[-1] == 99
    assert progress_calls[0] == (0, "다운로드") and progress_calls[-1] == (99, "업로드")
    assert list((tmp_path / "work").iterdir()) == []
    assert video_env.exists("video", video.raw_key)  # the raw upload is kept for re-encodes
    assert fake_batch.submitted == []


def test_a_done_job_run_again_is_skipped_without_touching_storage(uploaded_video, source, run, put_calls):
    video = uploaded_video(source)
    job = make_transcode_job(video)
    run(job)
    first = Job.objects.get(id=job.id)
    put_calls.clear()

    execution = run(job)

    again = Job.objects.get(id=job.id)
    assert (execution.outcome, execution.state) == ("skipped", JobState.DONE)
    assert put_calls == []
    assert (again.attempts, again.finished_at, again.result) == (first.attempts, first.finished_at, first.result)


def test_handler_for_a_video_already_ready_answers_its_result_without_uploading(uploaded_video, source, run,
                                                                               put_calls):
    # The container died after marking READY but before completing: the next attempt only reports.
    video = uploaded_video(source)
    job = make_transcode_job(video)
    run(job)
    done = Job.objects.get(id=job.id)
    Job.objects.filter(id=job.id).update(state=JobState.QUEUED, result=None)
    put_calls.clear()

    execution = run(job)

    job.refresh_from_db()
    assert (execution.outcome, job.state, job.attempts) == ("completed", JobState.DONE, 2)
    assert job.result == done.result
    assert put_calls == []
    assert Video.objects.get(id=video.id).state == VideoState.READY


def test_garbage_raw_object_fails_probe_failed_and_fails_the_video_keeping_the_raw(uploaded_video, run, video_env,
                                                                                  put_calls, fake_batch):
    video = uploaded_video(b"\x00garbage, not a video" * 100)
    job = make_transcode_job(video)

    execution = run(job)

    job.refresh_from_db()
    video.refresh_from_db()
    assert (execution.outcome, job.state, job.error_code) == ("failed", JobState.FAILED, "PROBE_FAILED")
    assert job.error_message == "영상 파일을 읽을 수 없습니다. 손상되었거나 영상이 아닙니다."
    assert (video.state, video.error_code, video.error_message) == (VideoState.FAILED, "PROBE_FAILED",
                                                                    job.error_message)
    assert put_calls == []
    assert fake_batch.submitted == []
    assert video_env.exists("video", video.raw_key)


def test_leftovers_of_an_earlier_attempt_of_the_job_are_removed_and_other_jobs_scratch_kept(uploaded_video, run,
                                                                                            settings, tmp_path):
    video = uploaded_video(b"\x00garbage" * 100)
    job = make_transcode_job(video)
    work = tmp_path / "work"
    leftover = work / f"video-{job.id}-killed"
    (leftover / "hls").mkdir(parents=True)
    (leftover / "source.mp4").write_bytes(b"partial download")
    other_job = work / "video-00000000-0000-0000-0000-000000000000-running"
    other_job.mkdir()

    run(job)

    assert sorted(p.name for p in work.iterdir()) == [other_job.name]


def test_too_little_free_space_fails_disk_full_before_downloading(uploaded_video, source, run, video_env,
                                                                 monkeypatch, tmp_path):
    video = uploaded_video(source)
    job = make_transcode_job(video)
    monkeypatch.setattr(handlers, "free_bytes", lambda directory: source.stat().st_size * 3 - 1)
    downloads = []
    monkeypatch.setattr(video_env, "get_to_file", lambda *args: downloads.append(args))

    run(job)

    job.refresh_from_db()
    assert (job.state, job.error_code, job.error_message) == (JobState.FAILED, "DISK_FULL",
                                                              "작업 디스크 공간이 부족합니다.")
    assert downloads == []
    assert Video.objects.get(id=video.id).error_code == "DISK_FULL"
    assert list((tmp_path / "work").iterdir()) == []


def test_upload_failure_is_retried_by_a_new_batch_job_after_its_backoff(uploaded_video, source, run, video_env,
                                                                       monkeypatch, fake_batch, tmp_path):
    video = uploaded_video(source)
    job = make_transcode_job(video)

    def refuse(*args, **kwargs):
        raise StorageError("R2 503")

    monkeypatch.setattr(video_env, "put_file", refuse)

    execution = run(job)

    job.refresh_from_db()
    assert (execution.outcome, job.state, job.attempts, job.error_code) == ("failed", JobState.QUEUED, 1,
                                                                             "UPLOAD_FAILED")
    # The dispatch is given back; the scheduler submits a new Batch job once the backoff (2.5-5 s) is over.
    assert (job.external_id, fake_batch.submitted) == ("", [])
    assert 2.5 <= (job.not_before - job.updated_at).total_seconds() <= 5
    assert Video.objects.get(id=video.id).state == VideoState.PROCESSING
    assert list((tmp_path / "work").iterdir()) == []


def test_upload_failure_on_the_last_attempt_kills_the_job_and_fails_the_video(uploaded_video, source, run,
                                                                             video_env, monkeypatch,
                                                                             fake_batch):
    video = uploaded_video(source)
    job = make_transcode_job(video, max_attempts=1)
    monkeypatch.setattr(video_env, "put_file", lambda *a, **k: (_ for _ in ()).throw(StorageError("R2 503")))

    run(job)

    job.refresh_from_db()
    video.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.DEAD, "UPLOAD_FAILED")
    assert (video.state, video.error_code) == (VideoState.FAILED, "UPLOAD_FAILED")
    assert fake_batch.submitted == []


def test_timeout_fails_the_job_with_timeout(uploaded_video, source, run, settings):
    settings.VIDEO_TRANSCODE_TIMEOUT_SECONDS = 0
    video = uploaded_video(source)
    job = make_transcode_job(video)

    run(job)

    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "TIMEOUT")
    assert Video.objects.get(id=video.id).error_code == "TIMEOUT"


def test_stop_requested_after_download_hands_the_job_back_and_cleans_up(uploaded_video, source, run, video_env,
                                                                       monkeypatch, fake_batch, put_calls,
                                                                       tmp_path):
    video = uploaded_video(source)
    job = make_transcode_job(video)
    stop = threading.Event()
    real = video_env.get_to_file

    def download_then_sigterm(*args):
        size = real(*args)
        stop.set()
        return size

    monkeypatch.setattr(video_env, "get_to_file", download_then_sigterm)

    execution = run(job, stop_event=stop)

    job.refresh_from_db()
    assert (execution.outcome, job.state, job.error_code) == ("released", JobState.QUEUED, "WORKER_STOPPED")
    assert len(fake_batch.submitted) == 1
    assert put_calls == []
    assert Video.objects.get(id=video.id).state == VideoState.PROCESSING
    assert list((tmp_path / "work").iterdir()) == []


def test_a_video_of_another_tenant_is_not_found_and_left_alone(uploaded_video, source, run, other_tenant, tenant):
    foreign = uploaded_video(b"x" * 10, tenant=other_tenant)
    job = Job.objects.create(tenant=tenant, kind="video_transcode", payload={"video_id": foreign.id},
                             backend="batch", external_id="batch-0")

    run(job)

    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "VIDEO_NOT_FOUND")
    assert Video.objects.get(id=foreign.id).state == VideoState.UPLOADED


def test_deleted_video_is_not_transcoded(uploaded_video, run, put_calls):
    video = uploaded_video(b"x" * 10)
    Video.objects.filter(id=video.id).update(state=VideoState.DELETED)
    job = make_transcode_job(video)

    run(job)

    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "VIDEO_NOT_TRANSCODABLE")
    assert Video.objects.get(id=video.id).state == VideoState.DELETED
    assert put_calls == []


class TestVideoJobFinished:
    def test_dead_job_fails_its_video_with_the_job_error(self, uploaded_video):
        video = uploaded_video(b"x" * 10)
        job = make_transcode_job(video, state=JobState.DEAD, error_code="HEARTBEAT_TIMEOUT",
                                 error_message="작업이 응답하지 않아 중단되었습니다.")

        handlers.video_job_finished(job)

        video.refresh_from_db()
        assert (video.state, video.error_code, video.error_message) == (
            VideoState.FAILED, "HEARTBEAT_TIMEOUT", "작업이 응답하지 않아 중단되었습니다.")

    def test_cancelled_job_leaves_the_video_to_the_delete_flow(self, uploaded_video):
        video = uploaded_video(b"x" * 10)
        job = make_transcode_job(video, state=JobState.CANCELLED)

        handlers.video_job_finished(job)

        assert Video.objects.get(id=video.id).state == VideoState.UPLOADED

    def test_failed_job_of_an_older_attempt_does_not_fail_a_video_retried_with_a_new_job(self, uploaded_video):
        video = uploaded_video(b"x" * 10)
        old = make_transcode_job(video, state=JobState.FAILED, error_code="TRANSCODE_FAILED")
        make_transcode_job(video)  # the retry: the video now waits on this one

        handlers.video_job_finished(old)

        assert Video.objects.get(id=video.id).state == VideoState.UPLOADED


class TestThrottledProgress:
    def test_reports_at_most_once_per_interval_never_backwards_and_never_100(self):
        sent = []
        ctx = type("Ctx", (), {"progress": lambda self, percent, stage: sent.append((percent, stage))})()
        now = [0.0]
        throttled = handlers._ThrottledProgress(ctx, interval=2.0, clock=lambda: now[0])

        throttled.report(0, "다운로드", force=True)
        throttled.report(5, "인코딩")  # within the interval
        now[0] = 2.0
        throttled.report(10, "인코딩")
        now[0] = 4.0
        throttled.report(9, "인코딩")  # backwards
        throttled.report(10, "인코딩")  # same percent
        now[0] = 6.0
        throttled.report(100, "업로드")

        assert sent == [(0, "다운로드"), (10, "인코딩"), (99, "업로드")]


def test_a_video_deleted_while_its_ladder_uploads_leaves_no_objects_behind(uploaded_video, source, run, video_env,
                                                                          monkeypatch):
    video = uploaded_video(source)
    job = make_transcode_job(video)
    real = video_env.put_file

    def delete_midway(bucket, key, path, **kwargs):
        real(bucket, key, path, **kwargs)
        # The admin deletes the video (objects removed, row DELETED) after the first segment is stored.
        Video.objects.filter(id=video.id).update(state=VideoState.DELETED)

    monkeypatch.setattr(video_env, "put_file", delete_midway)

    run(job)

    assert list(video_env.list_prefix("video", video.hls_prefix)) == []
    assert Video.objects.get(id=video.id).state == VideoState.DELETED
