"""The bench settings plus the SQL-counting middleware (scripts/bench/sql_count.py), outermost."""

from scripts.bench.bench_settings import *  # noqa: F403
from scripts.bench.bench_settings import MIDDLEWARE

MIDDLEWARE = ["scripts.bench.sql_count.SqlCountMiddleware", *MIDDLEWARE]
