"""Operators' video commands: scan_stuck_video_jobs (heartbeats and Batch on moto), validate_batch_video_system
(moto), delete_r2_legacy (LocalStorage)."""

from datetime import timedelta
from io import StringIO

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.domains.video.models import Video, VideoState
from apps.domains.video.tests import batch_support
from apps.domains.video.tests.batch_support import make_transcode_job
from apps.integrations import batch as batch_module
from apps.integrations.tests import conftest as integrations_fixtures
from apps.jobs.models import Job, JobState
from apps.jobs.registry import get_spec
from apps.jobs.tests import conftest as jobs_fixtures

AWS_REGION = integrations_fixtures.AWS_REGION

video_env = batch_support.video_env
uploaded_video = batch_support.uploaded_video
fake_batch = jobs_fixtures.fake_batch
aws = integrations_fixtures.aws


def _ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def _stale():
    return _ago(get_spec("video_transcode").heartbeat_timeout + 1)


def _scan(*args) -> list[str]:
    out = StringIO()
    call_command("scan_stuck_video_jobs", *args, stdout=out)
    return out.getvalue().splitlines()


def _line(action: str, job: Job, reason: str) -> str:
    job = Job.objects.get(id=job.id)
    return (f"{action} {job.id} tenant={job.tenant_id} state={job.state} attempts={job.attempts}/{job.max_attempts} "
            f"external_id={job.external_id or '-'} reason={reason}")


# ---------------------------------------------------------------------------
# scan_stuck_video_jobs: heartbeats (the shared scanner)
# ---------------------------------------------------------------------------
class TestScanHeartbeats:
    def test_stale_job_with_attempts_left_is_requeued_and_resubmitted(self, uploaded_video, fake_batch):
        video = uploaded_video(b"x" * 10)
        stale = make_transcode_job(video, state=JobState.RUNNING, attempts=1, heartbeat_at=_stale())
        fresh = make_transcode_job(uploaded_video(b"y" * 10), state=JobState.RUNNING, attempts=1,
                                   heartbeat_at=_ago(5))

        lines = _scan()

        stale.refresh_from_db()
        assert (stale.state, stale.external_id, stale.attempts) == (JobState.QUEUED, "batch-1", 1)
        assert fake_batch.submitted == [{"job_name": f"video_transcode-{stale.id}", "job_id": str(stale.id)}]
        assert Job.objects.get(id=fresh.id).state == JobState.RUNNING
        assert lines == [_line("requeued", stale, "heartbeat"), "scan_stuck_video_jobs: requeued=1"]

    def test_stale_job_without_attempts_left_is_dead_and_its_video_failed(self, uploaded_video, fake_batch,
                                                                        django_capture_on_commit_callbacks):
        video = uploaded_video(b"x" * 10)
        job = make_transcode_job(video, state=JobState.RUNNING, attempts=3, heartbeat_at=_stale())
        Video.objects.filter(id=video.id).update(state=VideoState.PROCESSING)

        with django_capture_on_commit_callbacks(execute=True):
            lines = _scan()

        job.refresh_from_db()
        video.refresh_from_db()
        assert (job.state, job.error_code) == (JobState.DEAD, "HEARTBEAT_TIMEOUT")
        assert (video.state, video.error_code) == (VideoState.FAILED, "HEARTBEAT_TIMEOUT")
        assert video.error_message == "작업이 응답하지 않아 중단되었습니다."
        assert fake_batch.submitted == []
        assert lines == [_line("dead", job, "heartbeat"), "scan_stuck_video_jobs: dead=1"]

    def test_queued_job_that_never_reached_batch_is_submitted_after_the_grace(self, uploaded_video, fake_batch,
                                                                              settings):
        settings.JOBS_DISPATCH_GRACE_SECONDS = 30
        old = make_transcode_job(uploaded_video(b"x" * 10), backend="", external_id="")
        Job.objects.filter(id=old.id).update(updated_at=_ago(31))
        young = make_transcode_job(uploaded_video(b"y" * 10), backend="", external_id="")

        lines = _scan()

        assert Job.objects.get(id=old.id).external_id == "batch-1"
        assert Job.objects.get(id=young.id).external_id == ""
        assert [s["job_id"] for s in fake_batch.submitted] == [str(old.id)]
        assert lines == [_line("redispatched", old, "no batch id"), "scan_stuck_video_jobs: redispatched=1"]

    def test_dry_run_reports_and_changes_nothing(self, uploaded_video, fake_batch):
        job = make_transcode_job(uploaded_video(b"x" * 10), state=JobState.RUNNING, attempts=1,
                                 heartbeat_at=_stale())

        lines = _scan("--dry-run")

        assert lines == [_line("would_requeue", job, "heartbeat"),
                         "scan_stuck_video_jobs (dry run): would_requeue=1"]
        current = Job.objects.get(id=job.id)
        assert (current.state, current.external_id) == (JobState.RUNNING, "batch-0")
        assert fake_batch.submitted == []

    def test_nothing_to_do(self, db, fake_batch):
        assert _scan() == ["scan_stuck_video_jobs: nothing to do"]


# ---------------------------------------------------------------------------
# Batch on moto
# ---------------------------------------------------------------------------
def _moto_video_batch(settings, *, queue_state: str = "ENABLED") -> None:
    iam = boto3.client("iam", region_name=AWS_REGION)
    service_role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in (settings.VIDEO_BATCH_JOB_ROLE_NAME, settings.VIDEO_BATCH_EXECUTION_ROLE_NAME):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    client = boto3.client("batch", region_name=AWS_REGION)
    env_arn = client.create_compute_environment(computeEnvironmentName="academy-video-ce", type="UNMANAGED",
                                                state="ENABLED", serviceRole=service_role)["computeEnvironmentArn"]
    client.create_job_queue(jobQueueName=settings.BATCH_JOB_QUEUE, state=queue_state, priority=1,
                            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}])
    client.register_job_definition(jobDefinitionName=settings.BATCH_JOB_DEFINITION, type="container",
                                   containerProperties={"image": "academy/video:latest", "vcpus": 1, "memory": 512,
                                                        "command": ["python", "-m", "apps.worker.video.batch_main",
                                                                    "Ref::job_id"]})
    boto3.client("logs", region_name=AWS_REGION).create_log_group(logGroupName=settings.VIDEO_BATCH_LOG_GROUP)


@pytest.fixture
def moto_batch(aws, settings):
    settings.BATCH_BACKEND = "aws"
    batch_module.reset_batch_for_tests()
    _moto_video_batch(settings)
    yield batch_module.get_batch()
    batch_module.reset_batch_for_tests()


class TestScanBatch:
    def test_running_in_the_database_but_failed_in_batch_is_resubmitted(self, uploaded_video, moto_batch,
                                                                        monkeypatch):
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
        failed_id = moto_batch.submit(job_name="video_transcode-old", job_id="old")
        assert moto_batch.describe([failed_id])[failed_id].status == "FAILED"
        monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER")
        job = make_transcode_job(uploaded_video(b"x" * 10), state=JobState.RUNNING, attempts=1,
                                 heartbeat_at=_ago(5), external_id=failed_id)
        Job.objects.filter(id=job.id).update(updated_at=_ago(60))

        lines = _scan()

        job.refresh_from_db()
        assert (job.state, job.attempts) == (JobState.QUEUED, 1)
        assert job.external_id not in ("", failed_id)
        [submitted] = moto_batch.client.describe_jobs(jobs=[job.external_id])["jobs"]
        assert submitted["parameters"] == {"job_id": str(job.id)}
        assert lines[0].startswith(f"resubmitted {job.id} ") and " reason=batch=FAILED" in lines[0]
        assert lines[1:] == ["scan_stuck_video_jobs: resubmitted=1"]

    def test_absent_in_batch_with_no_attempts_left_is_dead_and_the_video_failed(
            self, uploaded_video, moto_batch, django_capture_on_commit_callbacks):
        video = uploaded_video(b"x" * 10)
        job = make_transcode_job(video, state=JobState.RUNNING, attempts=3, heartbeat_at=_ago(5),
                                 external_id="no-such-batch-job")
        Job.objects.filter(id=job.id).update(updated_at=_ago(60))

        with django_capture_on_commit_callbacks(execute=True):
            lines = _scan()

        job.refresh_from_db()
        assert (job.state, job.error_code) == (JobState.DEAD, "BATCH_JOB_LOST")
        assert Video.objects.get(id=video.id).error_code == "BATCH_JOB_LOST"
        assert lines == [_line("dead", job, "batch=ABSENT (unknown to AWS Batch)"), "scan_stuck_video_jobs: dead=1"]

    def test_queued_job_whose_container_died_before_claiming_counts_an_attempt_and_is_resubmitted(
            self, uploaded_video, moto_batch):
        job = make_transcode_job(uploaded_video(b"x" * 10), external_id="gone-before-claim")
        Job.objects.filter(id=job.id).update(updated_at=_ago(60))

        lines = _scan()

        job.refresh_from_db()
        assert (job.state, job.attempts) == (JobState.QUEUED, 1)
        assert job.external_id not in ("", "gone-before-claim")
        assert lines[1:] == ["scan_stuck_video_jobs: resubmitted=1"]

    def test_queued_job_whose_submit_failed_is_submitted_to_batch(self, uploaded_video, moto_batch, settings):
        settings.JOBS_DISPATCH_GRACE_SECONDS = 30
        job = make_transcode_job(uploaded_video(b"x" * 10), backend="", external_id="")
        Job.objects.filter(id=job.id).update(updated_at=_ago(31))

        lines = _scan()

        job.refresh_from_db()
        [submitted] = moto_batch.client.describe_jobs(jobs=[job.external_id])["jobs"]
        assert (submitted["jobName"], submitted["parameters"]) == (f"video_transcode-{job.id}",
                                                                  {"job_id": str(job.id)})
        assert (job.state, job.backend, job.queue) == (JobState.QUEUED, "batch", settings.BATCH_JOB_QUEUE)
        assert lines == [_line("redispatched", job, "no batch id"), "scan_stuck_video_jobs: redispatched=1"]

    def test_batch_unreachable_skips_the_reconcile_and_says_so(self, uploaded_video, moto_batch, monkeypatch):
        job = make_transcode_job(uploaded_video(b"x" * 10), state=JobState.RUNNING, attempts=1,
                                 heartbeat_at=_ago(5), external_id="some-batch-job")
        Job.objects.filter(id=job.id).update(updated_at=_ago(60))

        def unreachable(ids):
            raise batch_module.BatchError("batch describe_jobs: endpoint unreachable")

        monkeypatch.setattr(moto_batch, "describe", unreachable)

        lines = _scan()

        assert lines == ["batch describe failed, Batch reconcile skipped: batch describe_jobs: endpoint unreachable",
                         "scan_stuck_video_jobs: nothing to do"]
        current = Job.objects.get(id=job.id)
        assert (current.state, current.external_id) == (JobState.RUNNING, "some-batch-job")

    def test_a_row_touched_within_the_grace_is_left_alone(self, uploaded_video, moto_batch):
        job = make_transcode_job(uploaded_video(b"x" * 10), state=JobState.RUNNING, attempts=1,
                                 heartbeat_at=_ago(1), external_id="no-such-batch-job")

        assert _scan() == ["scan_stuck_video_jobs: nothing to do"]
        assert Job.objects.get(id=job.id).external_id == "no-such-batch-job"


# ---------------------------------------------------------------------------
# validate_batch_video_system
# ---------------------------------------------------------------------------
def _validate() -> tuple[int, list[str]]:
    out = StringIO()
    try:
        call_command("validate_batch_video_system", stdout=out)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue().splitlines()


class TestValidate:
    def test_everything_in_place_is_ok(self, db, moto_batch, settings):
        code, lines = _validate()

        assert code == 0
        assert [line.split(" ", 2)[:2] for line in lines] == [
            ["DB_CHECK:", "OK"], ["BATCH_CHECK:", "OK"], ["LOG_CHECK:", "OK"], ["STUCK_CHECK:", "OK"],
            ["IAM_CHECK:", "OK"], ["SYSTEM_STATUS:", "OK"]]
        assert lines[2] == "LOG_CHECK: OK log group /aws/batch/academy-video exists"

    def test_disabled_queue_missing_role_and_stuck_job_need_attention(self, uploaded_video, moto_batch, settings):
        boto3.client("batch", region_name=AWS_REGION).update_job_queue(jobQueue=settings.BATCH_JOB_QUEUE,
                                                                       state="DISABLED")
        boto3.client("iam", region_name=AWS_REGION).delete_role(RoleName=settings.VIDEO_BATCH_EXECUTION_ROLE_NAME)
        settings.JOBS_DISPATCH_GRACE_SECONDS = 30
        stuck = make_transcode_job(uploaded_video(b"x" * 10), backend="", external_id="")
        Job.objects.filter(id=stuck.id).update(updated_at=_ago(31))

        code, lines = _validate()

        assert code == 1
        assert lines == [
            "DB_CHECK: FAIL 1 QUEUED job(s) without a Batch id after 30s",
            f"BATCH_CHECK: FAIL job queue {settings.BATCH_JOB_QUEUE} is DISABLED/VALID",
            "LOG_CHECK: OK log group /aws/batch/academy-video exists",
            "STUCK_CHECK: FAIL scan_stuck_video_jobs would act on 1 job(s): would_redispatch=1",
            f"IAM_CHECK: FAIL role(s) not found: {settings.VIDEO_BATCH_EXECUTION_ROLE_NAME}",
            "SYSTEM_STATUS: NEEDS_ATTENTION",
        ]
        assert Job.objects.get(id=stuck.id).external_id == ""  # the check is a dry run

    def test_missing_log_group_and_job_definition_fail(self, db, moto_batch, settings):
        settings.VIDEO_BATCH_LOG_GROUP = "/aws/batch/other"
        settings.BATCH_JOB_DEFINITION = "no-such-definition"

        code, lines = _validate()

        assert code == 1
        assert lines[1] == "BATCH_CHECK: FAIL job definition no-such-definition has no ACTIVE revision"
        assert lines[2] == "LOG_CHECK: FAIL log group /aws/batch/other not found"
        assert lines[-1] == "SYSTEM_STATUS: NEEDS_ATTENTION"


def test_validate_on_the_local_backend_checks_the_database_and_the_processes(uploaded_video, settings, tmp_path):
    settings.BATCH_BACKEND = "local"
    settings.BATCH_LOCAL_LOG_DIR = tmp_path / "batch-logs"
    batch_module.reset_batch_for_tests()
    finished = make_transcode_job(uploaded_video(b"x" * 10), state=JobState.DONE, external_id="local-999999999")

    code, lines = _validate()

    assert code == 0
    assert lines == [
        "DB_CHECK: OK 1 job(s) in 24h, every QUEUED one has a Batch id",
        "BATCH_CHECK: OK backend local; recent: ABSENT=1",
        f"LOG_CHECK: OK backend local: logs in {tmp_path / 'batch-logs'}",
        "STUCK_CHECK: OK nothing stuck",
        "IAM_CHECK: OK backend local: no roles needed",
        "SYSTEM_STATUS: OK",
    ]
    assert Job.objects.get(id=finished.id).state == JobState.DONE
    batch_module.reset_batch_for_tests()


def test_a_job_that_never_reached_batch_fails_db_check_however_old_it_is(uploaded_video, settings, tmp_path,
                                                                          fake_batch):
    settings.BATCH_BACKEND = "local"
    settings.BATCH_LOCAL_LOG_DIR = tmp_path / "batch-logs"
    settings.JOBS_DISPATCH_GRACE_SECONDS = 30
    batch_module.reset_batch_for_tests()
    lost = make_transcode_job(uploaded_video(b"x" * 10), backend="", external_id="")
    Job.objects.filter(id=lost.id).update(created_at=_ago(2 * 86400), updated_at=_ago(2 * 86400))

    code, lines = _validate()

    assert code == 1
    assert lines[0] == "DB_CHECK: FAIL 1 QUEUED job(s) without a Batch id after 30s"
    assert lines[3] == "STUCK_CHECK: FAIL scan_stuck_video_jobs would act on 1 job(s): would_redispatch=1"
    assert fake_batch.submitted == []
    assert Job.objects.get(id=lost.id).external_id == ""
    batch_module.reset_batch_for_tests()


def test_a_job_held_back_by_the_transcode_limit_is_waiting_not_stuck(uploaded_video, settings, tmp_path,
                                                                     fake_batch):
    settings.BATCH_BACKEND = "local"
    settings.BATCH_LOCAL_LOG_DIR = tmp_path / "batch-logs"
    settings.VIDEO_MAX_RUNNING_PER_TENANT = 1
    settings.JOBS_DISPATCH_GRACE_SECONDS = 30
    batch_module.reset_batch_for_tests()
    make_transcode_job(uploaded_video(b"x" * 10), state=JobState.RUNNING, attempts=1, heartbeat_at=_ago(5),
                       external_id="local-999999999")
    waiting = make_transcode_job(uploaded_video(b"y" * 10), backend="", external_id="")
    Job.objects.filter(id=waiting.id).update(updated_at=_ago(31))

    code, lines = _validate()
    scan = _scan()

    assert code == 0
    assert lines[0] == "DB_CHECK: OK 2 job(s) in 24h, every QUEUED one has a Batch id, 1 waiting for a transcode slot"
    assert lines[3] == "STUCK_CHECK: OK nothing stuck (1 waiting for a transcode slot)"
    assert scan == [_line("waiting", waiting, "no batch id"), "scan_stuck_video_jobs: waiting=1"]
    assert fake_batch.submitted == []
    assert Job.objects.get(id=waiting.id).external_id == ""
    batch_module.reset_batch_for_tests()


# ---------------------------------------------------------------------------
# delete_r2_legacy
# ---------------------------------------------------------------------------
def _delete(*args) -> list[str]:
    out = StringIO()
    call_command("delete_r2_legacy", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def hls_tree(video_env):
    keys = [f"tenants/7/video/hls/42/v0/seg_{i:05d}.ts" for i in range(5)]
    for key in keys:
        video_env.put("video", key, b"ts")
    video_env.put("video", "tenants/7/video/hls/420/master.m3u8", b"other video")
    video_env.put("video", "tenants/7/video/raw/42/lecture.mp4", b"raw")
    return keys


@pytest.mark.parametrize("prefix", ["", "/", "tenants", "tenants/7", "tenants/7/video", "tenants/7/video/",
                                    "videos/7/video/hls", "tenants/x/video/hls", "tenants/7/video/../../8",
                                    "/tenants/7/video/hls"])
def test_delete_refuses_empty_short_or_foreign_prefixes_and_deletes_nothing(hls_tree, video_env, prefix):
    with pytest.raises(CommandError, match="refused prefix"):
        _delete("--bucket", "video", "--prefix", prefix)

    assert len(list(video_env.list_prefix("video", "tenants/"))) == 7


def test_delete_dry_run_counts_pages_and_deletes_nothing(hls_tree, video_env):
    lines = _delete("--bucket", "video", "--prefix", "tenants/7/video/hls/42", "--page-size", "2", "--dry-run")

    assert lines == ["video/tenants/7/video/hls/42/: 5 object(s) in 3 page(s)", "dry run: would delete 5 object(s)"]
    assert len(list(video_env.list_prefix("video", "tenants/"))) == 7


def test_delete_removes_the_tree_in_pages_and_nothing_beside_it(hls_tree, video_env):
    lines = _delete("--bucket", "video", "--prefix", "tenants/7/video/hls/42", "--page-size", "2")

    assert lines == [
        "video/tenants/7/video/hls/42/: 5 object(s) in 3 page(s)",
        "page 1/3: deleted 2 (total 2/5)",
        "page 2/3: deleted 2 (total 4/5)",
        "page 3/3: deleted 1 (total 5/5)",
        "deleted 5 object(s)",
    ]
    assert [info.key for info in video_env.list_prefix("video", "tenants/")] == [
        "tenants/7/video/hls/420/master.m3u8", "tenants/7/video/raw/42/lecture.mp4"]
