"""scripts/put_deploy_env.py: `.env.deploy` becomes the SSM parameters compute.yaml and batch.yaml read (moto)."""

import importlib.util
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from apps.core.deploy_env import ssm_parameters

ROOT = Path(__file__).resolve().parents[3]
INTERNAL = "http://internal-academy-prod-internal-1.ap-northeast-2.elb.amazonaws.com"
ENV_FILE = """# do not commit
SECRET_KEY=s3cret-key-value-that-is-long-enough-for-production-use-0123456789
INTERNAL_WORKER_TOKEN=worker-token-value-0123456789abcdef
LAMBDA_INTERNAL_API_KEY=lambda-key-value-0123456789abcdef
DB_PASSWORD='pa ss=word'
API_BASE_URL=https://api.academy.example
R2_ACCESS_KEY_ID=r2-id
"""


def load_script():
    spec = importlib.util.spec_from_file_location("put_deploy_env", ROOT / "scripts" / "put_deploy_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fleets_get_the_internal_address_and_never_the_lambdas_key():
    values = {"API_BASE_URL": "https://api.academy.example", "LAMBDA_INTERNAL_API_KEY": "k", "SECRET_KEY": "s",
              "DEBUG": "false"}

    parameters = ssm_parameters(values, worker_api_base_url=INTERNAL)

    assert parameters == {
        "/academy/api/API_BASE_URL": "https://api.academy.example", "/academy/api/LAMBDA_INTERNAL_API_KEY": "k",
        "/academy/api/SECRET_KEY": "s", "/academy/api/DEBUG": "false",
        "/academy/worker/API_BASE_URL": INTERNAL, "/academy/worker/SECRET_KEY": "s", "/academy/worker/DEBUG": "false",
        "/academy/video-worker/SECRET_KEY": "s",
    }


def test_the_batch_job_secrets_are_the_ones_its_definition_names():
    from apps.core.deploy_env import VIDEO_WORKER_SECRETS

    template = (ROOT / "infra" / "cloudformation" / "batch.yaml").read_text()

    named = {line.split("Name: ", 1)[1].split(",", 1)[0] for line in template.splitlines()
             if "parameter/academy/video-worker/" in line}
    assert named == set(VIDEO_WORKER_SECRETS)


@mock_aws
def test_the_script_stores_secure_strings_overwrites_and_prints_names_only(tmp_path, capsys):
    env_file = tmp_path / ".env.deploy"
    env_file.write_text(ENV_FILE)
    client = boto3.client("ssm", region_name="ap-northeast-2")
    client.put_parameter(Name="/academy/api/DB_PASSWORD", Value="old", Type="SecureString")
    client.put_parameter(Name="/academy/api/KEPT", Value="not in the file", Type="SecureString")
    script = load_script()

    code = script.main(["--env-file", str(env_file), "--region", "ap-northeast-2",
                        "--worker-api-base-url", INTERNAL], client=client)

    printed = capsys.readouterr().out
    pages = client.get_paginator("get_parameters_by_path").paginate(Path="/academy/", Recursive=True,
                                                                     WithDecryption=True)
    stored = {item["Name"]: item for page in pages for item in page["Parameters"]}
    assert code == 0
    assert stored["/academy/api/DB_PASSWORD"]["Value"] == "pa ss=word"
    assert stored["/academy/worker/API_BASE_URL"]["Value"] == INTERNAL
    assert stored["/academy/api/KEPT"]["Value"] == "not in the file"  # never deleted
    assert "/academy/worker/LAMBDA_INTERNAL_API_KEY" not in stored
    assert {item["Type"] for item in stored.values()} == {"SecureString"}
    assert sorted(name for name in stored if name.startswith("/academy/video-worker/")) == [
        "/academy/video-worker/DB_PASSWORD", "/academy/video-worker/INTERNAL_WORKER_TOKEN",
        "/academy/video-worker/R2_ACCESS_KEY_ID", "/academy/video-worker/SECRET_KEY"]
    for secret in ("s3cret-key-value", "worker-token-value", "lambda-key-value", "pa ss=word", "r2-id"):
        assert secret not in printed
    assert "put /academy/worker/SECRET_KEY" in printed


@mock_aws
def test_a_dry_run_stores_nothing_and_an_unreadable_file_is_exit_2(tmp_path, capsys):
    env_file = tmp_path / ".env.deploy"
    env_file.write_text(ENV_FILE)
    client = boto3.client("ssm", region_name="ap-northeast-2")
    script = load_script()

    dry = script.main(["--env-file", str(env_file), "--region", "ap-northeast-2", "--worker-api-base-url", INTERNAL,
                       "--dry-run"], client=client)
    env_file.write_text("not a key value line\n")
    broken = script.main(["--env-file", str(env_file), "--region", "ap-northeast-2",
                          "--worker-api-base-url", INTERNAL], client=client)

    assert (dry, broken) == (0, 2)
    assert client.get_parameters_by_path(Path="/academy/", Recursive=True)["Parameters"] == []


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(name, value)
