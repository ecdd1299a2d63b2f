"""Helpers for tests that run real processes: wait for a condition (never for a fixed time), start the test worker
process, run the API under gunicorn on the test database."""

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parents[3]


def wait_until(condition, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Polls `condition` until it holds; fails the test when it does not within `timeout`."""
    pause = threading.Event()
    for _ in range(int(timeout / interval)):
        if condition():
            return
        pause.wait(interval)
    raise AssertionError("condition never held")


def start_worker(fleet: str, *, api_url: str, log_dir: Path, name: str, **env) -> subprocess.Popen:
    """The real runtime in its own process, on the test database, reporting over HTTP to `api_url`."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.test",
        "DB_NAME": connection.settings_dict["NAME"],
        "API_BASE_URL": api_url,
        "QUEUE_BACKEND": "table",
        "SQS_WAIT_SECONDS": "1",
        # The production model scaled down (docs/jobs.md): a 3 s hold window extended every second.
        "EXCEL_VISIBILITY_WINDOW_SECONDS": "3",
        "SQS_MAX_RECEIVE_COUNT": str(settings.SQS_MAX_RECEIVE_COUNT),
        "WORKER_API_RETRIES": "2",
        "WORKER_ID": name,
        **env,
    }
    with open(log_dir / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "apps.worker.tests.worker_main", fleet],
            cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str, server: subprocess.Popen) -> bool:
    assert server.poll() is None, f"gunicorn exited with {server.returncode}"
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or the worker still booting
        return False


@contextmanager
def running_api_server(*, log_path: Path, threads: int = 4, **env: str | None) -> Iterator[str]:
    """The API under gunicorn gthread (one worker) on the test database, as production runs it: yields its base URL
    once /health answers and stops it afterwards. An `env` value of None removes that variable."""
    base_url = f"http://127.0.0.1:{free_port()}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.test",
        "DB_NAME": connection.settings_dict["NAME"],
        "API_BASE_URL": base_url,
        "GUNICORN_THREADS": str(threads),
        **env,
    }
    environment = {key: value for key, value in environment.items() if value is not None}
    command = [str(Path(sys.executable).parent / "gunicorn"), "apps.api.config.wsgi:application",
               "--worker-class", "gthread", "--workers", "1", "--threads", str(threads),
               "--bind", base_url.removeprefix("http://"), "--timeout", "60", "--log-level", "warning"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(f"{base_url}/health", server), timeout=30)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)


class DjangoClientSession:
    """A requests-like session sending the worker's calls through Django's test client: same process, same views,
    same database transaction as the test. The end-to-end tests use real HTTP instead."""

    def __init__(self):
        from django.test import Client

        self.client = Client()

    def post(self, url, *, json, headers, timeout):
        from urllib.parse import urlsplit

        answer = self.client.post(urlsplit(url).path, data=json, content_type="application/json", headers=headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        return response
