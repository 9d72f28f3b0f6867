"""The contact form's rate limits live in the shared cache: every app process counts together.

Run against a real Redis (marked `redis`); each test that claims "shared" or "atomic" also
runs the same check against a deliberately wrong setup that must be caught.
"""

import logging
import threading

import pytest
import redis
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import Client, override_settings

from kaika import ratelimit
from tests.inquiries.test_contact import CONTACT, VALID

LIMITS = {"ip": (100, 600), "email": (2, 3600)}


def redis_location() -> str:
    return settings.CACHES["default"]["LOCATION"]


def separate_redis_cache() -> RedisCache:
    """A second client with its own connection pool, as another app process would have."""
    params = {
        k: v for k, v in settings.CACHES["default"].items() if k not in {"BACKEND", "LOCATION"}
    }
    return RedisCache(redis_location(), params)


@pytest.fixture
def raw_redis():
    client = redis.Redis.from_url(redis_location())
    yield client
    client.close()


def counter_in_redis(raw_redis, scope: str, value: str) -> tuple[int | None, int]:
    """(count, seconds to live) of a rate-limit counter, read straight from Redis."""
    key = separate_redis_cache().make_key(ratelimit.cache_key(scope, value))
    count = raw_redis.get(key)
    return (None if count is None else int(count)), raw_redis.ttl(key)


@pytest.mark.redis
@override_settings(KAIKA_INQUIRY_RATE_LIMITS=LIMITS)
def test_contact_form_counters_live_in_the_shared_redis(db, raw_redis):
    for _ in range(2):
        assert Client().post(CONTACT, VALID).status_code == 302

    count, ttl = counter_in_redis(raw_redis, "inquiries:email", VALID["email"])
    assert count == 2
    assert 0 < ttl <= 3600
    assert counter_in_redis(raw_redis, "inquiries:ip", "127.0.0.1")[0] == 2
    # Key names carry a keyed hash, not the address.
    assert not [k for k in raw_redis.keys("*") if b"hanako" in k or b"127.0.0.1" in k]

    # Another process, with its own connection, sees the same count and refuses too...
    other = separate_redis_cache()
    assert not ratelimit.hit("inquiries:email", VALID["email"], limit=2, period=3600, cache=other)
    # ...and so does the site.
    assert Client().post(CONTACT, VALID).status_code == 429


@pytest.mark.redis
@override_settings(KAIKA_INQUIRY_RATE_LIMITS=LIMITS)
def test_negative_control_a_process_local_cache_is_caught(db, raw_redis):
    # The misconfiguration this guards against: counters in process memory. The check used
    # above must see that nothing reached Redis.
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=local):
        assert Client().post(CONTACT, VALID).status_code == 302
    assert counter_in_redis(raw_redis, "inquiries:email", VALID["email"]) == (None, -2)


def admitted_alternating(cache_a, cache_b, *, limit: int, attempts: int) -> int:
    """Hits spread over two cache clients (two app processes); how many got through."""
    return sum(
        ratelimit.hit("email", "flood@example.jp", limit=limit, period=60, cache=cache)
        for cache in [cache_a, cache_b] * (attempts // 2)
    )


@pytest.mark.redis
def test_limit_is_shared_across_two_separate_redis_clients():
    a, b = separate_redis_cache(), separate_redis_cache()
    assert a._cache._get_connection_pool(True) is not b._cache._get_connection_pool(True)
    assert admitted_alternating(a, b, limit=3, attempts=10) == 3


def test_negative_control_two_process_local_caches_let_a_flood_through():
    a, b = LocMemCache("process-a", {}), LocMemCache("process-b", {})
    # Each process counts alone: twice the limit gets through. The test above would see it.
    assert admitted_alternating(a, b, limit=3, attempts=10) == 6


def naive_hit(cache, key: str, *, limit: int, barrier: threading.Barrier) -> bool:
    """Get-then-set, the way not to count: every thread reads before any writes."""
    count = cache.get(key, 0) + 1
    barrier.wait()
    cache.set(key, count, 60)
    return count <= limit


def race(hit_once, threads: int) -> int:
    barrier = threading.Barrier(threads)
    results = []
    lock = threading.Lock()

    def worker():
        outcome = hit_once(barrier)
        with lock:
            results.append(outcome)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=30)
    assert len(results) == threads
    return sum(results)


@pytest.mark.redis
def test_concurrent_sends_from_many_processes_admit_exactly_the_limit():
    def hit_once(barrier):
        cache = separate_redis_cache()  # one client per "process"
        barrier.wait()  # all at once, as at 9:00
        return ratelimit.hit("email", "rush@example.jp", limit=5, period=60, cache=cache)

    assert race(hit_once, threads=16) == 5


@pytest.mark.redis
def test_negative_control_get_then_set_lets_the_rush_through():
    def hit_once(barrier):
        cache = separate_redis_cache()
        return naive_hit(cache, "naive-counter", limit=5, barrier=barrier)

    assert race(hit_once, threads=16) > 5


@pytest.mark.redis
def test_a_counter_left_without_expiry_gets_one(raw_redis):
    # What Django's EXISTS-then-INCR can leave behind if the key expires in between.
    cache = separate_redis_cache()
    key = cache.make_key(ratelimit.cache_key("ip", "192.0.2.9"))
    raw_redis.set(key, 0)
    assert raw_redis.ttl(key) == -1
    assert ratelimit.hit("ip", "192.0.2.9", limit=5, period=600, cache=cache)
    assert 0 < raw_redis.ttl(key) <= 600


@pytest.mark.redis
def test_the_window_ends_and_counting_starts_again():
    cache = separate_redis_cache()
    assert ratelimit.hit("ip", "192.0.2.10", limit=1, period=1, cache=cache)
    assert not ratelimit.hit("ip", "192.0.2.10", limit=1, period=1, cache=cache)
    threading.Event().wait(1.2)
    assert ratelimit.hit("ip", "192.0.2.10", limit=1, period=1, cache=cache)


def test_with_the_cache_down_the_form_stays_open_and_the_error_is_logged(caplog):
    # Port 1 on loopback refuses at once: a Redis that is down.
    down = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.5}})
    with caplog.at_level(logging.ERROR, logger="kaika.ratelimit"):
        assert ratelimit.hit("ip", "192.0.2.11", limit=1, period=60, cache=down)
    assert "rate limit unavailable" in caplog.text
