"""What the benchmarks in scripts/bench share: a fresh bench database and a loopback API server to measure against."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def recreate_bench_database() -> None:
    """Drops, creates and migrates the settings' database (after django.setup()); its name must end in "_bench"."""
    import psycopg2
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    if not db["NAME"].endswith("_bench"):
        sys.exit(f"refusing to recreate {db['NAME']!r}: the bench database name must end in _bench")
    admin = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", verbosity=0)


def wait_for_http(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    """Returns once `url` answers 200; exits if the server process dies or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback, http only)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} never answered 200")


def start_gunicorn(port: int, env: dict, *, worker_class: str = "gthread", extra_args: tuple = ()) -> subprocess.Popen:
    """The API under gunicorn on loopback (2 workers, 4 threads each when gthread), once /health answers."""
    command = [str(Path(sys.executable).parent / "gunicorn"), "apps.api.config.wsgi:application", "--workers", "2",
               "--worker-class", worker_class, "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               "--chdir", str(ROOT), *extra_args]
    if worker_class == "gthread":
        command += ["--threads", "4"]
    server = subprocess.Popen(command, env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", server)
    except BaseException:
        server.kill()
        raise
    return server
