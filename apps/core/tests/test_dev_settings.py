"""`make run` settings: a copied .env.example gives the embedded stack, and dev secrets are made once and shared."""

import json
import shutil
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.api.config.settings.environment import Env, dev_secret

from .settings_support import REPO_ROOT, run_with_settings

DUMP_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: repr(getattr(settings, name)) for name in dir(settings) if name.isupper()}))
"""


def _settings_of(result) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_blank_or_whitespace_variable_takes_the_default(monkeypatch):
    monkeypatch.setenv("ACADEMY_PROBE_BLANK", "")
    monkeypatch.setenv("ACADEMY_PROBE_SPACES", "  ")
    monkeypatch.setenv("ACADEMY_PROBE_SET", "value")
    env = Env()

    assert env("ACADEMY_PROBE_BLANK", default="fallback") == "fallback"
    assert env.bool("ACADEMY_PROBE_SPACES", default=True) is True
    assert env("ACADEMY_PROBE_SET", default="fallback") == "value"
    with pytest.raises(ImproperlyConfigured):
        env("ACADEMY_PROBE_BLANK")


def test_env_example_copied_to_env_gives_the_same_embedded_stack_as_no_env_file(tmp_path):
    # Given .env.example copied as it is, and a directory for the dev secrets
    env_file = tmp_path / ".env"
    shutil.copy(REPO_ROOT / ".env.example", env_file)
    secrets_dir = {"DEV_SECRETS_DIR": str(tmp_path / "secrets")}

    # When the dev settings load with that file, and with no file at all
    with_example = _settings_of(run_with_settings("dev", secrets_dir, code=DUMP_SETTINGS, env_file=env_file))
    without_file = _settings_of(run_with_settings("dev", secrets_dir, code=DUMP_SETTINGS))

    # Then they are the same settings: the embedded stack, with a generated key
    assert {k: v for k, v in with_example.items() if with_example[k] != without_file.get(k)} == {}
    assert with_example["STORAGE_BACKEND"] == repr("local")
    assert with_example["QUEUE_BACKEND"] == repr("table")
    assert with_example["BATCH_BACKEND"] == repr("local")
    assert with_example["REDIS_URL"] == repr("")
    assert "sqlite3" in with_example["DATABASES"]
    assert "LocMemCache" in with_example["CACHES"]
    assert with_example["ALLOWED_HOSTS"] == repr(["localhost", "127.0.0.1", "[::1]"])
    assert with_example["DEBUG"] == "True"
    assert with_example["SECRET_KEY"] == repr((tmp_path / "secrets" / "secret_key").read_text())


def test_dev_secret_is_made_once_private_and_then_reused(tmp_path):
    directory = tmp_path / "secrets"

    first = dev_secret(directory, "internal_worker_token")
    made = (directory / "internal_worker_token").stat()
    second = dev_secret(directory, "internal_worker_token")

    assert len(first) >= 43
    assert second == first
    assert stat.S_IMODE(made.st_mode) == 0o600
    assert (directory / "internal_worker_token").stat().st_mtime_ns == made.st_mtime_ns
    assert sorted(p.name for p in directory.iterdir()) == ["internal_worker_token"]


def test_dev_secret_refuses_an_emptied_file_instead_of_using_an_empty_token(tmp_path):
    (tmp_path / "internal_worker_token").write_text("\n")

    with pytest.raises(ImproperlyConfigured, match="internal_worker_token is empty"):
        dev_secret(tmp_path, "internal_worker_token")


def test_dev_processes_share_the_tokens_made_by_the_first_and_say_so_without_printing_them(tmp_path):
    # Given no token in the environment
    environment = {"DEV_SECRETS_DIR": str(tmp_path)}

    # When two dev processes start one after the other (the API, then a worker)
    api = run_with_settings("dev", environment, code=DUMP_SETTINGS)
    worker = run_with_settings("dev", environment, code=DUMP_SETTINGS)

    # Then both hold the same generated secrets, none of them the old built-in ones
    api_settings, worker_settings = _settings_of(api), _settings_of(worker)
    token = (tmp_path / "internal_worker_token").read_text()
    lambda_key = (tmp_path / "lambda_internal_api_key").read_text()
    assert api_settings["INTERNAL_WORKER_TOKEN"] == worker_settings["INTERNAL_WORKER_TOKEN"] == repr(token)
    assert api_settings["LAMBDA_INTERNAL_API_KEY"] == worker_settings["LAMBDA_INTERNAL_API_KEY"] == repr(lambda_key)
    assert len(token) >= 32 and len(lambda_key) >= 32
    # And the first says where it put them, once per secret, without the values; the second says nothing
    announced = [json.loads(line) for line in api.stderr.splitlines() if line.startswith("{")]
    assert [(line["event"], line["name"]) for line in announced] == [
        ("dev_secret_generated", "secret_key"), ("dev_secret_generated", "internal_worker_token"),
        ("dev_secret_generated", "lambda_internal_api_key")]
    assert token not in api.stderr and lambda_key not in api.stderr
    assert "dev_secret_generated" not in worker.stderr


def test_a_token_set_in_the_environment_wins_and_nothing_is_generated_for_it(tmp_path):
    environment = {"DEV_SECRETS_DIR": str(tmp_path), "INTERNAL_WORKER_TOKEN": "x" * 40}

    dumped = _settings_of(run_with_settings("dev", environment, code=DUMP_SETTINGS))

    assert dumped["INTERNAL_WORKER_TOKEN"] == repr("x" * 40)
    assert not (tmp_path / "internal_worker_token").exists()
