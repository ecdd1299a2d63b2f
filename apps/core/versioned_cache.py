"""A Redis read-through cache whose fills can never outlive an invalidation (ARCHITECTURE §2, the status poll).

Each entry has a value key and a version key. A reader snapshots both in one MGET; on a miss it reads the database
and fills the value only if the version is still the one it saw (one Lua call), so a fill racing a write loses:

    reader: MGET value, version=7 ... SELECT (old row) ...................... fill if version == 7 -> refused
    writer:                  UPDATE; COMMIT; INCR version (8); DEL value

Writers invalidate after their transaction commits (and once more at once, for readers of the same connection).
Every value also carries a TTL, which bounds the damage of an invalidation that never reached Redis.

When REDIS_URL is unset (the embedded `make run`) or Redis stops answering, the cache is off and every read is a
miss: callers fall back to the database. A failed call switches it off for a few seconds rather than paying the
socket timeout on every request.
"""

import functools
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_TTL_SECONDS = 24 * 3600
OFF_AFTER_ERROR_SECONDS = 5.0

# KEYS: value1, version1, value2, version2, ...; ARGV: (seen version, value, ttl ms) per pair.
_FILL_SCRIPT = """
local filled = 0
for i = 1, #KEYS, 2 do
  local a = (i - 1) / 2 * 3
  if (redis.call('GET', KEYS[i + 1]) or '0') == ARGV[a + 1] then
    redis.call('SET', KEYS[i], ARGV[a + 2], 'PX', ARGV[a + 3])
    filled = filled + 1
  end
end
return filled
"""


@dataclass(frozen=True)
class _Connection:
    client: object
    fill_script: object


@functools.cache
def _connect(url: str) -> _Connection:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30)
    return _Connection(client, client.register_script(_FILL_SCRIPT))


def _connection() -> _Connection | None:
    return _connect(settings.REDIS_URL) if settings.REDIS_URL else None


def redis_client():
    """The process's pooled Redis client, or None when REDIS_URL is unset."""
    connection = _connection()
    return connection.client if connection else None


@dataclass(frozen=True)
class Snapshot:
    value: bytes | None
    version: bytes  # b"0" when the entry was never invalidated


MISS = Snapshot(None, b"")  # the cache is off: never filled (no version can match "")


class _Breaker:
    off_until = 0.0

    @classmethod
    def available(cls) -> bool:
        return time.monotonic() >= cls.off_until

    @classmethod
    def trip(cls, action: str) -> None:
        cls.off_until = time.monotonic() + OFF_AFTER_ERROR_SECONDS
        logger.warning("versioned_cache_unavailable", extra={"action": action}, exc_info=True)


class VersionedCache:
    def __init__(self, namespace: str):
        self.namespace = namespace

    def keys(self, ident) -> tuple[str, str]:
        prefix = f"{settings.CACHE_KEY_PREFIX}:{self.namespace}:{ident}"
        return f"{prefix}:v", f"{prefix}:n"

    def invalidate(self, idents: Iterable) -> None:
        """Drops the entries now and again after the current transaction commits."""
        keys = [self.keys(ident) for ident in idents]
        if not keys:
            return
        _invalidate(keys)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: _invalidate(keys))


def read(pairs: Sequence[tuple[VersionedCache, object]]) -> list[Snapshot]:
    """One round trip for every (cache, ident) entry; all MISS when the cache is off."""
    client = redis_client()
    if client is None or not _Breaker.available():
        return [MISS] * len(pairs)
    keys = [key for cache, ident in pairs for key in cache.keys(ident)]
    try:
        values = client.mget(keys)
    except Exception:
        _Breaker.trip("read")
        return [MISS] * len(pairs)
    return [Snapshot(values[i], values[i + 1] or b"0") for i in range(0, len(values), 2)]


def fill(entries: Sequence[tuple[VersionedCache, object, Snapshot, bytes | None, int]]) -> int:
    """Stores each (cache, ident, snapshot, value, ttl seconds) whose version is still the snapshot's.

    A value of None (or a MISS snapshot) skips that entry. Returns how many were stored.
    """
    connection = _connection()
    wanted = [entry for entry in entries if entry[3] is not None and entry[2] is not MISS]
    if connection is None or not wanted or not _Breaker.available():
        return 0
    keys, args = [], []
    for cache, ident, snapshot, value, ttl in wanted:
        keys.extend(cache.keys(ident))
        args.extend([snapshot.version, value, int(ttl * 1000)])
    try:
        return connection.fill_script(keys=keys, args=args)
    except Exception:
        _Breaker.trip("fill")
        return 0


def _invalidate(keys: list[tuple[str, str]]) -> None:
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=True)
        for value_key, version_key in keys:
            pipe.incr(version_key)
            pipe.expire(version_key, VERSION_TTL_SECONDS)
            pipe.delete(value_key)
        pipe.execute()
    except Exception:
        # This process stops reading too; elsewhere the value's TTL bounds how stale an entry can be.
        _Breaker.trip("invalidate")
