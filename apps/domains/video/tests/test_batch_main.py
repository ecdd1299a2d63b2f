"""The Batch entrypoint as Batch runs it: `python -m apps.worker.video.batch_main` in its own process (started by
the LocalBatch port), on the test database, reporting over real HTTP to live_server, real ffmpeg and signals."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.domains.video.models import Video, VideoState
from apps.domains.video.tests import batch_support
from apps.domains.video.tests.batch_support import hls_objects, make_transcode_job
from apps.integrations.batch import LocalBatch, get_batch
from apps.jobs.models import Job, JobState
from apps.jobs.registry import get_spec
from apps.jobs.scheduler import Scheduler
from apps.jobs.services import job_submit
from apps.worker.tests import conftest as worker_fixtures
from apps.worker.tests.support import REPO_ROOT, wait_until
from apps.worker.video import batch_main

pytestmark = pytest.mark.slow

video_env = batch_support.video_env
uploaded_video = batch_support.uploaded_video
in_process_client = worker_fixtures.in_process_client


@pytest.fixture
def short_source(make_source):
    return make_source(width=640, height=360, seconds=2)


@pytest.fixture
def long_source(make_source):
    return make_source(width=640, height=360, seconds=12)


@pytest.fixture
def slow_encode(worker_env, monkeypatch):
    # A preset slow enough that ffmpeg is still encoding when the test sees the first progress report.
    monkeypatch.setenv("VIDEO_X264_PRESET", "slow")


@pytest.fixture
def worker_env(live_server, video_env, settings, tmp_path, monkeypatch):
    """The environment of every entrypoint process, in os.environ so LocalBatch passes it on (it copies it)."""
    settings.BATCH_BACKEND = "local"
    settings.BATCH_LOCAL_LOG_DIR = tmp_path / "batch-logs"
    settings.BATCH_LOCAL_COMMAND = []
    values = {
        "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.test",
        "DB_NAME": connection.settings_dict["NAME"],
        "API_BASE_URL": live_server.url,
        "STORAGE_BACKEND": "local",
        "LOCAL_STORAGE_DIR": str(settings.LOCAL_STORAGE_DIR),
        "VIDEO_WORKER_TEMP_DIR": str(settings.VIDEO_WORKER_TEMP_DIR),
        "VIDEO_RENDITIONS": "360,240",
        "VIDEO_SEGMENT_SECONDS": "1",
        "VIDEO_X264_PRESET": "ultrafast",
        "VIDEO_PROGRESS_REPORT_SECONDS": "0",
        "VIDEO_TRANSCODE_TIMEOUT_SECONDS": "120",
        "WORKER_API_RETRIES": "2",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    yield values
    for run in list(type(get_batch())._runs.values()):
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait(timeout=30)


def _entrypoint(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apps.worker.video.batch_main", *args], cwd=REPO_ROOT,
                          env={**os.environ, **(env_extra or {})}, capture_output=True, timeout=120)


def _submit(video: Video) -> Job:
    job = job_submit(tenant=video.tenant, kind="video_transcode", payload={"video_id": video.id})
    Video.objects.filter(id=video.id).update(current_job_id=job.id)
    assert job.external_id.startswith("local-")
    return job


def _stored_mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc/<pid>/stat: the field after the state is the parent pid)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _encoding(job: Job) -> bool:
    current = Job.objects.get(id=job.id)
    return current.stage == "인코딩" and current.progress > 0


def _submit_until_encoding(video: Video) -> tuple[Job, int, list[int]]:
    """The video's job submitted and encoding: the job, its container's (entrypoint's) pid and its ffmpeg pids."""
    job = _submit(video)
    wait_until(lambda: _encoding(job), timeout=90)
    pid = LocalBatch._pid(job.external_id)
    return job, pid, _children(pid)


def _assert_second_attempt_completes(job: Job, video: Video, external_id: str, work_dir: Path) -> None:
    assert get_batch().wait(external_id, timeout=120).status == "SUCCEEDED"
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_code) == (JobState.DONE, 2, "")
    assert Video.objects.get(id=video.id).state == VideoState.READY
    # The second container removed what the first one left in the scratch directory.
    assert list(work_dir.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_submitted_job_runs_to_ready_and_a_second_run_changes_nothing(worker_env, uploaded_video, short_source,
                                                                      video_env, settings, tmp_path):
    video = uploaded_video(short_source)
    job = _submit(video)

    info = get_batch().wait(job.external_id, timeout=120)

    job.refresh_from_db()
    video.refresh_from_db()
    assert (info.status, job.state, job.attempts, job.progress) == ("SUCCEEDED", JobState.DONE, 1, 100)
    assert video.state == VideoState.READY
    stored = hls_objects(video_env, video)
    assert sorted(stored) == ["master.m3u8", "thumbnail.jpg", "v0/index.m3u8", "v0/seg_00000.ts", "v0/seg_00001.ts",
                              "v1/index.m3u8", "v1/seg_00000.ts", "v1/seg_00001.ts"]
    assert stored["master.m3u8"] == ("application/vnd.apple.mpegurl", "no-cache")
    assert stored["v1/seg_00001.ts"] == ("video/mp2t", "public, max-age=31536000, immutable")
    hls_root = Path(settings.LOCAL_STORAGE_DIR) / settings.R2_BUCKET_VIDEO / video.hls_prefix
    mtimes = _stored_mtimes(hls_root)
    assert max(mtimes, key=mtimes.get) == "master.m3u8"
    assert list((tmp_path / "work").iterdir()) == []

    again = _entrypoint(env_extra={"VIDEO_JOB_ID": str(job.id)})  # Batch starting the container twice

    assert again.returncode == 0, again.stdout.decode()[-2000:]
    assert _stored_mtimes(hls_root) == mtimes
    unchanged = Job.objects.get(id=job.id)
    assert (unchanged.state, unchanged.attempts, unchanged.finished_at) == (JobState.DONE, 1, job.finished_at)
    assert Video.objects.get(id=video.id).updated_at == video.updated_at


@pytest.mark.django_db(transaction=True)
def test_killed_mid_encode_the_scanner_resubmits_and_the_second_attempt_completes(slow_encode, uploaded_video,
                                                                                 long_source, tmp_path):
    video = uploaded_video(long_source)
    job, pid, ffmpeg = _submit_until_encoding(video)
    first = job.external_id

    # The container dies with everything in it (Spot reclaim without notice): the entrypoint and its ffmpeg.
    assert ffmpeg
    os.kill(pid, signal.SIGKILL)
    for child in ffmpeg:
        os.kill(child, signal.SIGKILL)
    assert get_batch().wait(first, timeout=30).status_reason == "killed by signal 9"
    assert Job.objects.get(id=job.id).state == JobState.RUNNING
    stale = timezone.now() - timedelta(seconds=get_spec("video_transcode").heartbeat_timeout + 1)
    Job.objects.filter(id=job.id).update(heartbeat_at=stale)
    out = StringIO()

    call_command("scan_stuck_video_jobs", stdout=out)

    resubmitted = Job.objects.get(id=job.id)
    assert resubmitted.external_id not in ("", first)
    assert out.getvalue().splitlines() == [
        f"requeued {job.id} tenant={job.tenant_id} state=QUEUED attempts=1/3 external_id={resubmitted.external_id} "
        "reason=heartbeat",
        "scan_stuck_video_jobs: requeued=1",
    ]
    _assert_second_attempt_completes(job, video, resubmitted.external_id, tmp_path / "work")


@pytest.mark.django_db(transaction=True)
def test_killed_mid_encode_the_scheduler_requeues_it_within_60_s_without_waiting_for_its_heartbeat(
    slow_encode, uploaded_video, long_source, tmp_path
):
    video = uploaded_video(long_source)
    job, pid, ffmpeg = _submit_until_encoding(video)
    first = job.external_id
    scheduler = Scheduler(interval=0)

    os.kill(pid, signal.SIGKILL)
    for child in ffmpeg:
        os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()

    def scheduler_resubmitted() -> bool:
        scheduler.tick()
        return Job.objects.get(id=job.id).external_id not in ("", first)

    # The heartbeat (300 s limit) is still fresh: the local runner's "killed" is what the scheduler acts on.
    wait_until(scheduler_resubmitted, timeout=60, interval=0.5)
    assert time.monotonic() - killed_at < 60
    _assert_second_attempt_completes(job, video, Job.objects.get(id=job.id).external_id, tmp_path / "work")


@pytest.mark.django_db(transaction=True)
def test_sigterm_mid_encode_kills_ffmpeg_exits_1_and_the_server_resubmits(slow_encode, uploaded_video,
                                                                          long_source, tmp_path):
    video = uploaded_video(long_source)
    job, pid, ffmpeg = _submit_until_encoding(video)
    first = job.external_id

    os.kill(pid, signal.SIGTERM)

    info = get_batch().wait(first, timeout=30)
    assert (info.status, info.status_reason) == ("FAILED", "exit code 1")
    assert ffmpeg and not any(_alive(child) for child in ffmpeg)
    wait_until(lambda: Job.objects.get(id=job.id).external_id not in ("", first), timeout=30)
    _assert_second_attempt_completes(job, video, Job.objects.get(id=job.id).external_id, tmp_path / "work")


@pytest.mark.django_db(transaction=True)
def test_garbage_raw_exits_1_with_probe_failed_and_json_log_lines(worker_env, uploaded_video, video_env):
    video = uploaded_video(b"not a video at all" * 50)
    job = make_transcode_job(video)

    completed = _entrypoint(str(job.id))

    assert completed.returncode == 1
    job.refresh_from_db()
    video.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "PROBE_FAILED")
    assert (video.state, video.error_code) == (VideoState.FAILED, "PROBE_FAILED")
    assert video_env.exists("video", video.raw_key)
    # The logging handler writes to stderr, one JSON object per line (CloudWatch keeps both streams).
    lines = [json.loads(line) for line in completed.stderr.decode().splitlines() if line.strip()]
    [media_error] = [line for line in lines if line["event"] == "video_transcode_media_error"]
    assert (media_error["job_id"], media_error["error_code"]) == (str(job.id), "PROBE_FAILED")


@pytest.mark.django_db
def test_a_job_running_elsewhere_exits_0_without_touching_it(uploaded_video, in_process_client, caplog):
    video = uploaded_video(b"x" * 10)
    job = make_transcode_job(video, state=JobState.RUNNING, attempts=1, heartbeat_at=timezone.now())

    with caplog.at_level("INFO", logger="apps.worker"):
        code = batch_main.run(job.id, client=in_process_client)

    assert code == 0
    current = Job.objects.get(id=job.id)
    assert (current.state, current.attempts) == (JobState.RUNNING, 1)
    finished = [r for r in caplog.records if r.getMessage() == "batch_finished"]
    assert [(r.outcome, r.state, r.exit_code) for r in finished] == [("skipped", JobState.RUNNING, 0)]


@pytest.mark.django_db
def test_no_job_id_or_an_unknown_one_exits_2(monkeypatch):
    monkeypatch.delenv("VIDEO_JOB_ID", raising=False)

    assert batch_main.main([]) == 2
    assert batch_main.main(["not-a-uuid"]) == 2
    assert batch_main.main([str(uuid.uuid4())]) == 2


def test_job_id_comes_from_argv_first_then_the_environment():
    job_id = uuid.uuid4()

    assert batch_main.job_id_from([str(job_id)], {"VIDEO_JOB_ID": "other"}) == job_id
    assert batch_main.job_id_from([], {"VIDEO_JOB_ID": f" {job_id}\n"}) == job_id
    assert batch_main.job_id_from(["none"], {"VIDEO_JOB_ID": str(job_id)}) == job_id
    assert batch_main.job_id_from([], {}) is None
    assert batch_main.job_id_from(["none"], {}) is None


@pytest.mark.django_db
def test_hard_timeout_reports_timeout_removes_temp_files_and_exits_3(uploaded_video, in_process_client, settings,
                                                                     tmp_path, django_capture_on_commit_callbacks):
    video = uploaded_video(b"x" * 10)
    job = make_transcode_job(video, state=JobState.RUNNING, attempts=1, heartbeat_at=timezone.now())
    leftover = Path(settings.VIDEO_WORKER_TEMP_DIR) / f"video-{job.id}-abc"
    leftover.mkdir(parents=True)
    (leftover / "source.mp4").write_bytes(b"partial")
    other = Path(settings.VIDEO_WORKER_TEMP_DIR) / f"video-{uuid.uuid4()}-def"
    other.mkdir()
    stop, exits = threading.Event(), []
    watchdog = batch_main.HardTimeout(job_id=job.id, stop_event=stop, seconds=1, client=in_process_client,
                                      exit=exits.append)
    watchdog.claimed(1)

    with django_capture_on_commit_callbacks(execute=True):
        watchdog._fire()

    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "TIMEOUT")
    assert Video.objects.get(id=video.id).error_code == "TIMEOUT"
    assert stop.is_set() and exits == [3]
    assert not leftover.exists() and other.exists()


@pytest.mark.django_db
def test_hard_timeout_of_a_superseded_container_leaves_the_new_attempt_running(uploaded_video, in_process_client,
                                                                               django_capture_on_commit_callbacks):
    video = uploaded_video(b"x" * 10)
    # This container claimed attempt 1; the scanner has since handed the job to attempt 2 elsewhere.
    job = make_transcode_job(video, state=JobState.RUNNING, attempts=2, heartbeat_at=timezone.now())
    stop, exits = threading.Event(), []
    watchdog = batch_main.HardTimeout(job_id=job.id, stop_event=stop, seconds=1, client=in_process_client,
                                      exit=exits.append)
    watchdog.claimed(1)

    with django_capture_on_commit_callbacks(execute=True):
        watchdog._fire()

    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_code) == (JobState.RUNNING, 2, "")
    assert stop.is_set() and exits == [3]
