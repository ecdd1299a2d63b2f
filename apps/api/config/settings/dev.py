"""Embedded defaults for `make run`: SQLite (or the local Postgres if DB_HOST is set), local storage, table queue."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
INTERNAL_WORKER_TOKEN = INTERNAL_WORKER_TOKEN or "dev-internal-token"  # noqa: F405
LAMBDA_INTERNAL_API_KEY = LAMBDA_INTERNAL_API_KEY or "dev-lambda-key"  # noqa: F405
