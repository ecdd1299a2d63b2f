#!/usr/bin/env bash
# One SQS worker fleet per container: ./worker_entrypoint.sh <excel|messaging|ai>
# ACADEMY_IMAGE_FLEETS, set by the image (docs/deploy.md §6), names the fleets whose libraries it carries: a fleet
# started from the wrong image stops here, at start, rather than at its first job.
set -euo pipefail
fleet="${1:?usage: worker_entrypoint.sh <excel|messaging|ai>}"
shift
if [[ -n "${ACADEMY_IMAGE_FLEETS:-}" && " ${ACADEMY_IMAGE_FLEETS} " != *" ${fleet} "* ]]; then
  echo "worker_entrypoint.sh: this image runs the fleets '${ACADEMY_IMAGE_FLEETS}', not '${fleet}'" >&2
  exit 64
fi
exec python manage.py run_worker "$fleet" "$@"
