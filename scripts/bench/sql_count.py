"""Benchmark-only middleware: every response says how many SQL statements its request ran (X-Bench-SQL), and how
many connection health checks Django made (X-Bench-Ping).

X-Bench-SQL counts what Django executes on the request's connection, authentication included. Django's connection
health check (CONN_HEALTH_CHECKS: a bare `SELECT 1` before a persistent connection's first use in a request)
bypasses the execute wrappers, so it is counted apart, by wrapping the backend's `is_usable`.
"""

import threading

from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

HEADER = "X-Bench-SQL"
PING_HEADER = "X-Bench-Ping"
_local = threading.local()
_is_usable = DatabaseWrapper.is_usable


def _counted_is_usable(self):
    _local.pings = getattr(_local, "pings", 0) + 1
    return _is_usable(self)


DatabaseWrapper.is_usable = _counted_is_usable


class SqlCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counting(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        _local.pings = 0
        with connection.execute_wrapper(counting):
            response = self.get_response(request)
        response[HEADER] = str(count)
        response[PING_HEADER] = str(_local.pings)
        return response
