"""Embedded defaults for `make run`: SQLite (or the local Postgres if DB_HOST is set), local storage, table queue.

Secrets not set in the environment are made once under DEV_SECRETS_DIR (var/secrets/) and shared by every process
`make run` starts (the API, the workers, the local Batch subprocess): none is built into the code.
"""

from .base import *  # noqa: F403
from .base import DEV_SECRETS_DIR, INTERNAL_WORKER_TOKEN, LAMBDA_INTERNAL_API_KEY, SECRET_KEY, env
from .environment import dev_secret

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or dev_secret(DEV_SECRETS_DIR, "secret_key", nbytes=50)
INTERNAL_WORKER_TOKEN = INTERNAL_WORKER_TOKEN or dev_secret(DEV_SECRETS_DIR, "internal_worker_token")
LAMBDA_INTERNAL_API_KEY = LAMBDA_INTERNAL_API_KEY or dev_secret(DEV_SECRETS_DIR, "lambda_internal_api_key")
# A front end under development runs on some localhost port: allow them all unless origins are configured.
if not CORS_ALLOWED_ORIGINS and not CORS_ALLOWED_ORIGIN_REGEXES:  # noqa: F405
    CORS_ALLOWED_ORIGIN_REGEXES = [r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"]
