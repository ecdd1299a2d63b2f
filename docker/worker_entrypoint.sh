#!/usr/bin/env bash
# One SQS worker fleet per container: ./worker_entrypoint.sh <excel|messaging|ai>
set -euo pipefail
fleet="${1:?usage: worker_entrypoint.sh <fleet>}"
exec python manage.py run_worker "$fleet"
