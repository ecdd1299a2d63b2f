"""The deployment readiness check (docs/deploy.md §11) against moto in server mode on loopback, the fake Solapi, a
live API under gunicorn and the real Postgres and Redis: every check passes on a complete world, and each missing
piece fails with its own line."""

import json
import os
import stat
import subprocess
import sys
import time

import boto3
import psycopg2
import pytest
from django.db import connection

from apps.integrations import readiness
from apps.integrations.bucket_rules import bucket_rules, bucket_rules_apply
from apps.integrations.queues import configured_queue_names, dlq_name, sqs_ensure_queues
from apps.integrations.readiness import CheckResult, DockerOptions, readiness_run, run_check
from apps.integrations.storage import LOGICAL_BUCKETS
from apps.jobs.scheduler import HEARTBEAT_CACHE_KEY, LOCK_CLASS_ID, LOCK_OBJECT_ID, scheduler_heartbeat_record
from apps.worker.tests.support import REPO_ROOT, free_port, running_api_server

AWS_REGION = "ap-northeast-2"
ORIGIN = "https://admin.example.com"
STRONG_TOKEN = "w" * 40
STRONG_KEY = "l" * 40
SECRET_KEY = "s" * 60
BUCKETS = ["academy-ai", "academy-video", "academy-excel", "academy-storage"]
ALL_CHECKS = (["production settings", "database", "redis"]
              + [f"queue {name}" for name in ["academy-excel-jobs", "academy-messaging-jobs", "academy-ai-jobs-lite",
                                             "academy-ai-jobs-basic", "academy-ai-jobs-premium"]]
              + [f"bucket {name}" for name in BUCKETS]
              + ["batch job queue", "batch job definition", "batch roles", "internal secrets", "API health",
                 "scheduler", "messaging provider"])


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def cloud(moto_server, monkeypatch, settings):
    """Settings and environment that send every AWS and R2 call to the moto server, emptied before the test."""
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": AWS_REGION, "AWS_ENDPOINT_URL": moto_server}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    settings.AWS_REGION = AWS_REGION
    settings.R2_ENDPOINT_URL = moto_server
    settings.R2_ACCESS_KEY_ID = "testing"
    settings.R2_SECRET_ACCESS_KEY = "testing"
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    return moto_server


def client(service: str, endpoint: str):
    return boto3.client(service, region_name=AWS_REGION, endpoint_url=endpoint)


def create_batch(endpoint: str, settings, *, queue_state: str = "ENABLED", definition: bool = True,
                 roles: tuple[str, ...] | None = None) -> None:
    iam = client("iam", endpoint)
    service_role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in (settings.VIDEO_BATCH_JOB_ROLE_NAME, settings.VIDEO_BATCH_EXECUTION_ROLE_NAME) if roles is None \
            else roles:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    batch = client("batch", endpoint)
    env_arn = batch.create_compute_environment(computeEnvironmentName="academy-video-ce", type="UNMANAGED",
                                               state="ENABLED", serviceRole=service_role)["computeEnvironmentArn"]
    batch.create_job_queue(jobQueueName=settings.BATCH_JOB_QUEUE, state=queue_state, priority=1,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}])
    if definition:
        batch.register_job_definition(jobDefinitionName=settings.BATCH_JOB_DEFINITION, type="container",
                                      containerProperties={"image": "academy-video-worker:latest", "vcpus": 1,
                                                           "memory": 512})


def create_buckets(endpoint: str, *, rules: bool = True) -> None:
    s3 = client("s3", endpoint)
    for name in BUCKETS:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    if rules:
        bucket_rules_apply(rules=bucket_rules(origins=[ORIGIN]))


@pytest.fixture
def scheduler_running(db):
    """Another session holds the scheduler's lock (as run_scheduler does), and a pass was just recorded."""
    params = connection.get_connection_params()
    holder = psycopg2.connect(**{key: params[key] for key in ("host", "port", "dbname", "user", "password")
                                 if params.get(key) is not None})
    holder.autocommit = True
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS_ID, LOCK_OBJECT_ID])
    scheduler_heartbeat_record()
    yield holder
    holder.close()
    from django.core.cache import cache

    cache.delete(HEARTBEAT_CACHE_KEY)


@pytest.fixture
def production_like(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = SECRET_KEY
    settings.INTERNAL_WORKER_TOKEN = STRONG_TOKEN
    settings.LAMBDA_INTERNAL_API_KEY = STRONG_KEY
    settings.STORAGE_BACKEND = "r2"
    settings.QUEUE_BACKEND = "sqs"
    settings.BATCH_BACKEND = "aws"
    settings.DB_HOST = "127.0.0.1"
    settings.MESSAGING_WEBHOOK_SECRET = ""
    settings.R2_ENDPOINT_URL = settings.R2_ENDPOINT_URL or "https://account.r2.example.com"
    settings.R2_ACCESS_KEY_ID = "testing"
    settings.R2_SECRET_ACCESS_KEY = "testing"


@pytest.fixture
def world(cloud, settings, production_like, scheduler_running, fake_solapi):
    """Everything the templates and scripts create: queues, buckets with their rules, Batch, a working scheduler,
    Solapi credentials that answer. The API is pointed at a closed port: tests of the API line start one."""
    sqs_ensure_queues(AWS_REGION)
    create_buckets(cloud)
    create_batch(cloud, settings)
    settings.API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    return cloud


def result(name: str, *, local: bool = False) -> CheckResult:
    checks = dict(readiness.readiness_checks(local=local))
    return run_check(name, checks[name], local=local)


def line(name: str, *, local: bool = False) -> str:
    return result(name, local=local).render()


def visible_messages(sqs, name: str) -> int:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


# ---------------------------------------------------------------------------
# Everything in place
# ---------------------------------------------------------------------------
def test_every_check_passes_on_a_complete_world_and_no_queued_message_is_received(world, settings, tmp_path):
    sqs = client("sqs", world)
    queue_url = sqs.get_queue_url(QueueName="academy-excel-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"job_id": "waiting"}))

    with running_api_server(log_path=tmp_path / "api.log") as base_url:
        settings.API_BASE_URL = base_url
        report = readiness_run()

    assert report.lines() == [f"[PASS] {name}" for name in ALL_CHECKS] + [f"통과: {len(ALL_CHECKS)}/{len(ALL_CHECKS)}"]
    assert report.exit_code == 0
    # Only GetQueueAttributes: the message is still there, visible, never received.
    assert visible_messages(sqs, "academy-excel-jobs") == 1
    received = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert received[0]["Attributes"]["ApproximateReceiveCount"] == "1"


def script_environment(settings, **extra: str) -> dict[str, str]:
    """The production settings' environment for the script, on the test database and the test's services."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "AWS_"))}
    environment.update({
        "ENV_FILE": "/dev/null", "DB_HOST": "127.0.0.1", "DB_NAME": connection.settings_dict["NAME"],
        "REDIS_URL": settings.REDIS_URL, "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX, "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": "api.example.com", "INTERNAL_WORKER_TOKEN": STRONG_TOKEN,
        "LAMBDA_INTERNAL_API_KEY": STRONG_KEY, "STORAGE_BACKEND": "r2", "QUEUE_BACKEND": "sqs", "BATCH_BACKEND": "aws",
        "R2_ENDPOINT_URL": settings.R2_ENDPOINT_URL, "R2_ACCESS_KEY_ID": "testing", "R2_SECRET_ACCESS_KEY": "testing",
        "CORS_ALLOWED_ORIGINS": ORIGIN, "AWS_REGION": AWS_REGION, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": settings.R2_ENDPOINT_URL,
        "MESSAGING_PROVIDER": "solapi", "SOLAPI_API_KEY": settings.SOLAPI_API_KEY,
        "SOLAPI_API_SECRET": settings.SOLAPI_API_SECRET, "SOLAPI_BASE_URL": settings.SOLAPI_BASE_URL,
        "API_BASE_URL": settings.API_BASE_URL, "MESSAGING_WEBHOOK_SECRET": "", "SENTRY_DSN": "",
    })
    environment.update(extra)
    return environment


def run_script(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/deployment_readiness_check.py", *args], cwd=REPO_ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)


def fake_docker(tmp_path, *, missing: str = "", broken: str = "") -> str:
    """A `docker` on PATH: `image inspect` knows every image but `missing`; `run` fails inside `broken`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "docker.log"
    script = bin_dir / "docker"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {log}
if [ "$1 $2" = "image inspect" ]; then
  [ "$3" = "{missing}" ] && {{ echo "Error: No such image: $3" >&2; exit 1; }}
  echo '[{{}}]'; exit 0
fi
if [ "$1" = "run" ]; then
  for arg in "$@"; do
    if [ "$arg" = "{broken}" ]; then
      echo "Traceback" >&2
      echo "ModuleNotFoundError: No module named 'apps.worker.ai'" >&2
      exit 1
    fi
  done
  exit 0
fi
exit 2
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def test_the_script_on_production_settings_passes_everything_with_docker_and_exits_0(world, settings, tmp_path):
    bin_dir = fake_docker(tmp_path)
    env_file = tmp_path / "release.env"
    env_file.write_text("DJANGO_SETTINGS_MODULE=apps.api.config.settings.prod\n")

    with running_api_server(log_path=tmp_path / "api.log") as base_url:
        settings.API_BASE_URL = base_url
        environment = script_environment(settings, PATH=f"{bin_dir}:{os.environ['PATH']}")
        done = run_script(environment, "--docker", "--registry", "123.dkr.ecr.example/", "--tag", "v7",
                          "--env-file", str(env_file))

    images = list(readiness.IMAGES)
    expected = ALL_CHECKS + [f"image {image}" for image in images]
    summary = f"통과: {len(expected)}/{len(expected)}"
    assert done.stdout.splitlines() == [f"[PASS] {name}" for name in expected] + [summary]
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "docker.log").read_text().splitlines()
    assert calls[:2] == [
        "image inspect 123.dkr.ecr.example/academy-base:v7",
        f"run --rm --entrypoint python --env-file {env_file} 123.dkr.ecr.example/academy-base:v7 -c "
        "import django; django.setup()",
    ]
    assert calls[3] == (f"run --rm --entrypoint python --env-file {env_file} 123.dkr.ecr.example/academy-api:v7 -c "
                        "import django; django.setup(); import apps.api.config.wsgi; "
                        "import apps.jobs.management.commands.run_scheduler")
    assert len(calls) == 2 * len(images)


def test_the_script_reports_settings_prod_refuses_as_one_line_and_still_runs_the_others(world, settings):
    environment = script_environment(settings, INTERNAL_WORKER_TOKEN="short", DEBUG="true", SECRET_KEY="")

    done = run_script(environment)

    lines = done.stdout.splitlines()
    assert lines[0] == ("[FAIL] production settings: DEBUG must be off; SECRET_KEY is required; "
                        "INTERNAL_WORKER_TOKEN is shorter than 32 characters")
    assert "[FAIL] internal secrets: INTERNAL_WORKER_TOKEN is shorter than 32 characters" in lines
    assert "[PASS] queue academy-excel-jobs" in lines
    api_line = f"[FAIL] API health: {settings.API_BASE_URL}/health did not answer (ConnectionError)"
    assert api_line in lines
    assert lines[-1] == f"통과: {len(ALL_CHECKS) - 3}/{len(ALL_CHECKS)}"
    assert done.returncode == 1


# ---------------------------------------------------------------------------
# One missing piece at a time
# ---------------------------------------------------------------------------
def test_a_missing_queue_fails_its_line(world):
    sqs = client("sqs", world)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="academy-messaging-jobs")["QueueUrl"])

    assert line("queue academy-messaging-jobs") == ("[FAIL] queue academy-messaging-jobs: "
                                                    "queue academy-messaging-jobs not found")
    assert line("queue academy-excel-jobs") == "[PASS] queue academy-excel-jobs"


def test_a_missing_dlq_fails_its_queue(world):
    sqs = client("sqs", world)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="academy-excel-jobs-dlq")["QueueUrl"])

    assert line("queue academy-excel-jobs") == ("[FAIL] queue academy-excel-jobs: "
                                                "DLQ academy-excel-jobs-dlq not found")


def test_a_redrive_to_another_queue_or_with_another_count_fails(world, settings):
    sqs = client("sqs", world)
    url = sqs.get_queue_url(QueueName="academy-ai-jobs-lite")["QueueUrl"]
    other = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="academy-ai-jobs-basic-dlq")["QueueUrl"],
                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": other, "maxReceiveCount": "9"})})

    assert line("queue academy-ai-jobs-lite") == (
        "[FAIL] queue academy-ai-jobs-lite: redrive goes to academy-ai-jobs-basic-dlq, not academy-ai-jobs-lite-dlq; "
        f"redrive maxReceiveCount 9, expected {settings.SQS_MAX_RECEIVE_COUNT}")


def test_a_queue_without_redrive_fails(world):
    sqs = client("sqs", world)
    url = sqs.get_queue_url(QueueName="academy-excel-jobs")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})

    assert line("queue academy-excel-jobs") == "[FAIL] queue academy-excel-jobs: no redrive policy"


def test_a_visibility_other_than_the_fleet_tables_fails(world, settings):
    sqs = client("sqs", world)
    url = sqs.get_queue_url(QueueName="academy-ai-jobs-premium")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30"})

    assert line("queue academy-ai-jobs-premium") == ("[FAIL] queue academy-ai-jobs-premium: "
                                                     "visibility 30s, expected 3600s")
    # The fleet table is the reference: the same queue passes once the table says 30 s.
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS,
                              "ai": {**settings.WORKER_FLEETS["ai"], "queue_visibility_seconds": 30}}
    assert line("queue academy-ai-jobs-premium") == "[PASS] queue academy-ai-jobs-premium"


def test_the_check_agrees_with_create_sqs_resources_after_a_fleet_change(world, settings):
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS,
                              "excel": {**settings.WORKER_FLEETS["excel"], "queue_visibility_seconds": 900}}
    assert line("queue academy-excel-jobs") == "[FAIL] queue academy-excel-jobs: visibility 300s, expected 900s"

    sqs_ensure_queues(AWS_REGION)

    assert [line(f"queue {name}") for name in configured_queue_names()] == [
        f"[PASS] queue {name}" for name in configured_queue_names()]


def test_a_missing_bucket_fails_its_line(cloud, settings):
    s3 = client("s3", cloud)
    s3.create_bucket(Bucket="academy-ai", CreateBucketConfiguration={"LocationConstraint": AWS_REGION})

    assert line("bucket academy-video") == "[FAIL] bucket academy-video: bucket academy-video not found"


def test_missing_cors_or_lifecycle_rules_fail_the_bucket(world):
    s3 = client("s3", world)
    s3.delete_bucket_cors(Bucket="academy-video")
    s3.delete_bucket_lifecycle(Bucket="academy-excel")

    assert line("bucket academy-video") == ("[FAIL] bucket academy-video: CORS rules are not configure_buckets.py's "
                                            "(run scripts/configure_buckets.py)")
    assert line("bucket academy-excel") == ("[FAIL] bucket academy-excel: lifecycle rules are not "
                                            "configure_buckets.py's (run scripts/configure_buckets.py)")
    assert line("bucket academy-ai") == "[PASS] bucket academy-ai"


def test_cors_for_other_origins_than_the_settings_fails(world, settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN, "https://teacher.example.com"]

    assert line("bucket academy-storage") == ("[FAIL] bucket academy-storage: CORS rules are not "
                                              "configure_buckets.py's (run scripts/configure_buckets.py)")


def test_a_disabled_job_queue_fails(cloud, settings):
    create_batch(cloud, settings, queue_state="DISABLED")

    assert line("batch job queue") == ("[FAIL] batch job queue: job queue academy-video-queue is DISABLED/VALID, "
                                       "expected ENABLED/VALID")
    assert line("batch job definition") == "[PASS] batch job definition"


def test_a_missing_job_queue_or_definition_fails(cloud, settings):
    assert line("batch job queue") == "[FAIL] batch job queue: job queue academy-video-queue not found"
    create_batch(cloud, settings, definition=False)

    assert line("batch job definition") == ("[FAIL] batch job definition: job definition academy-video-transcode "
                                            "has no ACTIVE revision")


def test_a_missing_role_fails(cloud, settings):
    create_batch(cloud, settings, roles=(settings.VIDEO_BATCH_JOB_ROLE_NAME,))

    assert line("batch roles") == f"[FAIL] batch roles: role(s) not found: {settings.VIDEO_BATCH_EXECUTION_ROLE_NAME}"


@pytest.mark.parametrize(("token", "key", "reason"), [
    ("short-token", STRONG_KEY, "INTERNAL_WORKER_TOKEN is shorter than 32 characters"),
    (STRONG_TOKEN, "   ", "LAMBDA_INTERNAL_API_KEY is required"),
    ("", "x" * 31, "INTERNAL_WORKER_TOKEN is required; LAMBDA_INTERNAL_API_KEY is shorter than 32 characters"),
])
def test_a_weak_internal_secret_fails(settings, token, key, reason):
    settings.INTERNAL_WORKER_TOKEN = token
    settings.LAMBDA_INTERNAL_API_KEY = key

    assert line("internal secrets") == f"[FAIL] internal secrets: {reason}"


def test_production_settings_name_each_problem(settings, production_like):
    assert line("production settings") == "[PASS] production settings"
    settings.DEBUG = True
    settings.QUEUE_BACKEND = "table"

    assert line("production settings") == ("[FAIL] production settings: DEBUG must be off; "
                                           "QUEUE_BACKEND must be sqs, not 'table'")


@pytest.fixture
def unhealthy_api():
    """An API whose /health answers as ours does when its database is gone."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Unhealthy(BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def do_GET(self):
            body = json.dumps({"status": "unhealthy", "database": "disconnected", "redis": "connected"}).encode()
            self.send_response(503 if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unhealthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_health_down_or_without_its_database_fails(settings, unhealthy_api):
    port = free_port()
    settings.API_BASE_URL = f"http://127.0.0.1:{port}"
    assert line("API health") == f"[FAIL] API health: http://127.0.0.1:{port}/health did not answer (ConnectionError)"

    settings.API_BASE_URL = unhealthy_api + "/"
    assert line("API health") == f"[FAIL] API health: {unhealthy_api}/health answered HTTP 503, database disconnected"


def test_no_scheduler_holding_the_lock_fails(db):
    assert line("scheduler") == "[FAIL] scheduler: no run_scheduler holds the scheduler lock"


def test_a_scheduler_holding_the_lock_but_not_passing_fails(scheduler_running, settings):
    from django.core.cache import cache

    cache.delete(HEARTBEAT_CACHE_KEY)
    assert line("scheduler") == "[FAIL] scheduler: the scheduler holds its lock but recorded no pass"

    scheduler_heartbeat_record(now=time.time() - 120)
    settings.JOBS_SCHEDULER_INTERVAL_SECONDS = 2.0
    assert line("scheduler") == "[FAIL] scheduler: last pass 120s ago (more than 60s)"

    scheduler_heartbeat_record()
    assert line("scheduler") == "[PASS] scheduler"


def test_refused_provider_credentials_fail(fake_solapi, settings):
    assert line("messaging provider") == "[PASS] messaging provider"
    settings.SOLAPI_API_SECRET = "not-the-secret-the-provider-knows"

    assert line("messaging provider").startswith("[FAIL] messaging provider: credentials refused (solapi balance: "
                                                 "HTTP 401")


def test_the_outbox_provider_is_skipped(settings):
    settings.MESSAGING_PROVIDER = "outbox"

    assert line("messaging provider") == "[SKIP] messaging provider: MESSAGING_PROVIDER=outbox: no provider to ask"


def test_an_unapplied_migration_fails_the_database(db):
    from django.db.migrations.recorder import MigrationRecorder

    latest = MigrationRecorder.Migration.objects.filter(app="jobs").order_by("-name").first()
    MigrationRecorder.Migration.objects.filter(id=latest.id).delete()

    assert line("database") == f"[FAIL] database: 1 unapplied migration(s): jobs.{latest.name} (run manage.py migrate)"


def test_redis_that_does_not_answer_fails(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    assert line("redis") == "[FAIL] redis: no answer (ConnectionError)"


# ---------------------------------------------------------------------------
# --local, --docker
# ---------------------------------------------------------------------------
def test_local_skips_the_cloud_without_credentials_or_endpoint_and_fails_it_otherwise(settings, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.R2_ACCESS_KEY_ID = ""
    settings.MESSAGING_PROVIDER = "solapi"
    settings.SOLAPI_API_KEY = "NCSKEY"
    settings.SOLAPI_API_SECRET = "secret"
    settings.SOLAPI_BASE_URL = f"http://127.0.0.1:{free_port()}"

    local = {name: result(name, local=True) for name in
             ("queue academy-excel-jobs", "bucket academy-ai", "batch job queue", "batch roles", "messaging provider")}
    remote = result("queue academy-excel-jobs")

    assert {name: found.status for name, found in local.items()} == dict.fromkeys(local, "SKIP")
    assert local["queue academy-excel-jobs"].render() == ("[SKIP] queue academy-excel-jobs: could not be asked "
                                                          "(NoCredentialsError: Unable to locate credentials)")
    assert local["bucket academy-ai"].render() == ("[SKIP] bucket academy-ai: R2_ACCESS_KEY_ID and "
                                                   "R2_SECRET_ACCESS_KEY are not set")
    assert local["messaging provider"].render().startswith("[SKIP] messaging provider: could not be asked "
                                                           "(ConnectionError: ")
    assert remote.render() == ("[FAIL] queue academy-excel-jobs: could not be asked "
                               "(NoCredentialsError: Unable to locate credentials)")


def test_local_skips_an_unreachable_endpoint(cloud, monkeypatch, settings):
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    settings.R2_ENDPOINT_URL = closed

    local = [result(name, local=True) for name in ("queue academy-ai-jobs-lite", "bucket academy-excel",
                                                   "batch job definition")]

    assert [found.status for found in local] == ["SKIP", "SKIP", "SKIP"]
    assert all(found.reason.startswith("could not be asked (EndpointConnectionError: ") for found in local)
    assert result("batch job definition").status == "FAIL"


def docker_result(image: str, tmp_path, monkeypatch, *, local: bool = False, **fake) -> CheckResult:
    monkeypatch.setenv("PATH", f"{fake_docker(tmp_path, **fake)}:/usr/bin:/bin")
    checks = dict(readiness.readiness_checks(local=local, docker=DockerOptions()))
    return run_check(f"image {image}", checks[f"image {image}"], local=local)


def test_a_missing_image_or_one_whose_modules_fail_fails(tmp_path, monkeypatch):
    assert docker_result("academy-api", tmp_path, monkeypatch, missing="academy-api:latest").render() == (
        "[FAIL] image academy-api: image academy-api:latest not found")
    assert docker_result("academy-ai-worker-cpu", tmp_path / "b", monkeypatch,
                         broken="academy-ai-worker-cpu:latest").render() == (
        "[FAIL] image academy-ai-worker-cpu: Django or apps.jobs.management.commands.run_worker, apps.worker.ai, "
        "apps.worker.excel failed inside it: ModuleNotFoundError: No module named 'apps.worker.ai'")


def test_a_docker_whose_daemon_does_not_answer_fails_or_is_skipped_with_local(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\necho '[]'\necho 'Cannot connect to the Docker daemon at "
                                    "unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n")
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    checks = dict(readiness.readiness_checks(docker=DockerOptions()))
    reason = ("docker could not be asked: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
              "Is the docker daemon running?")

    assert run_check("image academy-api", checks["image academy-api"], local=False).render() == (
        f"[FAIL] image academy-api: {reason}")
    assert run_check("image academy-api", checks["image academy-api"], local=True).render() == (
        f"[SKIP] image academy-api: {reason}")


def test_no_docker_binary_fails_or_is_skipped_with_local(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    checks = dict(readiness.readiness_checks(docker=DockerOptions()))

    assert run_check("image academy-base", checks["image academy-base"], local=False).render() == (
        "[FAIL] image academy-base: no docker binary on PATH")
    assert run_check("image academy-base", checks["image academy-base"], local=True).render() == (
        "[SKIP] image academy-base: no docker binary on PATH")


def test_the_summary_counts_passes_over_all_and_exit_is_1_only_on_a_fail():
    report = readiness.ReadinessReport([CheckResult("a", "PASS"), CheckResult("b", "SKIP", "why")])
    assert report.lines() == ["[PASS] a", "[SKIP] b: why", "통과: 1/2"]
    assert report.exit_code == 0
    report.results.append(CheckResult("c", "FAIL", "broken"))
    assert (report.lines()[-1], report.exit_code) == ("통과: 1/3", 1)


def test_every_logical_bucket_and_queue_has_a_line():
    names = [name for name, _check in readiness.readiness_checks()]
    assert names == ALL_CHECKS
    assert len(LOGICAL_BUCKETS) == 4 and len(configured_queue_names()) == 5
    assert dlq_name("academy-excel-jobs") == "academy-excel-jobs-dlq"


def test_the_docker_check_asks_for_the_images_build_sh_builds_in_its_order():
    rows = [line.split() for line in (REPO_ROOT / "docker" / "images.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]

    assert list(readiness.IMAGES) == [name for _target, name in rows]
