#!/usr/bin/env bash
# Builds the academy images in order (docs/deploy.md §6). Run it from the repository root, which is the build context:
#   docker/build.sh [base|api|video|ai|messaging|all] [--platform linux/arm64] [--push REGISTRY] [--tag TAG]
# The names and the order are in docker/images.txt. Every image but base is built FROM academy-base:<TAG>, which
# must exist locally (`docker/build.sh base --tag TAG`, or `all`, which builds base first). --platform is passed to
# `docker build` (BuildKit, the default builder: it sees the local academy-base; a docker-container buildx builder
# would not). --push REGISTRY tags each image built as REGISTRY/<name>:<TAG> and pushes it, after every build
# succeeded. The default TAG is latest.
# Only bash builtins besides docker and git, so it runs on any machine that has those two.
set -euo pipefail

usage() {
  echo "usage: docker/build.sh [base|api|video|ai|messaging|all] [--platform linux/arm64] [--push REGISTRY] [--tag TAG]" >&2
  [[ $# -gt 0 ]] && echo "build.sh: $1" >&2
  exit 2
}

fail() {
  echo "build.sh: $1" >&2
  exit 1
}

target=""
platform=""
registry=""
tag="latest"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --platform | --push | --tag)
      [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || usage "$1 needs a value"
      case "$1" in
        --platform) platform="$2" ;;
        --push) registry="${2%/}" ;;
        --tag) tag="$2" ;;
      esac
      shift 2
      ;;
    -h | --help) usage ;;
    -*) usage "unknown option: $1" ;;
    *)
      [[ -z "$target" ]] || usage "one target only (got '$target' and '$1')"
      target="$1"
      shift
      ;;
  esac
done
[[ -n "$target" ]] || usage "no target"
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage "invalid tag: $tag"
[[ -z "$platform" || "$platform" =~ ^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$ ]] || usage "invalid platform: $platform"

# The context is the current directory, and it must be the repository root: the Dockerfiles COPY apps/, manage.py,
# requirements/ and docker/*_entrypoint.sh from it.
if [[ ! -f manage.py || ! -d apps || ! -d requirements || ! -f docker/images.txt ]]; then
  fail "run from the repository root (the build context), not $(pwd): cd to the directory holding manage.py"
fi

targets=()
images=()
while read -r name image _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  targets+=("$name")
  images+=("$image")
done <docker/images.txt

selected=()
if [[ "$target" == all ]]; then
  selected=("${!targets[@]}")
else
  for i in "${!targets[@]}"; do
    [[ "${targets[$i]}" == "$target" ]] && selected=("$i")
  done
  [[ ${#selected[@]} -eq 1 ]] || usage "unknown target: $target (one of: ${targets[*]} all)"
fi

command -v docker >/dev/null 2>&1 || fail "docker not found on PATH: install Docker (the CLI and an engine) to build images"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (docker info failed): start it, or check DOCKER_HOST"

base="${images[0]}:${tag}"
if [[ "$target" != all && "$target" != "${targets[0]}" ]]; then
  base_platform="$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$base" 2>/dev/null)" \
    || fail "${base} 이미지가 없습니다: 먼저 docker/build.sh base --tag ${tag} (image ${base} not found: build base first)"
  if [[ -n "$platform" && "${platform%/*}" != "$base_platform" && "$platform" != "$base_platform" ]]; then
    fail "${base} is ${base_platform}, not ${platform}: build base with --platform ${platform} first"
  fi
fi

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
built=()
for i in "${selected[@]}"; do
  image="${images[$i]}"
  args=(build)
  [[ -n "$platform" ]] && args+=(--platform "$platform")
  args+=(-f "docker/${image#academy-}/Dockerfile")
  [[ $i -gt 0 ]] && args+=(--build-arg "BASE_IMAGE=${base}")
  args+=(-t "${image}:${tag}" --label "org.opencontainers.image.revision=${revision}" .)
  echo "build.sh: building ${image}:${tag}" >&2
  docker "${args[@]}"
  built+=("$image")
done

if [[ -n "$registry" ]]; then
  for image in "${built[@]}"; do
    docker tag "${image}:${tag}" "${registry}/${image}:${tag}"
    docker push "${registry}/${image}:${tag}"
  done
fi
echo "build.sh: built ${built[*]} (tag ${tag})" >&2
