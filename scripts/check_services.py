"""Checks that the Postgres and Redis the tests use answer, with a clear message when they do not."""

import os
import socket
import sys
from urllib.parse import urlsplit

# The same defaults as apps/api/config/settings/test.py, so this checks what the tests will use.
_redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
SERVICES = {
    "PostgreSQL": (os.environ.get("DB_HOST", "127.0.0.1"), int(os.environ.get("DB_PORT", "5432"))),
    "Redis": (_redis.hostname or "127.0.0.1", _redis.port or 6379),
}


def main() -> int:
    missing = []
    for name, (host, port) in SERVICES.items():
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            missing.append(f"{name} on {host}:{port} ({exc})")
    if missing:
        print("Test services are not reachable: " + ", ".join(missing), file=sys.stderr)
        print("Start them with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; "
              'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no', file=sys.stderr)
        return 1
    print("PostgreSQL and Redis are reachable.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
