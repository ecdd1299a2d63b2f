"""Benchmark-only settings: the test settings (real Postgres, no debug) plus a bare JSON view to compare with."""

from apps.api.config.settings.test import *  # noqa: F403

ROOT_URLCONF = "scripts.bench.bench_urls"
