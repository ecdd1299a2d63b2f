"""The five Dockerfiles, .dockerignore and the entrypoint scripts, read as files (no Docker engine here): what each
image installs and runs, that the context they COPY from survives .dockerignore, and what each entrypoint execs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER = REPO_ROOT / "docker"
BASH = shutil.which("bash")
PIP_FLAGS = "pip install --no-cache-dir --require-hashes -r requirements/"


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            lines.append(current)
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _args(dockerfile: str, instruction: str) -> list[str]:
    return [args for name, args in _instructions(DOCKER / dockerfile / "Dockerfile") if name == instruction]


def _dockerignore() -> list[tuple[bool, re.Pattern]]:
    """(exclude?, regex) per .dockerignore line, as Docker reads it: paths from the root, `**` any depth, `*` within
    one segment, `!` re-includes, the last matching line wins."""
    rules = []
    for raw in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((exclude, re.compile(regex + r"\Z")))
    return rules


def _excluded(path: str, rules=None) -> bool:
    """Whether Docker leaves `path` out of the context: a rule matches the path or one of its parent directories."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for exclude, regex in rules or _dockerignore():
        if any(regex.match(candidate) for candidate in candidates):
            excluded = exclude
    return excluded


def _tracked_files() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.splitlines()


IMAGES = {"base": "base", "api": "api", "video": "video-worker", "ai": "ai-worker-cpu",
          "messaging": "messaging-worker"}


def test_dockerignore_keeps_secrets_local_state_and_tests_out():
    rules = _dockerignore()

    for path in [".env", ".env.production", ".env.example", ".env.production.example", "apps/.env",
                 ".venv/bin/python", "var/secrets/SECRET_KEY", "var/academy.sqlite3", "var/storage/a/b.pdf",
                 "apps/core/tests/test_health.py", "apps/domains/exams/tests/data/scan.png", "apps/conftest.py",
                 "apps/core/__pycache__/views.cpython-311.pyc", "manage.cpython-311.pyc", ".git/config",
                 "scripts/bench/video_ladder.py", "infra/batch/job-definition.json", "docs/deploy.md"]:
        assert _excluded(path, rules), path


def test_dockerignore_keeps_everything_the_images_copy():
    rules = _dockerignore()
    tracked = _tracked_files()
    copied = [path for path in tracked if path.startswith(("apps/", "requirements/")) or path == "manage.py"
              or re.fullmatch(r"docker/\w+_entrypoint\.sh", path)]

    kept = [path for path in copied if not _excluded(path, rules)]

    # The Korean PDF font and its licence come with the code, in every image.
    assert "apps/domains/exams/omr/fonts/NanumGothic.ttf" in kept
    assert "apps/domains/exams/omr/fonts/OFL.txt" in kept
    assert {"manage.py", "requirements/base.txt", "requirements/api.txt", "requirements/worker.txt",
            "docker/api_entrypoint.sh", "docker/scheduler_entrypoint.sh", "docker/worker_entrypoint.sh",
            "docker/video_entrypoint.sh"} <= set(kept)
    # Only tests and conftest files are left out of what the images copy.
    assert [path for path in copied if path not in kept] \
        == [path for path in copied if "/tests/" in path or path.endswith("conftest.py")]


def test_every_image_is_built_on_the_pinned_bookworm_python_through_base():
    assert _args("base", "FROM") == ["python:3.11-slim-bookworm"]
    for name in ["api", "video-worker", "ai-worker-cpu", "messaging-worker"]:
        assert _args(name, "ARG") == ["BASE_IMAGE=academy-base:latest"], name
        assert _args(name, "FROM") == ["${BASE_IMAGE}"], name


def test_every_image_ends_as_the_non_root_user():
    assert "useradd --system --uid 10001 --gid academy" in _args("base", "RUN")[0]
    for name in IMAGES.values():
        assert _args(name, "USER")[-1] == "10001:10001", name


def test_requirements_install_hash_locked_and_the_messaging_image_adds_nothing():
    installs = {name: [re.search(r"pip install [^&]*", run).group(0).strip() for run in _args(name, "RUN")
                       if "pip install" in run] for name in IMAGES.values()}

    assert installs == {
        "base": [PIP_FLAGS + "base.txt"],
        "api": [PIP_FLAGS + "api.txt"],
        "video-worker": [],
        "ai-worker-cpu": [PIP_FLAGS + "worker.txt"],
        "messaging-worker": [],
    }
    # The messaging image is the base and its settings: no package, no command of its own.
    assert [name for name, _ in _instructions(DOCKER / "messaging-worker" / "Dockerfile")] \
        == ["ARG", "FROM", "LABEL", "WORKDIR", "ENV", "COPY", "COPY", "COPY", "USER", "CMD"]


def test_system_packages_per_image():
    def apt(name):
        return [re.search(r"apt-get install -y --no-install-recommends ([^&]*)", run).group(1).split()
                for run in _args(name, "RUN") if "apt-get install" in run]

    assert apt("base") == []
    assert apt("api") == []
    assert apt("video-worker") == [["ffmpeg", "tini"]]
    assert apt("ai-worker-cpu") == [["tesseract-ocr", "tesseract-ocr-kor", "libstdc++6", "zlib1g"]]
    assert apt("messaging-worker") == []


def test_the_ai_image_checks_its_libraries_korean_data_and_font_at_build_time():
    check = next(run for run in _args("ai-worker-cpu", "RUN") if "--list-langs" in run)

    assert "import cv2, numpy, PIL, pillow_heif, pypdfium2, pytesseract, openpyxl, python_calamine" in check
    assert "tesseract --list-langs 2>/dev/null | grep -qx kor" in check
    assert "test -s apps/domains/exams/omr/fonts/NanumGothic.ttf" in check
    assert (REPO_ROOT / "apps/domains/exams/omr/fonts/NanumGothic.ttf").stat().st_size > 1_000_000


def test_each_image_copies_the_code_last_and_starts_one_entrypoint_script():
    commands = {name: _args(name, "CMD") for name in IMAGES.values()}

    assert commands == {
        "base": [],
        "api": ['["./api_entrypoint.sh"]'],
        "video-worker": ['["./video_entrypoint.sh"]'],
        "ai-worker-cpu": ['["./worker_entrypoint.sh", "ai"]'],
        "messaging-worker": ['["./worker_entrypoint.sh", "messaging"]'],
    }
    assert _args("video-worker", "ENTRYPOINT") == ['["/usr/bin/tini", "--"]']
    assert _args("base", "COPY") == ["requirements/ requirements/"]
    for name in ["api", "video-worker", "ai-worker-cpu", "messaging-worker"]:
        # The code comes last, after every install, so a code change rebuilds no install layer.
        assert _args(name, "COPY") == ["apps/ apps/", "manage.py ./", "docker/*_entrypoint.sh ./"], name
        assert _args(name, "WORKDIR") == ["/app"], name
        names = [instruction for instruction, _ in _instructions(DOCKER / name / "Dockerfile")]
        first_copy = names.index("COPY")
        assert all("install" not in args for _, args in _instructions(DOCKER / name / "Dockerfile")[first_copy:]), name
    assert _args("ai-worker-cpu", "ENV")[0].endswith('ACADEMY_IMAGE_FLEETS="ai excel"')
    assert _args("messaging-worker", "ENV")[0].endswith('ACADEMY_IMAGE_FLEETS="messaging"')


def test_only_the_api_has_a_healthcheck_and_it_asks_health():
    checks = {name: _args(name, "HEALTHCHECK") for name in IMAGES.values()}

    assert [name for name, found in checks.items() if found] == ["api"]
    assert "urlopen('http://127.0.0.1:%s/health'" in checks["api"][0]


@pytest.mark.parametrize("script", ["api", "scheduler", "worker", "video"])
def test_entrypoints_are_strict_and_exec_their_process(script):
    path = DOCKER / f"{script}_entrypoint.sh"
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]

    assert path.stat().st_mode & 0o111 == 0o111
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert lines[0] == "set -euo pipefail"
    assert sum(line.startswith("exec ") for line in lines) == 1


@pytest.fixture
def entrypoint(tmp_path):
    """Runs an entrypoint with a fake `python` that prints its argv, one argument a line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(f"#!{BASH}\nprintf '%s\\n' \"$@\"\n")
    fake.chmod(0o755)

    def run(script, *args, **env):
        return subprocess.run([BASH, str(DOCKER / f"{script}_entrypoint.sh"), *args], cwd=tmp_path,
                              env={"PATH": str(bin_dir), **env}, capture_output=True, text=True, timeout=30)

    return run


def test_worker_entrypoint_runs_the_fleet(entrypoint):
    result = entrypoint("worker", "excel", "--max-polls", "3", ACADEMY_IMAGE_FLEETS="ai excel")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["manage.py", "run_worker", "excel", "--max-polls", "3"]


def test_worker_entrypoint_refuses_a_fleet_its_image_does_not_carry(entrypoint):
    result = entrypoint("worker", "ai", ACADEMY_IMAGE_FLEETS="messaging")

    assert result.returncode == 64
    assert result.stdout == ""
    assert result.stderr == "worker_entrypoint.sh: this image runs the fleets 'messaging', not 'ai'\n"


def test_worker_entrypoint_needs_a_fleet(entrypoint):
    result = entrypoint("worker")

    assert result.returncode != 0
    assert result.stdout == ""
    assert "usage: worker_entrypoint.sh <excel|messaging|ai>" in result.stderr


def test_video_and_scheduler_entrypoints(entrypoint):
    video = entrypoint("video", "7c1f5e0e-3a43-4d55-9a8e-2f0f8a3f5b11")
    scheduler = entrypoint("scheduler")

    assert video.stdout.splitlines() == ["-m", "apps.worker.video.batch_main", "7c1f5e0e-3a43-4d55-9a8e-2f0f8a3f5b11"]
    assert scheduler.stdout.splitlines() == ["manage.py", "run_scheduler"]

