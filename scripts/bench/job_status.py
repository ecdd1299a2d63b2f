#!/usr/bin/env python
"""Benchmark of the job status poll: GET /api/v1/jobs/<id>/ with a real JWT, against a bare Django JSON view.

Starts gunicorn (2 workers) on loopback against a Postgres bench database and the local Redis, sends a fixed number
of requests to each URL from a small pool of clients, and prints requests/s, p50, p99 and the ratio. The URLs
alternate for `--rounds` rounds and the medians are compared, so a neighbour's load spike does not land on one side
only. While the status URL is polled, the job reports progress `--changes-per-second` times a second (a real worker
reports every few seconds), so the poll pays for its cache misses too. A second gunicorn without REDIS_URL shows
the poll without its cache, for reference.
Targets: the status poll at >= 0.5 of the bare view and >= 1,000 requests/s.

    .venv/bin/python scripts/bench/job_status.py [--requests 3000] [--rounds 3] [--clients 8] [--changes-per-second 2]
"""

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
SETTINGS = "scripts.bench.bench_settings"

from scripts.bench import harness  # noqa: E402


def prepare(db_name: str) -> tuple[str, str]:
    """Recreates and migrates the bench database, then a tenant, an admin and a running job; returns (job id, JWT)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DB_NAME"] = db_name
    import django

    django.setup()
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.core.models import Role, Tenant, User
    from apps.jobs.models import Job, JobState

    harness.recreate_bench_database()
    tenant = Tenant.objects.create(code="bench", name="벤치 학원")
    user = User.objects.create(username="bench-admin", tenant=tenant, role=Role.ADMIN)
    job = Job.objects.create(tenant=tenant, kind="bench", state=JobState.RUNNING, attempts=1, progress=40,
                             stage="등록 중", started_at=timezone.now(), heartbeat_at=timezone.now())
    return str(job.id), str(AccessToken.for_user(user))


def start_gunicorn(port: int, db_name: str, worker_class: str, redis_url: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DB_NAME": db_name}
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return harness.start_gunicorn(port, env, worker_class=worker_class, extra_args=("--keep-alive", "5"))


def hammer(port: int, path: str, headers: dict, total: int, clients: int) -> tuple[float, list[float]]:
    """Sends `total` GETs from `clients` connections (kept alive when the server allows); returns (s, ms list)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    start_gate = threading.Barrier(clients + 1)

    def client(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        start_gate.wait()
        for _ in range(count):
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}")
            if response.will_close:
                connection.close()
            mine.append((time.perf_counter() - began) * 1000)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(count,)) for count in per_client]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies


class ProgressReporter(threading.Thread):
    """Moves the job's progress through the real service (so the status cache is invalidated) at a fixed rate."""

    def __init__(self, job_id: str, per_second: float):
        super().__init__(daemon=True)
        self.job_id, self.interval, self.changes = job_id, 1 / per_second if per_second > 0 else 0, 0
        self.halt = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from apps.jobs.services import job_progress

        while self.interval and not self.halt.wait(self.interval):
            self.changes += 1
            job_progress(job_id=self.job_id, percent=self.changes % 100, stage="등록 중")
        connection.close()


def poll_status(port: int, path: str, headers: dict, total: int, clients: int, per_second: float):
    reporter = ProgressReporter(path.rstrip("/").rsplit("/", 1)[-1], per_second)
    reporter.start()
    try:
        return hammer(port, path, headers, total, clients)
    finally:
        reporter.halt.set()
        reporter.join()


def summarise(name: str, elapsed: float, latencies: list[float]) -> tuple[float, float, float]:
    latencies.sort()
    rate = len(latencies) / elapsed
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"  {name:<12} {len(latencies):>6} req  {rate:>8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    return rate, p50, p99


def measure(args, job_id: str, token: str, redis_url: str | None) -> tuple[float, float, float, float]:
    """Median (bare req/s, status req/s, status p50, status p99) over the rounds, on a fresh gunicorn."""
    server = start_gunicorn(args.port, args.db_name, args.worker_class, redis_url)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        status_path = f"/api/v1/jobs/{job_id}/"
        for path, headers in ((status_path, auth), ("/bench/bare/", {})):
            hammer(args.port, path, headers, min(300, args.requests), args.clients)  # warm-up: connections, caches
        bare, status = [], []
        for number in range(1, args.rounds + 1):
            print(f"round {number}")
            bare.append(summarise("bare view", *hammer(args.port, "/bench/bare/", {}, args.requests, args.clients)))
            status.append(summarise("job status", *poll_status(args.port, status_path, auth, args.requests,
                                                               args.clients, args.changes_per_second)))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return (statistics.median(rate for rate, _, _ in bare), statistics.median(rate for rate, _, _ in status),
            statistics.median(p50 for _, p50, _ in status), statistics.median(p99 for _, _, p99 in status))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--changes-per-second", type=float, default=2.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--db-name", default=os.environ.get("BENCH_DB_NAME", "academy_bench"),
                        help="dropped and recreated on every run: must end in _bench")
    args = parser.parse_args()

    job_id, token = prepare(args.db_name)
    print(f"gunicorn: 2 {args.worker_class} workers; {args.rounds} rounds of {args.requests} requests per URL "
          f"from {args.clients} clients; the job changes {args.changes_per_second:g} times a second; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("without the status cache (no REDIS_URL), for reference:")
    bare_off, status_off, _, _ = measure(args, job_id, token, redis_url="")
    print("as deployed (Redis status cache):")
    bare_rate, status_rate, status_p50, status_p99 = measure(args, job_id, token, redis_url=None)
    ratio = status_rate / bare_rate
    verdict = "OK" if ratio >= 0.5 and status_rate >= 1000 else "BELOW TARGET"
    print(f"median without the cache: job status {status_off:.0f} req/s against bare {bare_off:.0f} req/s, "
          f"ratio {status_off / bare_off:.2f}")
    print(f"median: bare {bare_rate:.0f} req/s, job status {status_rate:.0f} req/s (p50 {status_p50:.2f} ms, "
          f"p99 {status_p99:.2f} ms); ratio {ratio:.2f} (target >= 0.50), >= 1000 req/s target: {verdict}")


if __name__ == "__main__":
    main()
