"""Deployment readiness (docs/deploy.md §11): is everything a release needs in place, read only?

Each check is a small function answering (status, reason); `readiness_checks` runs them in the runbook's order and
`scripts/deployment_readiness_check.py` prints one line each. Nothing here writes, and the queue checks only ask
GetQueueAttributes: no message is ever received, so none is hidden from a worker.

`local=True` (the script's --local): a cloud service that cannot be asked (no credentials, endpoint unreachable, no
docker binary) is SKIP instead of FAIL. The database, Redis and the API are never cloud in that sense: they FAIL.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
SUMMARY_LABEL = "통과"
# AWS and R2 calls retry once: a check that cannot reach a service says so in seconds, not after five backoffs.
CLOUD_MAX_ATTEMPTS = 2
HTTP_TIMEOUT_SECONDS = 10
DOCKER_TIMEOUT_SECONDS = 180
# The scheduler passes every JOBS_SCHEDULER_INTERVAL_SECONDS; a last pass older than this many intervals (and at
# least SCHEDULER_RECENT_MIN_SECONDS) means it stopped working while perhaps still holding its lock.
SCHEDULER_RECENT_INTERVALS = 15
SCHEDULER_RECENT_MIN_SECONDS = 60
BACKENDS_IN_PRODUCTION = {"STORAGE_BACKEND": "r2", "QUEUE_BACKEND": "sqs", "BATCH_BACKEND": "aws"}
# The five images (docs/deploy.md §6) and the modules their entry commands run.
IMAGES: dict[str, tuple[str, ...]] = {
    "academy-base": (),
    "academy-api": ("apps.api.config.wsgi", "apps.jobs.management.commands.run_scheduler"),
    "academy-video-worker": ("apps.worker.video.batch_main",),
    "academy-ai-worker-cpu": ("apps.jobs.management.commands.run_worker", "apps.worker.ai", "apps.worker.excel"),
    "academy-messaging-worker": ("apps.jobs.management.commands.run_worker", "apps.worker.messaging"),
}

Outcome = tuple[str, str]


class CloudUnreachable(Exception):
    """A cloud service could not be asked: no credentials, or its endpoint did not answer."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    reason: str = ""

    def render(self) -> str:
        if self.status == PASS:
            return f"[{PASS}] {self.name}"
        return f"[{self.status}] {self.name}: {self.reason}"


@dataclass
class ReadinessReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(result.status == PASS for result in self.results)

    @property
    def failed(self) -> bool:
        return any(result.status == FAIL for result in self.results)

    def lines(self) -> list[str]:
        return [result.render() for result in self.results] + [f"{SUMMARY_LABEL}: {self.passed}/{len(self.results)}"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _unreachable_cause(exc: BaseException) -> BaseException | None:
    """The error in `exc`'s chain that means "could not ask" rather than "asked and was told no"."""
    import requests
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    kinds = (NoCredentialsError, PartialCredentialsError, EndpointConnectionError, ConnectTimeoutError,
             ConnectionClosedError, requests.exceptions.ConnectionError, requests.exceptions.Timeout)
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kinds):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def run_check(name: str, check: Callable[[], Outcome], *, local: bool) -> CheckResult:
    try:
        status, reason = check()
    except CloudUnreachable as exc:
        return CheckResult(name, SKIP if local else FAIL, str(exc))
    except Exception as exc:
        cause = _unreachable_cause(exc)
        if cause is not None:
            reason = f"could not be asked ({type(cause).__name__}: {_first_line(cause)})"
            return CheckResult(name, SKIP if local else FAIL, reason)
        return CheckResult(name, FAIL, f"{type(exc).__name__}: {_first_line(exc)}")
    return CheckResult(name, status, reason)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------
def settings_snapshot() -> dict:
    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}


def check_production_settings(*, load_error: str = "") -> Outcome:
    """What prod.py refuses (checks.production_problems, the API profile), plus the production backends."""
    from apps.api.config.settings.checks import API, REFUSAL_PREFIX, production_problems

    # The refusal prod.py raised is the authority when there was one: the fallback settings the other checks run on
    # may carry a placeholder SECRET_KEY (scripts/deployment_readiness_check.py).
    problems = ([load_error.removeprefix(REFUSAL_PREFIX)] if load_error
                else production_problems(settings_snapshot(), profile=API))
    problems += [f"{name} must be {wanted}, not {getattr(settings, name)!r}"
                 for name, wanted in BACKENDS_IN_PRODUCTION.items() if getattr(settings, name) != wanted]
    return (FAIL, "; ".join(problems)) if problems else (PASS, "")


def check_internal_secrets() -> Outcome:
    """Both internal secrets (workers' token, the scaling Lambda's key), by the rule prod.py applies."""
    from apps.api.config.settings.checks import MIN_TOKEN_LENGTH, secret_problem

    problems = [problem for name in ("INTERNAL_WORKER_TOKEN", "LAMBDA_INTERNAL_API_KEY")
                if (problem := secret_problem(name, getattr(settings, name, ""), MIN_TOKEN_LENGTH))]
    return (FAIL, "; ".join(problems)) if problems else (PASS, "")


# ---------------------------------------------------------------------------
# Database, Redis
# ---------------------------------------------------------------------------
def check_database() -> Outcome:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    connection.ensure_connection()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return FAIL, f"{len(names)} unapplied migration(s): {shown} (run manage.py migrate)"
    return PASS, ""


def check_redis() -> Outcome:
    import redis

    if not settings.REDIS_URL:
        return FAIL, "REDIS_URL is not set"
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        return FAIL, f"no answer ({type(exc).__name__})"
    finally:
        client.close()
    return PASS, ""


# ---------------------------------------------------------------------------
# AWS: queues, Batch
# ---------------------------------------------------------------------------
class CloudClients:
    """The clients the checks share, built on first use with few retries."""

    def __init__(self):
        self._clients: dict[str, object] = {}

    def aws(self, service: str):
        from apps.integrations.aws import aws_client

        if service not in self._clients:
            self._clients[service] = aws_client(service, max_attempts=CLOUD_MAX_ATTEMPTS)
        return self._clients[service]

    def r2(self):
        from apps.integrations.storage import R2Storage, r2_client

        if not (settings.R2_ACCESS_KEY_ID and settings.R2_SECRET_ACCESS_KEY):
            raise CloudUnreachable("R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY are not set")
        if "r2" not in self._clients:
            self._clients["r2"] = R2Storage(client=r2_client(max_attempts=CLOUD_MAX_ATTEMPTS))
        return self._clients["r2"]


def check_queue(name: str, clients: CloudClients) -> Outcome:
    """The queue, its DLQ, the redrive between them and the queue's visibility, as create_sqs_resources.py makes
    them from the fleet table."""
    from apps.integrations.aws_checks import sqs_queue_attributes
    from apps.integrations.queues import dlq_name
    from apps.jobs.fleets import queue_visibility_seconds

    sqs = clients.aws("sqs")
    attributes = sqs_queue_attributes(name, client=sqs)
    if attributes is None:
        return FAIL, f"queue {name} not found"
    dlq = dlq_name(name)
    dlq_attributes = sqs_queue_attributes(dlq, client=sqs)
    problems = []
    if dlq_attributes is None:
        problems.append(f"DLQ {dlq} not found")
    redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
    if not redrive:
        problems.append("no redrive policy")
    else:
        target = str(redrive.get("deadLetterTargetArn", ""))
        if dlq_attributes is not None and target != dlq_attributes.get("QueueArn"):
            problems.append(f"redrive goes to {target.rsplit(':', 1)[-1] or '?'}, not {dlq}")
        receives = int(redrive.get("maxReceiveCount") or 0)
        if receives != settings.SQS_MAX_RECEIVE_COUNT:
            problems.append(f"redrive maxReceiveCount {receives}, expected {settings.SQS_MAX_RECEIVE_COUNT}")
    visibility, expected = int(attributes.get("VisibilityTimeout", -1)), queue_visibility_seconds(name)
    if visibility != expected:
        problems.append(f"visibility {visibility}s, expected {expected}s")
    return (FAIL, "; ".join(problems)) if problems else (PASS, "")


def check_batch_job_queue(clients: CloudClients) -> Outcome:
    from apps.integrations.aws_checks import batch_job_queue

    name = settings.BATCH_JOB_QUEUE
    queue = batch_job_queue(name, client=clients.aws("batch"))
    if queue is None:
        return FAIL, f"job queue {name} not found"
    if queue.state != "ENABLED" or queue.status not in ("VALID", "UPDATING"):
        return FAIL, f"job queue {name} is {queue.state}/{queue.status}, expected ENABLED/VALID"
    return PASS, ""


def check_batch_job_definition(clients: CloudClients) -> Outcome:
    from apps.integrations.aws_checks import batch_job_definition_active

    name = settings.BATCH_JOB_DEFINITION
    if not batch_job_definition_active(name, client=clients.aws("batch")):
        return FAIL, f"job definition {name} has no ACTIVE revision"
    return PASS, ""


def check_batch_roles(clients: CloudClients) -> Outcome:
    from apps.integrations.aws_checks import iam_role_exists

    names = (settings.VIDEO_BATCH_JOB_ROLE_NAME, settings.VIDEO_BATCH_EXECUTION_ROLE_NAME)
    missing = [name for name in names if not iam_role_exists(name, client=clients.aws("iam"))]
    return (FAIL, f"role(s) not found: {', '.join(missing)}") if missing else (PASS, "")


# ---------------------------------------------------------------------------
# R2
# ---------------------------------------------------------------------------
_NO_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})


def check_bucket(logical: str, clients: CloudClients) -> Outcome:
    """The bucket answers and holds the CORS and lifecycle rules scripts/configure_buckets.py writes for
    CORS_ALLOWED_ORIGINS."""
    from apps.integrations.bucket_rules import BucketRulesError, bucket_rules, bucket_rules_compare
    from apps.integrations.storage import bucket_name

    name = bucket_name(logical)
    adapter = clients.r2()
    if adapter._call("head_bucket", adapter.client.head_bucket, Bucket=name, ignore_codes=_NO_BUCKET_CODES) is None:
        return FAIL, f"bucket {name} not found"
    try:
        wanted = bucket_rules(origins=list(settings.CORS_ALLOWED_ORIGINS))[logical]
    except BucketRulesError as exc:
        return FAIL, str(exc)
    change = bucket_rules_compare(adapter=adapter, name=name, wanted=wanted)
    problems = [f"{what} rules are not configure_buckets.py's" for what, differs in
                (("CORS", change.cors_changed), ("lifecycle", change.lifecycle_changed)) if differs]
    if problems:
        return FAIL, "; ".join(problems) + " (run scripts/configure_buckets.py)"
    return PASS, ""


# ---------------------------------------------------------------------------
# The API, the scheduler, the messaging provider
# ---------------------------------------------------------------------------
def check_api_health() -> Outcome:
    import requests

    url = settings.API_BASE_URL.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        return FAIL, f"{url} did not answer ({type(exc).__name__})"
    try:
        database = response.json().get("database")
    except ValueError:
        database = None
    if response.status_code != 200 or database != "connected":
        return FAIL, f"{url} answered HTTP {response.status_code}, database {database or 'unknown'}"
    return PASS, ""


def scheduler_lock_holders() -> int:
    """Sessions of this database holding the scheduler's advisory lock (pg_locks lists every database's)."""
    from django.db import connection

    from apps.jobs.scheduler import LOCK_CLASS_ID, LOCK_OBJECT_ID

    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s "
            "AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_CLASS_ID, LOCK_OBJECT_ID],
        )
        return int(cursor.fetchone()[0])


def check_scheduler(*, now: float | None = None) -> Outcome:
    from apps.jobs.scheduler import scheduler_last_pass

    if not scheduler_lock_holders():
        return FAIL, "no run_scheduler holds the scheduler lock"
    last = scheduler_last_pass()
    if last is None:
        return FAIL, "the scheduler holds its lock but recorded no pass"
    recent = max(SCHEDULER_RECENT_MIN_SECONDS, SCHEDULER_RECENT_INTERVALS * settings.JOBS_SCHEDULER_INTERVAL_SECONDS)
    age = (time.time() if now is None else now) - last
    if age > recent:
        return FAIL, f"last pass {int(age)}s ago (more than {int(recent)}s)"
    return PASS, ""


def check_messaging_provider() -> Outcome:
    """The provider's credentials answer: Solapi's balance call."""
    from apps.integrations.messaging import ProviderError
    from apps.integrations.messaging.solapi import SolapiProvider

    if settings.MESSAGING_PROVIDER != "solapi":
        return SKIP, f"MESSAGING_PROVIDER={settings.MESSAGING_PROVIDER}: no provider to ask"
    if not (settings.SOLAPI_API_KEY and settings.SOLAPI_API_SECRET):
        raise CloudUnreachable("SOLAPI_API_KEY and SOLAPI_API_SECRET are not set")
    try:
        SolapiProvider().balance()
    except ProviderError as exc:
        if _unreachable_cause(exc) is not None:
            raise
        if exc.permanent:
            return FAIL, f"credentials refused ({_first_line(exc)})"
        return FAIL, _first_line(exc)
    return PASS, ""


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DockerOptions:
    registry: str = ""  # e.g. ECR_REGISTRY; blank: local names
    tag: str = "latest"
    env_file: Path | None = None  # passed to `docker run --env-file`, so Django starts with the release's settings

    def reference(self, image: str) -> str:
        prefix = self.registry.rstrip("/") + "/" if self.registry else ""
        return f"{prefix}{image}:{self.tag}"


def check_image(image: str, modules: tuple[str, ...], options: DockerOptions) -> Outcome:
    """The image exists and, inside it, Django starts and the entry command's modules import."""
    docker = shutil.which("docker")
    if docker is None:
        raise CloudUnreachable("no docker binary on PATH")
    reference = options.reference(image)
    inspected = subprocess.run([docker, "image", "inspect", reference], capture_output=True, text=True,
                               timeout=DOCKER_TIMEOUT_SECONDS)
    if inspected.returncode != 0:
        if "no such image" in inspected.stderr.lower():
            return FAIL, f"image {reference} not found"
        # The client works but its daemon does not answer: nothing can be said about the image.
        lines = inspected.stderr.strip().splitlines()
        raise CloudUnreachable(f"docker could not be asked: {lines[-1] if lines else 'no answer'}")
    code = "; ".join(["import django", "django.setup()", *(f"import {module}" for module in modules)])
    command = [docker, "run", "--rm", "--entrypoint", "python"]
    if options.env_file is not None:
        command += ["--env-file", str(options.env_file)]
    started = subprocess.run([*command, reference, "-c", code], capture_output=True, text=True,
                             timeout=DOCKER_TIMEOUT_SECONDS)
    if started.returncode != 0:
        lines = (started.stderr or started.stdout).strip().splitlines()
        return FAIL, f"Django or {', '.join(modules) or 'django'} failed inside it: {lines[-1] if lines else '?'}"
    return PASS, ""


# ---------------------------------------------------------------------------
# All of them
# ---------------------------------------------------------------------------
def readiness_checks(*, local: bool = False, docker: DockerOptions | None = None,
                     load_error: str = "") -> list[tuple[str, Callable[[], Outcome]]]:
    """(name, check) in the runbook's order; `docker` adds one check per image."""
    from apps.integrations.queues import configured_queue_names
    from apps.integrations.storage import LOGICAL_BUCKETS, bucket_name

    clients = CloudClients()
    checks: list[tuple[str, Callable[[], Outcome]]] = [
        ("production settings", lambda: check_production_settings(load_error=load_error)),
        ("database", check_database),
        ("redis", check_redis),
    ]
    checks += [(f"queue {name}", lambda name=name: check_queue(name, clients)) for name in configured_queue_names()]
    checks += [(f"bucket {bucket_name(logical)}", lambda logical=logical: check_bucket(logical, clients))
               for logical in LOGICAL_BUCKETS]
    checks += [
        ("batch job queue", lambda: check_batch_job_queue(clients)),
        ("batch job definition", lambda: check_batch_job_definition(clients)),
        ("batch roles", lambda: check_batch_roles(clients)),
        ("internal secrets", check_internal_secrets),
        ("API health", check_api_health),
        ("scheduler", check_scheduler),
        ("messaging provider", check_messaging_provider),
    ]
    if docker is not None:
        checks += [(f"image {image}", lambda image=image, modules=modules: check_image(image, modules, docker))
                   for image, modules in IMAGES.items()]
    return checks


def readiness_run(*, local: bool = False, docker: DockerOptions | None = None, load_error: str = "",
                  on_result: Callable[[CheckResult], None] | None = None) -> ReadinessReport:
    """Every check in order; `on_result` sees each result as it comes (the script prints it at once)."""
    report = ReadinessReport()
    for name, check in readiness_checks(local=local, docker=docker, load_error=load_error):
        report.results.append(run_check(name, check, local=local))
        if on_result is not None:
            on_result(report.results[-1])
    return report
