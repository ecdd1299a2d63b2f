#!/usr/bin/env bash
# API process: gunicorn only. Migrations run as a separate release step (docs/deploy.md).
set -euo pipefail
exec gunicorn apps.api.config.wsgi:application \
  --bind "0.0.0.0:${PORT:-8000}" \
  --workers "${GUNICORN_WORKERS:-3}" \
  --threads "${GUNICORN_THREADS:-4}" \
  --timeout "${GUNICORN_TIMEOUT:-60}" \
  --access-logfile - \
  --logger-class apps.core.gunicorn_logging.JsonAccessLogger \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
