"""The versioned cache on the real Redis: fills that race an invalidation lose, and an absent Redis is a miss."""

from django.db import transaction

from apps.core import versioned_cache
from apps.core.versioned_cache import MISS, VersionedCache

THINGS = VersionedCache("things")


def _read(ident) -> versioned_cache.Snapshot:
    return versioned_cache.read([(THINGS, ident)])[0]


def _fill(ident, snapshot, value: bytes, ttl: float = 60) -> int:
    return versioned_cache.fill([(THINGS, ident, snapshot, value, ttl)])


def test_a_fill_is_read_back_until_invalidated():
    assert _fill(1, _read(1), b"one") == 1

    assert _read(1).value == b"one"
    THINGS.invalidate([1])
    assert _read(1).value is None


def test_a_fill_from_a_snapshot_taken_before_an_invalidation_is_refused():
    # Given a reader that saw the entry missing, then read the database...
    seen = _read(7)
    # ...when a writer commits and invalidates before the reader stores what it read
    THINGS.invalidate([7])

    assert _fill(7, seen, b"stale") == 0
    assert _read(7).value is None
    # A reader that starts after the write fills as usual.
    assert _fill(7, _read(7), b"fresh") == 1
    assert _read(7).value == b"fresh"


def test_one_read_and_one_fill_handle_several_entries_each_on_its_own_version():
    others = VersionedCache("others")
    seen_thing, seen_other = versioned_cache.read([(THINGS, 1), (others, 1)])
    others.invalidate([1])

    stored = versioned_cache.fill([(THINGS, 1, seen_thing, b"a", 60), (others, 1, seen_other, b"b", 60)])

    assert stored == 1
    assert [s.value for s in versioned_cache.read([(THINGS, 1), (others, 1)])] == [b"a", None]


def test_every_value_expires(empty_redis):
    _fill(3, _read(3), b"three", ttl=30)

    value_key, _ = THINGS.keys(3)
    assert 0 < empty_redis.pttl(value_key) <= 30_000


def test_an_invalidation_inside_a_transaction_is_repeated_after_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            THINGS.invalidate([5])
            # A reader on another connection still sees the old row and fills after the first invalidation.
            assert _fill(5, _read(5), b"old row") == 1

    assert _read(5).value is None


def test_without_redis_url_every_read_misses_and_nothing_is_stored(settings):
    settings.REDIS_URL = ""

    assert _read(1) is MISS
    assert _fill(1, MISS, b"x") == 0
    THINGS.invalidate([1])  # nothing to do, nothing raised


def test_an_unreachable_redis_is_a_miss(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    assert _read(1) is MISS
    assert _fill(1, _read(1), b"x") == 0
    THINGS.invalidate([1])  # logged, not raised: the write it follows has committed


def test_after_a_redis_error_the_cache_stays_off_for_a_while(monkeypatch):
    class DownClient:
        calls = 0

        def mget(self, keys):
            DownClient.calls += 1
            raise ConnectionError("redis down")

    monkeypatch.setattr(versioned_cache, "_connection", lambda: versioned_cache._Connection(DownClient(), None))

    assert [_read(1), _read(2), _read(3)] == [MISS, MISS, MISS]
    assert DownClient.calls == 1
    monkeypatch.setattr(versioned_cache._Breaker, "off_until", 0.0)  # the pause is over
    _read(4)
    assert DownClient.calls == 2


def test_keys_carry_the_deployment_prefix_and_the_namespace(settings):
    settings.CACHE_KEY_PREFIX = "staging"

    assert THINGS.keys(12) == ("staging:things:12:v", "staging:things:12:n")
