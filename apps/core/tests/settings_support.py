"""Load a settings module in a fresh process, as a deployment would: only the environment given, no developer .env."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
API_SAFE_ENV = {
    "SECRET_KEY": "Zq3kV8pXw2Lr6Ny1Tb9Hc4Jm7Df0Gs5Ue8Ia3Oo6Pl1Kk4Mn7Bv2Cx5",
    "DEBUG": "0",
    "INTERNAL_WORKER_TOKEN": "iw-" + "7f3a9c1e5b" * 4,
    "LAMBDA_INTERNAL_API_KEY": "lk-" + "2d8e4b6a0c" * 4,
    "DB_HOST": "db.internal",
    "ALLOWED_HOSTS": "api.academy.example",
}
WORKER_SAFE_ENV = {name: value for name, value in API_SAFE_ENV.items()
                   if name not in ("LAMBDA_INTERNAL_API_KEY", "ALLOWED_HOSTS")}


def run_with_settings(module: str, environment: dict[str, str], *, code: str = "import django; django.setup()",
                      args: list[str] | None = None, env_file: Path | None = None) -> subprocess.CompletedProcess:
    """`python -c code` (or `python manage.py args`) with DJANGO_SETTINGS_MODULE=apps.api.config.settings.<module>."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        "DJANGO_SETTINGS_MODULE": f"apps.api.config.settings.{module}",
        # A path that does not exist unless given: the repository's .env, if a developer has one, stays out.
        "ENV_FILE": str(env_file or REPO_ROOT / "var" / "no-such-env-file"),
        **environment,
    }
    command = [sys.executable, "manage.py", *args] if args else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
