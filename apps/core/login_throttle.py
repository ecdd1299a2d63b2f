"""Failed-login throttling (issue 14): per (username, address) pair and per address, counted in the cache.

The pair limit, not an account-wide lock, so a classmate guessing a student's password from their own address cannot
lock the student out; the address limit stops one address from trying many usernames. Only failures count, and a
window ends by its stored end time (not only by the cache timeout) so an injected clock can move past it.
"""

import fnmatch
import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from apps.core.exceptions import DomainError

logger = logging.getLogger(__name__)

KEY_PREFIX = "login-failures"


class LoginThrottledError(DomainError):
    status_code = 429
    default_code = "LOGIN_THROTTLED"

    def __init__(self, *, retry_after_seconds: int):
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        super().__init__(message=f"로그인 시도가 너무 많습니다. {minutes}분 뒤에 다시 시도해 주세요.",
                         details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


def username_hash(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def pair_key(*, username: str, address: str) -> str:
    return f"{KEY_PREFIX}:pair:{username_hash(username)}:{address}"


def address_key(address: str) -> str:
    return f"{KEY_PREFIX}:address:{address}"


def client_address(request) -> str:
    """REMOTE_ADDR, or the last X-Forwarded-For entry the load balancer appended when the request came through it."""
    remote = request.META.get("REMOTE_ADDR", "")
    if _trusted_proxy(remote):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return remote


def _trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.FORWARDED_ALLOW_IPS:
        if allowed.strip() == "*":
            return True
        try:
            if ip in ipaddress.ip_network(allowed.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def _window_seconds() -> int:
    return settings.LOGIN_FAILURE_WINDOW_MINUTES * 60


def _limits(*, username: str, address: str) -> list[tuple[str, int]]:
    return [(pair_key(username=username, address=address), settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS),
            (address_key(address), settings.LOGIN_FAILURES_PER_ADDRESS)]


def login_throttle_check(*, username: str, address: str, now: float | None = None) -> None:
    """Raise LoginThrottledError when either limit is reached; called before the password is checked."""
    now = time.time() if now is None else now
    retry_after = 0
    for key, limit in _limits(username=username, address=address):
        stored = cache.get_many([key, f"{key}:ends"])
        ends = stored.get(f"{key}:ends")
        if ends is not None and now < ends and (stored.get(key) or 0) >= limit:
            retry_after = max(retry_after, math.ceil(ends - now))
    if retry_after:
        logger.warning("login_throttled", extra={"event": "login_throttled", "address": address,
                                                 "username_hash": username_hash(username),
                                                 "retry_after_seconds": retry_after})
        raise LoginThrottledError(retry_after_seconds=retry_after)


def login_failure_record(*, username: str, address: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    window = _window_seconds()
    for key, _limit in _limits(username=username, address=address):
        ends = cache.get(f"{key}:ends")
        if ends is None or now >= ends:
            # A new window; the cache timeout only collects it (with slack, as the clock may be injected).
            cache.set_many({key: 0, f"{key}:ends": now + window}, timeout=window * 2)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=window * 2)


def login_success_record(*, username: str, address: str) -> None:
    key = pair_key(username=username, address=address)
    cache.delete_many([key, f"{key}:ends"])


def login_throttle_clear(*, username: str, address: str | None = None) -> int:
    """Clear a lockout: the pair for one address, or every pair of the username. Returns the pairs cleared."""
    if address is not None:
        login_success_record(username=username, address=address)
        return 1
    pattern = f"{KEY_PREFIX}:pair:{username_hash(username)}:*"
    keys = [key for key in _cache_keys(pattern) if not key.endswith(":ends")]
    for key in keys:
        cache.delete_many([key, f"{key}:ends"])
    return len(keys)


def _cache_keys(pattern: str) -> list[str]:
    """Keys matching a pattern, without the cache's own prefix: Redis by SCAN, process memory by its dict."""
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        client = cache._cache.get_client(write=False)
        full = cache.make_key(pattern)
        prefix_length = len(cache.make_key(""))
        return [raw.decode()[prefix_length:] for raw in client.scan_iter(match=full, count=1000)]
    prefix_length = len(cache.make_key(""))
    full = cache.make_key(pattern)
    return [raw[prefix_length:] for raw in list(getattr(cache, "_cache", {})) if fnmatch.fnmatch(raw, full)]
