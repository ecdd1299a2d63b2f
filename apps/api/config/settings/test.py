"""Tests run on the real Postgres and Redis of the machine; only AWS is stood in for (moto)."""

import os

os.environ.setdefault("DB_HOST", "127.0.0.1")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Each pytest-xdist worker keeps its own keys in the shared Redis database, so one worker's clean-up between tests
# never empties another's cache mid-test (processes a test starts inherit the worker's name, so the same prefix).
# Set, not setdefault: the workers inherit the controller's environment, which already holds "academy-test-main",
# and with setdefault both workers shared it and emptied each other's login-throttle counters.
os.environ["CACHE_KEY_PREFIX"] = f"academy-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
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
