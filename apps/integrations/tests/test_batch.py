"""Batch port: AwsBatch on moto (no containers run) and LocalBatch running real subprocesses."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from apps.integrations import batch as batch_module
from apps.integrations.batch import ABSENT, AwsBatch, BatchError, LocalBatch, aws_job_name, get_batch
from apps.worker.tests.support import wait_until

from .conftest import AWS_REGION

EXIT_WITH_JOB_ID = [sys.executable, "-c",
                    "import os, sys; print('job', os.environ['VIDEO_JOB_ID'], flush=True); sys.exit(int(sys.argv[1]))"]
BLOCK_UNTIL_SIGNALLED = [sys.executable, "-c", "import threading; threading.Event().wait(120)"]


@pytest.fixture
def aws_batch(aws, settings):
    iam = boto3.client("iam", region_name=AWS_REGION)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("batch", region_name=AWS_REGION)
    env_arn = client.create_compute_environment(computeEnvironmentName="academy-video-ce", type="UNMANAGED",
                                                state="ENABLED", serviceRole=role)["computeEnvironmentArn"]
    client.create_job_queue(jobQueueName="academy-video-queue", state="ENABLED", priority=1,
                            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}])
    client.register_job_definition(jobDefinitionName="academy-video-transcode", type="container",
                                   containerProperties={"image": "academy/video:latest", "vcpus": 1, "memory": 512,
                                                        "command": ["python", "-m", "apps.worker.video.batch_main",
                                                                    "Ref::job_id"]})
    settings.BATCH_JOB_QUEUE = "academy-video-queue"
    settings.BATCH_JOB_DEFINITION = "academy-video-transcode"
    return AwsBatch()


class TestAwsBatch:
    def test_submit_passes_the_job_id_as_parameter_and_env(self, aws_batch):
        external_id = aws_batch.submit(job_name="video-transcode t1/강의", job_id="7d3e")

        [job] = aws_batch.client.describe_jobs(jobs=[external_id])["jobs"]
        assert job["jobName"] == "video-transcode-t1---"
        assert job["jobQueue"].endswith("/academy-video-queue")
        assert job["parameters"] == {"job_id": "7d3e"}
        assert {"name": "VIDEO_JOB_ID", "value": "7d3e"} in job["container"]["environment"]

    def test_describe_reports_aws_status_and_absent_for_unknown_ids(self, aws_batch):
        external_id = aws_batch.submit(job_name="v", job_id="1")

        described = aws_batch.describe([external_id, "no-such-job"])

        assert described[external_id].status == "SUCCEEDED"
        assert described["no-such-job"].status == ABSENT

    def test_describe_reports_failed_jobs(self, aws_batch, monkeypatch):
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
        external_id = aws_batch.submit(job_name="v", job_id="1")

        assert aws_batch.describe([external_id])[external_id].status == "FAILED"

    def test_describe_asks_in_chunks_of_100(self, aws_batch):
        real = aws_batch.client.describe_jobs
        sizes = []

        def spy(**kwargs):
            sizes.append(len(kwargs["jobs"]))
            return real(**kwargs)

        aws_batch.client.describe_jobs = spy
        ids = [f"missing-{i}" for i in range(150)]

        described = aws_batch.describe(ids)

        assert sizes == [100, 50]
        assert len(described) == 150
        assert {info.status for info in described.values()} == {ABSENT}

    def test_terminate_calls_aws(self, aws_batch):
        external_id = aws_batch.submit(job_name="v", job_id="1")
        calls = []
        real = aws_batch.client.terminate_job
        aws_batch.client.terminate_job = lambda **kw: calls.append(kw) or real(**kw)

        aws_batch.terminate(external_id, reason="사용자가 취소했습니다")

        assert calls == [{"jobId": external_id, "reason": "사용자가 취소했습니다"}]

    def test_missing_job_queue_is_a_batch_error(self, aws_batch, settings):
        settings.BATCH_JOB_QUEUE = "no-such-queue"

        with pytest.raises(BatchError):
            aws_batch.submit(job_name="v", job_id="1")


def test_aws_job_name_is_made_valid():
    assert aws_job_name("video transcode/1") == "video-transcode-1"
    assert aws_job_name("__x") == "x"
    assert aws_job_name("한글") == "job"
    assert len(aws_job_name("a" * 300)) == 128


@pytest.fixture
def local_batch(settings, tmp_path):
    settings.BATCH_LOCAL_LOG_DIR = tmp_path / "batch-logs"
    settings.BATCH_LOCAL_COMMAND = EXIT_WITH_JOB_ID
    return LocalBatch()


class TestLocalBatch:
    def test_a_command_exiting_0_succeeds_with_its_log(self, local_batch, settings):
        external_id = local_batch.submit(job_name="video-transcode", job_id="0")

        info = local_batch.wait(external_id, timeout=30)

        assert external_id.startswith("local-")
        assert info.status == "SUCCEEDED"
        assert [log.name for log in settings.BATCH_LOCAL_LOG_DIR.iterdir()] == ["video-transcode-0.log"]
        assert (settings.BATCH_LOCAL_LOG_DIR / "video-transcode-0.log").read_text() == "job 0\n"

    def test_a_command_exiting_3_fails_with_the_exit_code(self, local_batch):
        external_id = local_batch.submit(job_name="video-transcode", job_id="3")

        info = local_batch.wait(external_id, timeout=30)

        assert (info.status, info.status_reason) == ("FAILED", "exit code 3")
        assert local_batch.describe([external_id]) == {external_id: info}

    def test_running_job_can_be_terminated(self, local_batch, settings):
        settings.BATCH_LOCAL_COMMAND = BLOCK_UNTIL_SIGNALLED
        external_id = local_batch.submit(job_name="video-transcode", job_id="9")
        assert local_batch.describe([external_id])[external_id].status == "RUNNING"

        local_batch.terminate(external_id, reason="cancelled")
        info = local_batch.wait(external_id, timeout=30)

        assert (info.status, info.status_reason) == ("FAILED", "killed by signal 15: cancelled")
        local_batch.terminate(external_id, reason="again")
        assert local_batch.describe([external_id])[external_id].status_reason == "killed by signal 15: cancelled"

    def test_runs_in_its_own_session(self, local_batch, settings):
        settings.BATCH_LOCAL_COMMAND = BLOCK_UNTIL_SIGNALLED
        external_id = local_batch.submit(job_name="v", job_id="1")
        pid = LocalBatch._pid(external_id)
        try:
            assert os.getsid(pid) == pid
            assert os.getsid(pid) != os.getsid(0)
        finally:
            local_batch.terminate(external_id, reason="test over")
            local_batch.wait(external_id, timeout=30)

    def test_another_process_sees_live_pids_running_and_dead_ones_absent(self, local_batch):
        finished = local_batch.submit(job_name="v", job_id="0")
        local_batch.wait(finished, timeout=30)
        LocalBatch._runs.pop(LocalBatch._pid(finished))
        alive = f"local-{os.getpid()}"

        described = local_batch.describe([alive, finished, "local-x", "aws-123"])

        assert described[alive].status == "RUNNING"
        assert described[finished].status == ABSENT
        assert described["local-x"].status == ABSENT
        assert described["aws-123"].status == ABSENT

    def test_a_killed_run_is_reaped_so_no_process_reads_it_as_running(self, local_batch, settings):
        # Given a run this process started, killed from outside (as an OOM killer or an operator would)
        settings.BATCH_LOCAL_COMMAND = BLOCK_UNTIL_SIGNALLED
        external_id = local_batch.submit(job_name="v", job_id="11")
        pid = LocalBatch._pid(external_id)
        run = LocalBatch._runs[pid]
        os.kill(pid, signal.SIGKILL)

        # When the reaper has waited for it (nobody in this test calls wait or poll)
        wait_until(lambda: run.process.returncode is not None, timeout=30)

        # Then no zombie is left, and a scanner in another process (no entry in _runs) reads the run as gone
        assert not Path(f"/proc/{pid}").exists()
        LocalBatch._runs.pop(pid)
        assert local_batch.describe([external_id])[external_id].status == ABSENT

    def test_another_process_reads_an_unreaped_zombie_as_ended(self, local_batch):
        # Given a child of this test that exited and was not waited for: a zombie, alive to signal 0
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        wait_until(lambda: Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z",
                   timeout=30)
        try:
            info = local_batch.describe([f"local-{child.pid}"])[f"local-{child.pid}"]
        finally:
            child.wait()

        assert (info.status, info.status_reason) == (ABSENT, "process ended (not yet reaped by its parent)")

    def test_a_recycled_pid_is_not_mistaken_for_the_run(self, local_batch):
        # The pid of this test process, named with a job id it is not running
        external_id = f"local-{os.getpid()}:0c7b6f7e-6c1d-4f5b-9d43-2a8f9e0b1c2d"

        info = local_batch.describe([external_id])[external_id]

        assert (info.status, info.status_reason) == (ABSENT, "pid now belongs to another process")

    def test_default_command_is_this_interpreter_running_the_video_entrypoint(self, settings):
        settings.BATCH_LOCAL_COMMAND = []

        assert LocalBatch.command() == [sys.executable, "-m", "apps.worker.video.batch_main"]

    def test_unstartable_command_is_a_batch_error(self, local_batch, settings, tmp_path):
        settings.BATCH_LOCAL_COMMAND = [str(tmp_path / "no-such-binary")]

        with pytest.raises(BatchError):
            local_batch.submit(job_name="v", job_id="1")


def test_get_batch_follows_settings(settings):
    batch_module.reset_batch_for_tests()
    try:
        settings.BATCH_BACKEND = "local"
        assert isinstance(get_batch(), LocalBatch)
        assert get_batch() is get_batch()
        batch_module.reset_batch_for_tests()
        settings.BATCH_BACKEND = "aws"
        assert isinstance(get_batch(), AwsBatch)
    finally:
        batch_module.reset_batch_for_tests()
