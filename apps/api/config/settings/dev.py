"""Embedded defaults for `make run`: SQLite (or the local Postgres if DB_HOST is set), local storage, table queue."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
INTERNAL_WORKER_TOKEN = INTERNAL_WORKER_TOKEN or "dev-internal-token"  # noqa: F405
LAMBDA_INTERNAL_API_KEY = LAMBDA_INTERNAL_API_KEY or "dev-lambda-key"  # noqa: F405
# A front end under development runs on some localhost port: allow them all unless origins are configured.
if not CORS_ALLOWED_ORIGINS and not CORS_ALLOWED_ORIGIN_REGEXES:  # noqa: F405
    CORS_ALLOWED_ORIGIN_REGEXES = [r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"]
