#!/usr/bin/env python
"""Messaging send benchmark (ARCHITECTURE §4 Messaging): one send to 10,000 parents against the fake Solapi.

    DB_NAME=academy_messaging_bench .venv/bin/python scripts/bench/messaging_send.py [--recipients 10000]

Each run drops and recreates the bench database (its name must end in "_bench"; drop it afterwards) and starts the
fake Solapi (apps/integrations/tests/fake_solapi.py) on loopback in this process; every process the bench starts
points the Solapi adapter at it (MESSAGING_PROVIDER=solapi), and it counts the requests it gets. Each measurement
seeds a fresh academy: N students with distinct parent phones in one lecture, a verified sender and enough credit.
The send is the API's: POST /api/v1/messaging/sends/ {"lecture_id", "to": "parent", "mode": "sms", "body"} → 202
{send_id, job_id, recipient_count, …}. Absolute times are noisy on a shared box, so every time is also shown as a
ratio against a baseline measured in the same run, with the load average:

- bare: one `bulk_create` of N MessageRecipient rows (the rows the send writes, nothing else), best of 3;
- queries: in a fresh subprocess, the POST through Django's test client, then the job run in-process by the worker
  runtime (`execute_job`, reporting through the internal API in-process), each under CaptureQueriesContext:
  SQL statements of the POST and of the worker, per 1,000 recipients, at 1,000 and N recipients and at N with
  MESSAGING_BATCH_SIZE=1000 (the worker's statements must be a constant per batch), and provider requests;
- end to end: the embedded stack as `make run` runs it on the Postgres bench database (the table queue woken by
  LISTEN/NOTIFY), a gunicorn API (2 gthread workers) and `manage.py run_worker messaging` started fresh per run
  and warmed up with a one-recipient send; the send is POSTed and GET /api/v1/jobs/<job_id>/ polled every 0.1 s
  until DONE. Reports the fastest of --e2e-runs runs of POST → DONE, the worker's own time (claimed → DONE from the
  job row), the provider requests, and the highest peak RSS (VmHWM) of the worker process.

Targets on this box at load < 1: POST → DONE <= 8 s; <= 1 provider request per 1,000 recipients; the worker's
queries a constant per batch, <= 10 per 1,000 recipients; worker peak RSS <= 150 MB.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scripts.bench.bench_settings")
os.environ.setdefault("DB_NAME", "academy_messaging_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")

from scripts.bench import harness  # noqa: E402

SENDER = "0212345678"  # the number the fake Solapi has registered
BODY = "[벤치학원] 이번 주 토요일 보강 수업이 있습니다."  # an SMS (≤ 90 EUC-KR bytes)
SENDS_PATH = "/api/v1/messaging/sends/"
TERMINAL = ("DONE", "FAILED", "DEAD", "CANCELLED")
E2E_POLL_SECONDS = 0.1
E2E_TIMEOUT_SECONDS = 300
TARGETS = {"e2e_s": 8.0, "requests_per_1000": 1.0, "worker_queries_per_1000": 10.0, "e2e_worker_rss_mb": 150.0}


# ---------------------------------------------------------------------------------------------------- fake provider
def start_fake_solapi():
    """The fake Solapi in this process, and the environment that points every process's Solapi adapter at it."""
    from apps.integrations.tests.fake_solapi import FakeSolapi

    fake = FakeSolapi().start()
    os.environ.update({
        "MESSAGING_PROVIDER": "solapi",
        "SOLAPI_API_KEY": fake.api_key,
        "SOLAPI_API_SECRET": fake.api_secret,
        "SOLAPI_BASE_URL": fake.url,
        "MESSAGING_BATCH_SIZE": os.environ.get("MESSAGING_BATCH_SIZE", "10000"),
    })
    return fake


def send_requests(fake) -> int:
    return len(fake.sends)


# ---------------------------------------------------------------------------------------------------- seeding
def django_setup() -> None:
    import django

    django.setup()


def peak_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed_academy(label: str, recipients: int) -> dict:
    """A fresh academy: an admin, a lecture of `recipients` students with distinct parent phones, a one-student
    warm-up lecture, a verified sender and credit for twice the send."""
    import uuid

    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.core.models import Role, Tenant, User
    from apps.domains.enrollment.models import Enrollment
    from apps.domains.lectures.models import Lecture
    from apps.domains.messaging.models import MessagingProfile
    from apps.domains.messaging.services import credit_grant, messaging_profile_ensure
    from apps.domains.students.models import Student

    with transaction.atomic():
        tenant = Tenant.objects.create(code=f"{label}-{uuid.uuid4().hex[:8]}", name=f"{label} 학원")
        admin = User.objects.create_user(username=f"{tenant.code}-admin", password=None, tenant=tenant,
                                         role=Role.ADMIN)
        lecture = Lecture.objects.create(tenant=tenant, title="벤치 강의")
        warmup = Lecture.objects.create(tenant=tenant, title="워밍업")
        students = Student.objects.bulk_create([
            Student(tenant=tenant, name=f"학생{i:06d}", parent_phone=f"0105{i:07d}") for i in range(recipients + 1)
        ], batch_size=2000)
        Enrollment.objects.bulk_create([Enrollment(tenant=tenant, lecture=lecture, student=s)
                                        for s in students[:recipients]], batch_size=2000)
        Enrollment.objects.create(tenant=tenant, lecture=warmup, student=students[-1])
        messaging_profile_ensure(tenant=tenant)
        MessagingProfile.objects.filter(tenant=tenant).update(sender_number=SENDER, sender_verified_at=timezone.now())
        credit_grant(tenant=tenant, amount=Decimal(100 * (recipients + 1)), memo="벤치 충전")
    return {"tenant_id": tenant.id, "lecture_id": lecture.id, "warmup_lecture_id": warmup.id,
            "token": str(AccessToken.for_user(admin))}


def send_body(lecture_id: int) -> dict:
    return {"lecture_id": lecture_id, "to": "parent", "mode": "sms", "body": BODY}


# ---------------------------------------------------------------------------------------------------- baseline
def section_bare(context: dict) -> None:
    """One bulk_create of N recipient rows: the least any send of N recipients writes."""
    import uuid

    from django.db import transaction

    from apps.core.models import Tenant
    from apps.domains.messaging.models import MessageRecipient, MessageSend

    n = context["recipients"]
    tenant = Tenant.objects.create(code=f"bare-{uuid.uuid4().hex[:8]}", name="bare 학원")
    timings = []
    for _ in range(3):
        send = MessageSend.objects.create(tenant=tenant, body=BODY, recipient_count=n)
        start = time.perf_counter()
        with transaction.atomic():
            MessageRecipient.objects.bulk_create([
                MessageRecipient(tenant=tenant, send=send, role="parent", phone=f"0105{i:07d}", text=BODY, type="SMS",
                                 reserved_amount=Decimal("20"))
                for i in range(n)
            ], batch_size=2000)
        timings.append(time.perf_counter() - start)
    context["bare_s"] = min(timings)
    print(f"bare bulk_create of {n:,} recipient rows: {min(timings):.3f} s (best of 3), "
          f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------- queries
def query_phase(recipients: int) -> dict:
    """Runs in its own process (MESSAGING_BATCH_SIZE from the environment): POST, then the job in-process."""
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.domains.messaging.models import MessageRecipient
    from apps.jobs.models import Job
    from apps.worker.client import InternalApiClient
    from apps.worker.runtime import execute_job
    from apps.worker.tests.support import DjangoClientSession

    scope = seed_academy(f"q{recipients}", recipients)
    client = Client(headers={"Authorization": f"Bearer {scope['token']}"})
    with CaptureQueriesContext(connection) as post_queries:
        start = time.perf_counter()
        answer = client.post(SENDS_PATH, data=send_body(scope["lecture_id"]), content_type="application/json")
        post_s = time.perf_counter() - start
    if answer.status_code != 202:
        sys.exit(f"POST answered {answer.status_code}: {answer.content[:500]!r}")
    posted = answer.json()
    worker_client = InternalApiClient("http://testserver", settings.INTERNAL_WORKER_TOKEN,
                                      session=DjangoClientSession(), retries=0)
    with CaptureQueriesContext(connection) as worker_queries:
        start = time.perf_counter()
        execution = execute_job(job_id=posted["job_id"], client=worker_client, stop_event=threading.Event())
        worker_s = time.perf_counter() - start
    job = Job.objects.get(id=posted["job_id"])
    statuses = dict(MessageRecipient.objects.filter(send_id=posted["send_id"]).values_list("status")
                    .annotate(n=Count("id")).order_by())
    return {"recipients": recipients, "batch_size": settings.MESSAGING_BATCH_SIZE,
            "recipient_count": posted["recipient_count"], "post_s": post_s, "post_queries": len(post_queries),
            "worker_s": worker_s, "worker_queries": len(worker_queries), "outcome": execution.outcome,
            "job_state": job.state, "statuses": statuses}


def run_query_phase(recipients: int, batch_size: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--query-phase", str(recipients)], check=True, capture_output=True, text=True,
        env={**os.environ, "MESSAGING_BATCH_SIZE": str(batch_size)},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def section_queries(context: dict) -> None:
    fake, n = context["fake"], context["recipients"]
    for recipients, batch_size in ((1000, 10_000), (n, 10_000), (n, 1000)):
        before = send_requests(fake)
        measured = run_query_phase(recipients, batch_size)
        requests_made = send_requests(fake) - before
        if measured["job_state"] != "DONE" or measured["recipient_count"] != recipients:
            sys.exit(f"query phase {recipients}/{batch_size}: job {measured['job_state']}, {measured}")
        per_1000 = recipients / 1000
        batches = -(-recipients // batch_size)
        row = {
            "post_s": measured["post_s"], "post_queries": measured["post_queries"],
            "worker_s": measured["worker_s"], "worker_queries": measured["worker_queries"],
            "worker_queries_per_1000": measured["worker_queries"] / per_1000,
            "worker_queries_per_batch": measured["worker_queries"] / batches,
            "requests": requests_made, "requests_per_1000": requests_made / per_1000,
        }
        context["queries"][(recipients, batch_size)] = row
        print(f"queries {recipients:,} recipients, batch {batch_size:,}: POST {measured['post_queries']} statements "
              f"{measured['post_s']:.2f} s, worker {measured['worker_queries']} statements "
              f"({row['worker_queries_per_batch']:.1f} per batch) {measured['worker_s']:.2f} s, {requests_made} "
              f"provider requests, recipients {measured['statuses']}, load {os.getloadavg()[0]:.1f}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------- end to end
def _e2e_environment(port: int) -> dict:
    from django.conf import settings

    return {**os.environ, "DB_NAME": settings.DATABASES["default"]["NAME"], "QUEUE_BACKEND": "table",
            "API_BASE_URL": f"http://127.0.0.1:{port}", "SQS_WAIT_SECONDS": "10"}


def _post_and_wait(base_url: str, token: str, lecture_id: int) -> tuple[float, float, dict, dict]:
    """POST the send, poll its job until it ends; returns (POST s, POST → end s, POST answer, job body)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    answer = session.post(base_url + SENDS_PATH, json=send_body(lecture_id), timeout=120)
    posted = time.perf_counter()
    if answer.status_code != 202:
        sys.exit(f"POST answered {answer.status_code}: {answer.text[:500]}")
    job_url = f"{base_url}/api/v1/jobs/{answer.json()['job_id']}/"
    while time.perf_counter() - start < E2E_TIMEOUT_SECONDS:
        body = session.get(job_url, timeout=10).json()
        if body["status"] in TERMINAL:
            return posted - start, time.perf_counter() - start, answer.json(), body
        time.sleep(E2E_POLL_SECONDS)
    sys.exit(f"job did not end within {E2E_TIMEOUT_SECONDS} s")


def _end_to_end_once(*, base_url: str, env: dict, fake, recipients: int, run: int) -> dict:
    from apps.domains.messaging.models import MessageRecipient
    from apps.jobs.models import Job

    scope = seed_academy(f"e2e{recipients}r{run}", recipients)
    worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_worker", "messaging"], env=env, cwd=ROOT)
    try:
        _, warm_s, _, warm = _post_and_wait(base_url, scope["token"], scope["warmup_lecture_id"])
        if warm["status"] != "DONE":
            sys.exit(f"warm-up send ended {warm['status']}: {warm.get('error')}")
        warm_rss = peak_rss_mb(worker.pid)
        before = send_requests(fake)
        post_s, e2e_s, posted, body = _post_and_wait(base_url, scope["token"], scope["lecture_id"])
        requests_made = send_requests(fake) - before
        rss = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    if body["status"] != "DONE" or posted["recipient_count"] != recipients:
        sys.exit(f"{recipients} recipients: job ended {body['status']}: {body.get('error') or body.get('result')}")
    accepted = MessageRecipient.objects.filter(send_id=posted["send_id"], status__in=["SENT", "DELIVERED"]).count()
    job = Job.objects.get(id=body["id"])
    ran_s = (job.finished_at - job.started_at).total_seconds()
    print(f"end to end {recipients:,} recipients, run {run}: POST {post_s:.2f} s, POST -> DONE {e2e_s:.2f} s "
          f"(claimed -> DONE {ran_s:.2f} s), {accepted:,} accepted, {requests_made} provider requests, worker peak "
          f"RSS {rss:.0f} MB ({warm_rss:.0f} MB after the warm-up send of {warm_s:.2f} s), "
          f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if accepted != recipients:
        sys.exit(f"{accepted} of {recipients} recipients accepted")
    return {"e2e_post_s": post_s, "e2e_s": e2e_s, "e2e_worker_s": ran_s, "e2e_requests": requests_made,
            "e2e_worker_rss_mb": rss, "e2e_warm_rss_mb": warm_rss}


def section_end_to_end(context: dict) -> None:
    port = context["port"]
    env = _e2e_environment(port)
    server = harness.start_gunicorn(port, env, extra_args=("--timeout", "120"))
    try:
        runs = [_end_to_end_once(base_url=f"http://127.0.0.1:{port}", env=env, fake=context["fake"],
                                 recipients=context["recipients"], run=run)
                for run in range(1, context["e2e_runs"] + 1)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    best = min(runs, key=lambda values: values["e2e_s"])
    context["e2e"] = {**best, "e2e_worker_rss_mb": max(values["e2e_worker_rss_mb"] for values in runs),
                      "e2e_warm_rss_mb": max(values["e2e_warm_rss_mb"] for values in runs)}


SECTIONS = [section_bare, section_queries, section_end_to_end]


# ---------------------------------------------------------------------------------------------------- report
def report(context: dict) -> None:
    n, bare = context["recipients"], context.get("bare_s")
    if context["queries"]:
        print(f"{'recipients':>10}  {'batch':>6}  {'POST s':>7}  {'POST SQL':>8}  {'worker s':>8}  "
              f"{'worker SQL':>10}  {'SQL/1000':>8}  {'SQL/batch':>9}  {'requests':>8}  {'req/1000':>8}  "
              f"{'worker/bare':>11}")
    for (recipients, batch_size), row in sorted(context["queries"].items()):
        ratio = f"{row['worker_s'] / bare:.1f}" if bare and recipients == n else "-"
        print(f"{recipients:>10,}  {batch_size:>6,}  {row['post_s']:>7.2f}  {row['post_queries']:>8}  "
              f"{row['worker_s']:>8.2f}  {row['worker_queries']:>10}  {row['worker_queries_per_1000']:>8.1f}  "
              f"{row['worker_queries_per_batch']:>9.1f}  {row['requests']:>8}  {row['requests_per_1000']:>8.2f}  "
              f"{ratio:>11}")
    checks = []
    if "e2e" in context:
        e2e = context["e2e"]
        ratio = f", {e2e['e2e_s'] / bare:.1f}x the bare bulk_create ({bare:.3f} s)" if bare else ""
        print(f"end to end {n:,}: POST {e2e['e2e_post_s']:.2f} s, POST -> DONE {e2e['e2e_s']:.2f} s{ratio}, "
              f"claimed -> DONE {e2e['e2e_worker_s']:.2f} s, {e2e['e2e_requests']} provider requests, "
              f"worker peak RSS {e2e['e2e_worker_rss_mb']:.0f} MB ({e2e['e2e_warm_rss_mb']:.0f} MB after a "
              f"one-recipient send)")
        checks += [("POST -> DONE s", e2e["e2e_s"], TARGETS["e2e_s"]),
                   ("worker peak RSS MB", e2e["e2e_worker_rss_mb"], TARGETS["e2e_worker_rss_mb"]),
                   ("provider requests per 1,000 (e2e)", e2e["e2e_requests"] / (n / 1000),
                    TARGETS["requests_per_1000"])]
    main_row = context["queries"].get((n, 10_000))
    if main_row:
        checks += [("worker SQL per 1,000 recipients", main_row["worker_queries_per_1000"],
                    TARGETS["worker_queries_per_1000"]),
                   ("provider requests per 1,000", main_row["requests_per_1000"], TARGETS["requests_per_1000"])]
    one_batch, many_batches = context["queries"].get((n, 10_000)), context["queries"].get((n, 1000))
    if one_batch and many_batches and n > 1000:
        # What one more batch costs: the same N recipients in one batch and in N/1000 batches.
        extra = (many_batches["worker_queries"] - one_batch["worker_queries"]) / (-(-n // 1000) - 1)
        print(f"worker SQL: {one_batch['worker_queries']} for one batch of {n:,}, {extra:.1f} per further batch")
    for name, value, target in checks:
        print(f"{'PASS' if value <= target else 'FAIL'} {name}: {value:.2f} (target <= {target:g})")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--sections", nargs="+", choices=[s.__name__.removeprefix("section_") for s in SECTIONS])
    parser.add_argument("--port", type=int, default=8767, help="port of the end-to-end section's gunicorn")
    parser.add_argument("--e2e-runs", type=int, default=2, help="end-to-end runs (the fastest is shown)")
    parser.add_argument("--query-phase", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query_phase:
        django_setup()
        print(json.dumps(query_phase(args.query_phase)))
        return

    fake = start_fake_solapi()  # before django.setup(): the settings read the environment it sets
    django_setup()
    harness.recreate_bench_database()
    context = {"recipients": args.recipients, "port": args.port, "e2e_runs": args.e2e_runs, "fake": fake,
               "queries": {}}
    try:
        for section in SECTIONS:
            if args.sections and section.__name__.removeprefix("section_") not in args.sections:
                continue
            start = time.perf_counter()
            section(context)
            print(f"{section.__name__} took {time.perf_counter() - start:.1f} s", file=sys.stderr)
    finally:
        fake.stop()
    report(context)


if __name__ == "__main__":
    main()
