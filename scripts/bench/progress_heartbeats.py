#!/usr/bin/env python
"""Watch progress heartbeat benchmark (issue 14): simulated players POST a heartbeat every 10 s to gunicorn.

    DB_NAME=academy_progress_bench .venv/bin/python scripts/bench/progress_heartbeats.py \\
        [--players 500] [--duration 60] [--interval 10]

Drops and recreates the bench database (its name must end in "_bench"; drop it afterwards), seeds an academy with
a READY two-hour video and one enrolled student with a login per player, and starts gunicorn on loopback
(2 gthread workers x 4 threads, as the other benches; a fresh one per phase) with
scripts/bench/progress_bench_settings.py: the bench
settings plus a middleware that puts the number of SQL statements each request ran in a response header.

Each player is a thread with its own kept-alive connection and JWT, starting at a random moment of the first
interval and posting every `--interval` seconds (+-5% jitter) `{playback_id, seq, position}` to
POST /api/v1/me/videos/<id>/progress/, its position advancing at 1x, 1.5x or 2x the real time. Absolute latencies
are noisy on a shared box, so the same players first GET /health (one SQL statement and a Redis ping) on the same
schedule for the same time: the baseline, reported as a ratio with the load average. Reported per phase: requests,
errors, p50/p95/p99 latency; for heartbeats the SQL statements per request as Django ran them (X-Bench-SQL: the
user's load and the heartbeat) and the transactions Postgres counted for the bench database per request (those
plus Django's connection health check), and the content the server counted as watched against what the players
played.

Targets on this box: <= 2 SQL statements per heartbeat including authentication, p99 <= 50 ms, no errors.
"""

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scripts.bench.progress_bench_settings")
os.environ.setdefault("DB_NAME", "academy_progress_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")

from scripts.bench import harness  # noqa: E402

VIDEO_SECONDS = 7200.0
SQL_HEADER = "X-Bench-SQL"
PING_HEADER = "X-Bench-Ping"
TARGETS = {"sql_per_heartbeat": 2.0, "p99_ms": 50.0, "errors": 0}
WARMUP_PLAYERS = 16
RATES = (1.0, 1.0, 1.0, 1.5, 2.0)  # most players at 1x, some faster (2x still counts)


# ---------------------------------------------------------------------------------------------------- seeding
def seed(players: int, label: str = "bench") -> dict:
    """An academy, a lecture with a READY video (and one for the warm-ups) and `players` enrolled students with
    logins; their JWTs."""
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.core.models import Role, Tenant, User
    from apps.domains.enrollment.models import Enrollment
    from apps.domains.lectures.models import Lecture
    from apps.domains.students.models import Student
    from apps.domains.video.models import Video, VideoState

    with transaction.atomic():
        tenant = Tenant.objects.create(code=f"{label}-{uuid.uuid4().hex[:8]}", name=f"{label} 학원")
        lecture = Lecture.objects.create(tenant=tenant, title="벤치 강의")
        video = Video.objects.create(tenant=tenant, lecture=lecture, title="1강", filename="1.mp4",
                                     safe_filename="1.mp4", size=1, content_type="video/mp4",
                                     state=VideoState.READY, duration_seconds=VIDEO_SECONDS)
        warmup = Video.objects.create(tenant=tenant, lecture=lecture, title="0강", filename="0.mp4",
                                      safe_filename="0.mp4", size=1, content_type="video/mp4",
                                      state=VideoState.READY, duration_seconds=VIDEO_SECONDS)
        users = User.objects.bulk_create([
            User(username=f"{tenant.code}-{i}", tenant=tenant, role=Role.STUDENT, password="!")
            for i in range(players)])
        students = Student.objects.bulk_create([
            Student(tenant=tenant, name=f"학생{i:04d}", parent_phone=f"0106{i:07d}", user=user)
            for i, user in enumerate(users)])
        Enrollment.objects.bulk_create([Enrollment(tenant=tenant, lecture=lecture, student=s) for s in students])
    return {"tenant_id": tenant.id, "video_id": video.id, "warmup_video_id": warmup.id,
            "tokens": [str(AccessToken.for_user(user)) for user in users]}


# ---------------------------------------------------------------------------------------------------- players
@dataclass
class Results:
    latencies_ms: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)  # "status 500" / exception name -> count
    sql: list = field(default_factory=list)
    pings: list = field(default_factory=list)
    played_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency_ms: float, error: str | None, sql: tuple, played: float = 0.0) -> None:
        with self.lock:
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            else:
                self.latencies_ms.append(latency_ms)
                if sql[0] is not None:
                    self.sql.append(int(sql[0]))
                if sql[1] is not None:
                    self.pings.append(int(sql[1]))
            self.played_seconds += played

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + sum(self.errors.values())


class Player(threading.Thread):
    """One viewer: a kept-alive connection posting (or, for the baseline, getting) on a schedule."""

    def __init__(self, *, host: str, port: int, token: str, video_id: int, deadline: float, interval: float,
                 results: Results, heartbeat: bool, rng: random.Random):
        super().__init__(daemon=True)
        self.host, self.port, self.video_id = host, port, video_id
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.deadline, self.interval, self.results, self.heartbeat = deadline, interval, results, heartbeat
        self.rng = rng
        self.start_at = time.monotonic() + rng.uniform(0, interval)
        self.rate = rng.choice(RATES)
        self.playback_id, self.seq = str(uuid.UUID(int=rng.getrandbits(128))), 0
        self.position = rng.uniform(0, VIDEO_SECONDS / 2)
        self.connection = None

    def request(self) -> tuple[float, str | None, tuple]:
        if self.heartbeat:
            self.seq += 1
            body = json.dumps({"playback_id": self.playback_id, "seq": self.seq, "position": self.position})
            method, path = "POST", f"/api/v1/me/videos/{self.video_id}/progress/"
        else:
            body, method, path = None, "GET", "/health"
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            began = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                response.read()
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    return 0.0, type(exc).__name__, (None, None)
                continue
            elapsed = (time.perf_counter() - began) * 1000
            if response.will_close:
                self.connection.close()
                self.connection = None
            error = None if response.status == 200 else f"status {response.status}"
            return elapsed, error, (response.getheader(SQL_HEADER), response.getheader(PING_HEADER))
        raise AssertionError("unreachable")

    def run(self) -> None:
        due, last = self.start_at, None
        while due < self.deadline:
            time.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            played = 0.0
            if last is not None:
                played = min(self.rate * (now - last), VIDEO_SECONDS - self.position)
                self.position += played
            last = now
            latency, error, sql = self.request()
            self.results.add(latency, error, sql, played if self.seq > 1 else 0.0)
            due += self.interval * self.rng.uniform(0.95, 1.05)
        if self.connection is not None:
            self.connection.close()


def run_players(*, host: str, port: int, tokens: list[str], video_id: int, duration: float, interval: float,
                heartbeat: bool, seed_value: int = 14) -> Results:
    results = Results()
    rng = random.Random(seed_value)
    deadline = time.monotonic() + duration
    players = [Player(host=host, port=port, token=token, video_id=video_id, deadline=deadline, interval=interval,
                      results=results, heartbeat=heartbeat, rng=random.Random(rng.getrandbits(64)))
               for token in tokens]
    for player in players:
        player.start()
    for player in players:
        player.join()
    return results


# ---------------------------------------------------------------------------------------------------- measuring
def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def summary(results: Results, seconds: float) -> dict:
    lat = results.latencies_ms
    return {"requests": results.requests, "errors": sum(results.errors.values()), "error_kinds": results.errors,
            "rate": results.requests / seconds, "p50": statistics.median(lat) if lat else float("nan"),
            "p95": percentile(lat, 0.95), "p99": percentile(lat, 0.99),
            "sql_mean": statistics.mean(results.sql) if results.sql else None,
            "sql_max": max(results.sql) if results.sql else None,
            "pings": statistics.mean(results.pings) if results.pings else None, "played": results.played_seconds}


def watched_seconds(video_id: int) -> float:
    from django.db.models import Sum

    from apps.domains.video.models import VideoProgress

    return (VideoProgress.objects.filter(video_id=video_id).aggregate(total=Sum("watched_tenths"))["total"] or 0) / 10


def phase(name: str, args, scope: dict, *, heartbeat: bool) -> dict:
    """One phase on a fresh gunicorn, warmed up first."""
    server = harness.start_gunicorn(args.port, {**os.environ},
                                    extra_args=("--keep-alive", str(int(args.interval * 3))))
    try:
        # Warm-up (imports, database connections of every thread) by players of their own, not measured.
        run_players(host="127.0.0.1", port=args.port, tokens=scope["warmup_tokens"], video_id=scope["warmup_video_id"],
                    duration=2.0, interval=0.25, heartbeat=heartbeat)
        results = run_players(host="127.0.0.1", port=args.port, tokens=scope["tokens"], video_id=scope["video_id"],
                              duration=args.duration, interval=args.interval, heartbeat=heartbeat)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    row = summary(results, args.duration)
    print(f"  {name:<10} {row['requests']:>6} req ({row['rate']:.1f}/s)  errors {row['errors']}  "
          f"p50 {row['p50']:.2f} ms  p95 {row['p95']:.2f} ms  p99 {row['p99']:.2f} ms  "
          f"load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return row


def report(context: dict) -> list[str]:
    """Prints the results against the targets; returns the failed checks."""
    base, beat = context["baseline"], context["heartbeats"]
    failed = []

    def check(label: str, value, target, ok: bool) -> None:
        print(f"{'PASS' if ok else 'FAIL'} {label}: {value} (target {target})")
        if not ok:
            failed.append(label)

    print(f"{context['players']} players, a heartbeat every {context['interval']:g} s for {context['duration']:g} s "
          f"against gunicorn (2 gthread workers x 4 threads) on loopback")
    for name, row in (("baseline GET /health", base), ("heartbeats", beat)):
        print(f"{name}: {row['requests']} requests ({row['rate']:.1f}/s), {row['errors']} errors "
              f"{row['error_kinds'] or ''}, p50 {row['p50']:.2f} ms, p95 {row['p95']:.2f} ms, p99 {row['p99']:.2f} ms")
    print(f"heartbeat / baseline: p50 {beat['p50'] / base['p50']:.2f}x, p99 {beat['p99'] / base['p99']:.2f}x")
    if beat["sql_mean"] is not None:
        print(f"SQL per heartbeat: {beat['sql_mean']:.2f} statements (max {beat['sql_max']}), and "
              f"{beat['pings']:.2f} connection health check pings (CONN_HEALTH_CHECKS' SELECT 1); per /health: "
              f"{base['sql_mean']:.2f} and {base['pings']:.2f}")
    if context.get("watched") is not None and beat["played"]:
        print(f"content counted as watched: {context['watched']:.0f} s of {beat['played']:.0f} s played "
              f"({100 * context['watched'] / beat['played']:.1f}%)")
    sql = beat["sql_mean"]
    check("SQL statements per heartbeat, authentication included (max)", beat["sql_max"],
          f"<= {TARGETS['sql_per_heartbeat']:g}", sql is not None and beat["sql_max"] <= TARGETS["sql_per_heartbeat"])
    check("heartbeat p99 ms", f"{beat['p99']:.2f}", f"<= {TARGETS['p99_ms']:g}", beat["p99"] <= TARGETS["p99_ms"])
    check("heartbeat errors", beat["errors"], "0", beat["errors"] == TARGETS["errors"])
    print(f"load average (1, 5, 15 min) at the end: {context['load']} on {os.cpu_count()} cores")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--players", type=int, default=500)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a player's heartbeats")
    parser.add_argument("--port", type=int, default=8769)
    args = parser.parse_args()

    import django

    django.setup()
    harness.recreate_bench_database()
    scope = seed(args.players + WARMUP_PLAYERS)
    scope["warmup_tokens"], scope["tokens"] = scope["tokens"][:WARMUP_PLAYERS], scope["tokens"][WARMUP_PLAYERS:]
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    baseline = phase("baseline", args, scope, heartbeat=False)
    heartbeats = phase("heartbeats", args, scope, heartbeat=True)
    failed = report({"players": args.players, "interval": args.interval, "duration": args.duration,
                     "baseline": baseline, "heartbeats": heartbeats, "watched": watched_seconds(scope["video_id"]),
                     "load": tuple(round(x, 2) for x in os.getloadavg())})
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
