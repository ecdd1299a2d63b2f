"""scripts/bench/progress_heartbeats.py stays runnable: it parses its arguments, seeds its players, a few players
heartbeat against a live server for two seconds, the SQL-counting middleware counts, and the report checks its
targets. The measurement itself is run by hand (its docstring says how)."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

SCRIPT = Path(__file__).resolve().parents[1] / "progress_heartbeats.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_progress_heartbeats", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_parses_its_arguments():
    answer = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)

    assert answer.returncode == 0, answer.stderr
    assert "--players" in answer.stdout and "--duration" in answer.stdout and "--interval" in answer.stdout


@pytest.mark.django_db(transaction=True)
def test_five_players_heartbeat_for_two_seconds(live_server):
    from apps.domains.video.models import VideoPlaybackDevice, VideoProgress

    bench = load_bench()
    scope = bench.seed(5, label="smoke")
    address = urlsplit(live_server.url)

    beats = bench.run_players(host=address.hostname, port=address.port, tokens=scope["tokens"],
                              video_id=scope["video_id"], duration=2.0, interval=0.5, heartbeat=True)
    health = bench.run_players(host=address.hostname, port=address.port, tokens=scope["tokens"],
                               video_id=scope["video_id"], duration=1.0, interval=0.5, heartbeat=False)

    assert beats.errors == {} and health.errors == {}
    assert beats.requests >= 5 * 3 and health.requests >= 5
    assert VideoPlaybackDevice.objects.filter(video_id=scope["video_id"]).count() == 5
    assert VideoProgress.objects.filter(video_id=scope["video_id"]).count() == 5
    assert 0 < bench.watched_seconds(scope["video_id"]) <= beats.played_seconds + 1


def test_the_middleware_counts_a_heartbeats_statements(db, settings):
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.core.models import User

    settings.MIDDLEWARE = ["scripts.bench.sql_count.SqlCountMiddleware", *settings.MIDDLEWARE]
    bench = load_bench()
    scope = bench.seed(1, label="count")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {scope['tokens'][0]}")
    url = f"/api/v1/me/videos/{scope['video_id']}/progress/"
    body = {"playback_id": "00000000-0000-0000-0000-000000000001", "seq": 1, "position": 1.0}

    response = client.post(url, body, format="json")

    assert response.status_code == 200
    assert response["X-Bench-SQL"] == "2"
    assert User.objects.filter(id=AccessToken(scope["tokens"][0])["user_id"]).exists()


def test_the_report_checks_each_target(capsys):
    bench = load_bench()
    base = {"requests": 3000, "errors": 0, "error_kinds": {}, "rate": 50.0, "p50": 2.0, "p95": 5.0, "p99": 10.0,
            "sql_mean": 1.0, "sql_max": 1, "pings": 1.0, "played": 0.0}
    beat = {**base, "errors": 2, "error_kinds": {"status 500": 2}, "p50": 6.0, "p99": 55.0, "sql_mean": 2.0,
            "sql_max": 2, "played": 1000.0}

    failed = bench.report({"players": 500, "interval": 10.0, "duration": 60.0, "baseline": base, "heartbeats": beat,
                           "watched": 990.0, "load": (1.0, 1.0, 1.0)})

    printed = capsys.readouterr().out
    assert failed == ["heartbeat p99 ms", "heartbeat errors"]
    assert "PASS SQL statements per heartbeat, authentication included (max): 2 (target <= 2)" in printed
    assert "FAIL heartbeat p99 ms: 55.00 (target <= 50)" in printed
    assert "heartbeat / baseline: p50 3.00x, p99 5.50x" in printed
    assert "content counted as watched: 990 s of 1000 s played (99.0%)" in printed
    assert "load average (1, 5, 15 min) at the end: (1.0, 1.0, 1.0)" in printed
