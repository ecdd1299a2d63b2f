"""docker/build.sh without Docker: a fake `docker` on a PATH of its own logs every call, so each test asserts the
exact commands the script would run, and that it stops before any build when it must."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = REPO_ROOT / "docker" / "build.sh"
BASH = shutil.which("bash")
GIT = shutil.which("git")

IMAGES = ["academy-base", "academy-api", "academy-video-worker", "academy-ai-worker-cpu", "academy-messaging-worker"]
DOCKERFILES = ["docker/base/Dockerfile", "docker/api/Dockerfile", "docker/video-worker/Dockerfile",
               "docker/ai-worker-cpu/Dockerfile", "docker/messaging-worker/Dockerfile"]
INSPECT = "image inspect --format {{.Os}}/{{.Architecture}} academy-base:"

# Answers `info` (engine up unless FAKE_DOCKER_ENGINE=down) and `image inspect` (the platform in FAKE_DOCKER_BASE,
# or "no such image" when it is empty); every call is logged, one line each.
FAKE_DOCKER = """#!{bash}
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
  info) [[ "${{FAKE_DOCKER_ENGINE:-up}}" == up ]] ;;
  image)
    [[ -n "${{FAKE_DOCKER_BASE:-}}" ]] || {{ echo "Error: No such image" >&2; exit 1; }}
    echo "$FAKE_DOCKER_BASE" ;;
  *) exit 0 ;;
esac
"""


@pytest.fixture(scope="module")
def revision() -> str:
    return subprocess.run([GIT, "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def build(tmp_path):
    """Runs build.sh with only git and (unless docker=False) the fake docker on PATH; returns (result, calls)."""
    log = tmp_path / "docker.log"

    def run(*args, docker=True, cwd=REPO_ROOT, base="linux/amd64", engine="up"):
        bin_dir = tmp_path / ("bin" if docker else "bin-no-docker")
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "git").unlink(missing_ok=True)
        (bin_dir / "git").symlink_to(GIT)
        if docker:
            fake = bin_dir / "docker"
            fake.write_text(FAKE_DOCKER.format(bash=BASH))
            fake.chmod(0o755)
        env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "FAKE_DOCKER_LOG": str(log),
               "FAKE_DOCKER_BASE": base, "FAKE_DOCKER_ENGINE": engine}
        result = subprocess.run([BASH, str(BUILD_SH), *args], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=60)
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return result, calls

    return run


def _build_call(index, tag, revision, platform=None):
    platform_args = f"--platform {platform} " if platform else ""
    base_arg = f"--build-arg BASE_IMAGE=academy-base:{tag} " if index else ""
    return (f"build {platform_args}-f {DOCKERFILES[index]} {base_arg}-t {IMAGES[index]}:{tag} "
            f"--label org.opencontainers.image.revision={revision} .")


def test_the_image_list_is_docker_images_txt_in_build_order():
    rows = [line.split() for line in (REPO_ROOT / "docker" / "images.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]

    assert rows == [["base", "academy-base"], ["api", "academy-api"], ["video", "academy-video-worker"],
                    ["ai", "academy-ai-worker-cpu"], ["messaging", "academy-messaging-worker"]]
    assert sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "docker").glob("*/Dockerfile")) \
        == sorted(DOCKERFILES)


def test_all_builds_base_then_the_four_in_order_from_that_base(build, revision):
    result, calls = build("all")

    assert result.returncode == 0, result.stderr
    assert calls == ["info"] + [_build_call(index, "latest", revision) for index in range(5)]


def test_one_target_checks_its_base_exists_then_builds_on_it(build, revision):
    result, calls = build("messaging", "--tag", "abc123")

    assert result.returncode == 0, result.stderr
    assert calls == ["info", INSPECT + "abc123", _build_call(4, "abc123", revision)]


def test_base_alone_needs_no_base(build, revision):
    result, calls = build("base", base="")

    assert result.returncode == 0, result.stderr
    assert calls == ["info", _build_call(0, "latest", revision)]


def test_a_missing_base_stops_before_any_build_and_says_to_build_it(build):
    result, calls = build("api", "--tag", "v7", base="")

    assert result.returncode == 1
    assert "academy-base:v7 이미지가 없습니다: 먼저 docker/build.sh base --tag v7" in result.stderr
    assert calls == ["info", INSPECT + "v7"]


def test_a_base_of_another_platform_stops_before_any_build(build):
    result, calls = build("ai", "--platform", "linux/arm64", base="linux/amd64")

    assert result.returncode == 1
    assert "academy-base:latest is linux/amd64, not linux/arm64: build base with --platform linux/arm64 first" \
        in result.stderr
    assert calls == ["info", INSPECT + "latest"]


def test_a_platform_variant_matches_its_base(build, revision):
    result, calls = build("ai", "--platform", "linux/arm64/v8", base="linux/arm64")

    assert result.returncode == 0, result.stderr
    assert calls == ["info", INSPECT + "latest", _build_call(3, "latest", revision, platform="linux/arm64/v8")]


def test_push_tag_and_platform_reach_docker(build, revision):
    result, calls = build("video", "--platform", "linux/arm64", "--push", "123456789012.dkr.ecr.ap-northeast-2"
                          ".amazonaws.com/", "--tag", "0f3c2a1", base="linux/arm64")
    registry = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"

    assert result.returncode == 0, result.stderr
    assert calls == [
        "info",
        INSPECT + "0f3c2a1",
        _build_call(2, "0f3c2a1", revision, platform="linux/arm64"),
        f"tag academy-video-worker:0f3c2a1 {registry}/academy-video-worker:0f3c2a1",
        f"push {registry}/academy-video-worker:0f3c2a1",
    ]


def test_all_with_push_pushes_only_after_every_build(build, revision):
    result, calls = build("all", "--push", "registry.example:5000/academy", "--tag", "r1")

    assert result.returncode == 0, result.stderr
    pushes = []
    for image in IMAGES:
        pushes += [f"tag {image}:r1 registry.example:5000/academy/{image}:r1",
                   f"push registry.example:5000/academy/{image}:r1"]
    assert calls == ["info"] + [_build_call(index, "r1", revision) for index in range(5)] + pushes


def test_without_docker_it_fails_at_once_and_says_so(build):
    result, calls = build("all", docker=False)

    assert result.returncode == 1
    assert "docker not found on PATH" in result.stderr
    assert calls == []


def test_an_engine_that_does_not_answer_stops_before_any_build(build):
    result, calls = build("base", engine="down")

    assert result.returncode == 1
    assert "the Docker engine does not answer" in result.stderr
    assert calls == ["info"]


@pytest.mark.parametrize("where", ["tmp", "docker"])
def test_outside_the_repository_root_it_fails_before_calling_docker(build, tmp_path, where):
    cwd = tmp_path if where == "tmp" else REPO_ROOT / "docker"

    result, calls = build("all", cwd=cwd)

    assert result.returncode == 1
    assert f"run from the repository root (the build context), not {os.path.realpath(cwd)}" in result.stderr
    assert calls == []


@pytest.mark.parametrize(("args", "message"), [
    ((), "no target"),
    (("worker",), "unknown target: worker (one of: base api video ai messaging all)"),
    (("api", "ai"), "one target only (got 'api' and 'ai')"),
    (("api", "--tag"), "--tag needs a value"),
    (("api", "--push", "--tag", "x"), "--push needs a value"),
    (("api", "--tag", "bad/tag"), "invalid tag: bad/tag"),
    (("api", "--platform", "arm64"), "invalid platform: arm64"),
    (("api", "--squash"), "unknown option: --squash"),
])
def test_bad_arguments_are_a_usage_error_before_anything_runs(build, args, message):
    result, calls = build(*args)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "usage: docker/build.sh [base|api|video|ai|messaging|all] [--platform linux/arm64] [--push REGISTRY] "
        "[--tag TAG]",
        f"build.sh: {message}",
    ]
    assert calls == []
