"""Helpers for worker tests: wait for a condition (never for a fixed time), start the test worker process."""

import os
import subprocess
import sys
import threading
from pathlib import Path

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
