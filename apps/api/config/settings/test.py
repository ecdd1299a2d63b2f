"""Tests run on the real Postgres and Redis of the machine; only AWS is stood in for (moto)."""

import os

os.environ.setdefault("DB_HOST", "127.0.0.1")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Each pytest-xdist worker keeps its own keys in the shared Redis database, so one worker's clean-up between tests
# never empties another's cache mid-test (processes a test starts inherit the prefix).
# Set, not defaulted, in an xdist worker: the controller loads these settings first and its "main" prefix is in
# the environment every worker inherits, which gave all workers one prefix (and empty_redis wiped each other's keys).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["CACHE_KEY_PREFIX"] = f"academy-test-{os.environ['PYTEST_XDIST_WORKER']}"
else:
    os.environ.setdefault("CACHE_KEY_PREFIX", "academy-test-main")
# Tests send nothing anywhere, whatever a developer's .env says (base.py starts Sentry only with a DSN).
os.environ["SENTRY_DSN"] = ""

from .base import *  # noqa: F403
from .base import LOGGING

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
INTERNAL_WORKER_TOKEN = "test-internal-token"
LAMBDA_INTERNAL_API_KEY = "test-lambda-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
LOGGING = {**LOGGING, "root": {"handlers": ["stdout"], "level": "WARNING"}}
