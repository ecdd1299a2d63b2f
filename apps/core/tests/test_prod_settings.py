"""`prod` settings refuse to start on an unsafe environment, naming every problem at once."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SAFE_ENV = {
    "SECRET_KEY": "k" * 50,
    "DEBUG": "0",
    "INTERNAL_WORKER_TOKEN": "a-long-random-internal-token",
    "DB_HOST": "db.internal",
    "ALLOWED_HOSTS": "api.academy.example",
}


def start_prod(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(settings.BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.prod",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )


def test_prod_refuses_an_unsafe_environment_and_names_each_problem():
    result = start_prod({"DEBUG": "1"})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    # An unset SECRET_KEY falls back to the insecure default, and is named as such.
    for problem in ("DEBUG must be off", "SECRET_KEY is the insecure default", "INTERNAL_WORKER_TOKEN is required",
                    "DB_HOST is required"):
        assert problem in result.stderr


def test_prod_refuses_the_insecure_default_key():
    result = start_prod({**SAFE_ENV, "SECRET_KEY": "insecure-dev-key-change-me"})

    assert result.returncode != 0
    assert "SECRET_KEY is the insecure default" in result.stderr


def test_prod_starts_with_a_complete_safe_environment():
    result = start_prod(SAFE_ENV)

    assert result.returncode == 0, result.stderr


def test_every_environment_variable_read_by_the_settings_is_documented_in_env_example():
    import re

    root = Path(__file__).resolve().parents[3]
    settings_source = (root / "apps/api/config/settings/base.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (root / ".env.example").read_text(), re.M))

    assert read, "the settings read no variables: the pattern above no longer matches base.py"
    assert sorted(read - documented) == []


def test_prod_refuses_to_start_without_its_own_allowed_hosts():
    env = {k: v for k, v in SAFE_ENV.items() if k != "ALLOWED_HOSTS"}

    result = start_prod(env)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr
