"""scripts/prepare_deploy_env.py and its pure core (apps/core/deploy_env.py): X_RDS replaces X, build-only keys go,
and a key the existing .env.deploy holds is never lost (the incident: every R2 variable vanished)."""

import importlib.util
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.deploy_env import DeployEnvError, parse_dotenv, prepare, render

ROOT = Path(__file__).resolve().parents[3]
SECRET_KEY = "k" * 60
TOKEN = "t" * 40
LAMBDA_KEY = "l" * 40
PRODUCTION = (
    f"SECRET_KEY={SECRET_KEY}\nINTERNAL_WORKER_TOKEN={TOKEN}\nLAMBDA_INTERNAL_API_KEY={LAMBDA_KEY}\n"
    "ALLOWED_HOSTS=api.example.com\nDB_HOST=localhost\nDB_HOST_RDS=academy.abc.ap-northeast-2.rds.amazonaws.com\n"
    "STORAGE_BACKEND=r2\nR2_ENDPOINT_URL=https://acc.r2.cloudflarestorage.com\nR2_ACCESS_KEY_ID=r2-key-id-value\n"
    "R2_SECRET_ACCESS_KEY=r2-secret-value-0123\nMESSAGING_PROVIDER=outbox\n"
)


def load_script():
    spec = importlib.util.spec_from_file_location("prepare_deploy_env", ROOT / "scripts" / "prepare_deploy_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tmp_path, capsys, laptop: str, existing: str | None = None, *extra: str) -> tuple[int, str, dict]:
    source, target = tmp_path / ".env", tmp_path / ".env.deploy"
    source.write_text(laptop)
    if existing is not None:
        target.write_text(existing)
    code = load_script().main(["-i", str(source), "-o", str(target), *extra])
    out = capsys.readouterr().out
    return code, out, parse_dotenv(target.read_text()) if target.exists() else {}


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------
def test_parse_reads_comments_blanks_quotes_export_and_equals_signs_as_the_settings_do():
    text = """# a comment

export DB_HOST=db.internal
SINGLE='a b # not a comment'
DOUBLE="say \\"hi\\" \\n"
URL=postgres://u:p@h/db?sslmode=require&x=1
HASH=abc#def # kept, as django-environ keeps it
EMPTY=
TWICE=first
TWICE=second
"""
    assert parse_dotenv(text) == {
        "DB_HOST": "db.internal", "SINGLE": "a b # not a comment", "DOUBLE": 'say "hi" \\n',
        "URL": "postgres://u:p@h/db?sslmode=require&x=1", "HASH": "abc#def # kept, as django-environ keeps it",
        "EMPTY": "", "TWICE": "second",
    }


def test_parse_agrees_with_django_environ(tmp_path, monkeypatch):
    import environ

    text = "export A=1\nB='x y'\nC=\"q\\\"z\"\nD=a=b=c\nE=v # c\n"
    path = tmp_path / "f.env"
    path.write_text(text)
    read: dict = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", read)

    environ.Env.read_env(path, overwrite=True)

    assert parse_dotenv(text) == read


def test_a_line_that_is_not_key_value_is_refused_with_its_number():
    with pytest.raises(DeployEnvError, match="input line 2 is not KEY=VALUE"):
        parse_dotenv("A=1\nB = 2\n")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e"
                                                                                          "\x85\u2028\u2029"),
               max_size=40))
def test_render_then_parse_gives_every_value_back(value):
    assert parse_dotenv(render({"KEY": value}, source=".env")) == {"KEY": value}


def test_a_value_with_a_line_break_is_refused():
    with pytest.raises(DeployEnvError, match="KEY: a value cannot hold a line break"):
        render({"KEY": "a\nb"}, source=".env")


# ---------------------------------------------------------------------------
# Production values and the merge
# ---------------------------------------------------------------------------
def test_rds_keys_replace_their_base_and_build_only_keys_are_dropped():
    laptop = {"DB_HOST": "localhost", "DB_HOST_RDS": "rds.example", "DB_PASSWORD_RDS": "pw", "AWS_ACCOUNT_ID": "1",
              "ECR_REGISTRY": "1.dkr.ecr", "R2_BUCKET_AI": "academy-ai"}

    merged, report = prepare(laptop, {})

    assert merged == {"DB_HOST": "rds.example", "R2_BUCKET_AI": "academy-ai", "DB_PASSWORD": "pw"}
    assert report.dropped == ["DB_HOST_RDS", "DB_PASSWORD_RDS", "AWS_ACCOUNT_ID", "ECR_REGISTRY"]
    assert report.added == ["DB_HOST", "R2_BUCKET_AI", "DB_PASSWORD"]


def test_the_merge_never_loses_an_existing_key_and_reports_changes():
    existing = {"R2_ACCESS_KEY_ID": "kept-id", "R2_SECRET_ACCESS_KEY": "kept-secret", "DB_HOST": "old.rds",
                "SENTRY_DSN": "https://dsn"}
    laptop = {"DB_HOST": "localhost", "DB_HOST_RDS": "new.rds", "SENTRY_DSN": "https://dsn", "NEW_ONE": "v"}

    merged, report = prepare(laptop, existing)

    assert merged == {"R2_ACCESS_KEY_ID": "kept-id", "R2_SECRET_ACCESS_KEY": "kept-secret", "DB_HOST": "new.rds",
                      "SENTRY_DSN": "https://dsn", "NEW_ONE": "v"}
    assert (report.added, report.changed, report.kept, report.unchanged) == (
        ["NEW_ONE"], ["DB_HOST"], ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"], ["SENTRY_DSN"])


@given(existing=st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), st.text(max_size=5)),
       laptop=st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), st.text(max_size=5)))
def test_no_existing_key_is_ever_lost(existing, laptop):
    merged, _report = prepare(laptop, existing)

    assert set(existing) <= set(merged)


# ---------------------------------------------------------------------------
# The script
# ---------------------------------------------------------------------------
def test_the_script_writes_0600_with_the_header_and_prints_names_never_values(tmp_path, capsys):
    existing = "R2_BUCKET_VIDEO=academy-video-prod\nDB_HOST=old.rds.example\n"

    code, out, written = run(tmp_path, capsys, PRODUCTION + "AWS_ACCOUNT_ID=123456789012\n", existing)

    assert code == 0
    target = tmp_path / ".env.deploy"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert text.splitlines()[1].startswith("# DO NOT COMMIT")
    assert written["R2_BUCKET_VIDEO"] == "academy-video-prod"
    assert written["DB_HOST"] == "academy.abc.ap-northeast-2.rds.amazonaws.com"
    assert "DB_HOST_RDS" not in written and "AWS_ACCOUNT_ID" not in written
    assert "  changed: DB_HOST" in out.splitlines()
    assert "  kept (only in the existing file): R2_BUCKET_VIDEO" in out.splitlines()
    assert "  not written: DB_HOST_RDS, AWS_ACCOUNT_ID" in out.splitlines()
    for value in [*parse_dotenv(PRODUCTION).values(), "academy-video-prod", "old.rds.example", "123456789012"]:
        assert value not in out


def test_running_twice_gives_the_same_file(tmp_path, capsys):
    run(tmp_path, capsys, PRODUCTION, "EXTRA=1\n")
    first = (tmp_path / ".env.deploy").read_bytes()

    code, out, _written = run(tmp_path, capsys, PRODUCTION)

    assert code == 0
    assert (tmp_path / ".env.deploy").read_bytes() == first
    assert "  added: -" in out.splitlines() and "  changed: -" in out.splitlines()


def test_an_existing_file_with_a_broken_line_is_left_alone(tmp_path, capsys):
    (tmp_path / ".env").write_text(PRODUCTION)
    target = tmp_path / ".env.deploy"
    target.write_text("R2_ACCESS_KEY_ID=keep\nnot a line\n")

    code = load_script().main(["-i", str(tmp_path / ".env"), "-o", str(target)])

    assert code == 2
    assert "line 2 is not KEY=VALUE" in capsys.readouterr().err
    assert target.read_text() == "R2_ACCESS_KEY_ID=keep\nnot a line\n"


def test_validate_accepts_a_complete_file(tmp_path, capsys):
    code, out, _written = run(tmp_path, capsys, PRODUCTION, None, "--validate")

    assert code == 0
    assert out.splitlines()[-1] == "production settings accept it (API and workers)"


def test_validate_names_what_production_settings_refuse(tmp_path, capsys):
    laptop = PRODUCTION.replace(f"INTERNAL_WORKER_TOKEN={TOKEN}\n", "INTERNAL_WORKER_TOKEN=short\n") + "DEBUG=true\n"

    code, out, _written = run(tmp_path, capsys, laptop, None, "--validate")

    assert code == 1
    lines = out.splitlines()
    refusal = "DEBUG must be off; INTERNAL_WORKER_TOKEN is shorter than 32 characters"
    assert lines[-3:] == ["production settings refuse it:",
                          f"  prod: 프로덕션 설정 오류 (production settings refused): {refusal}",
                          f"  worker: 프로덕션 설정 오류 (production settings refused): {refusal}"]


def test_env_deploy_is_ignored_by_git():
    import subprocess

    done = subprocess.run(["git", "check-ignore", "-q", ".env.deploy"], cwd=ROOT)
    assert done.returncode == 0
