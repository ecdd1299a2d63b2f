#!/usr/bin/env bash
# The scheduler (docs/jobs.md): one always-on container from the API image; a second one waits on the lock.
set -euo pipefail
exec python manage.py run_scheduler
