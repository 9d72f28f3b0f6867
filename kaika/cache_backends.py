"""Redis as the shared cache (rate limits, cached sessions), falling back to this process's
memory while Redis is away: every page keeps working if Redis stops in the 9:00 rush, and
Redis is tried again after RETRY_AFTER seconds, so its return needs no restart.

Rate limits then count per process (logged). Keys changed during the outage are deleted from
Redis on its return, so a session ended meanwhile is not served again from a stale copy.
"""

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger("kaika.cache")

_OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)
_WRITES = {"add", "set", "touch", "delete", "incr"}


class _Outage:
    """Process-wide: every thread's cache object shares what is known about Redis."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.dirty: set[str] = set()

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until


_outage = _Outage()


class OneClientPerPool(RedisCacheClient):
    """Django's client builds a new redis.Redis for every operation, and building one fills
    its table of some 170 reply handlers: about a tenth of the waiting page's Python
    (docs/benchmarks.md, Waiting room). A redis.Redis is safe to share, so one per pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneClientPerPool
        self.retry_after = float(params.get("RETRY_AFTER", 5))
        # One LocMem store per process (LocMem shares storage by name across threads).
        self._fallback = LocMemCache(
            "kaika-redis-fallback",
            {"TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 100_000}},
        )
        self._fallback.key_prefix = self.key_prefix
        self._fallback.version = self.version
        self._fallback.key_func = self.key_func

    def _call(self, name: str, *args, **kwargs):
        if not _outage.is_down():
            if _outage.dirty:
                self._forget_stale_copies()
            try:
                return getattr(RedisCache, name)(self, *args, **kwargs)
            except RedisError as exc:
                self._mark_down(exc)
        if name in _WRITES and args:
            with _outage.lock:
                _outage.dirty.add(args[0])
        elif name in ("set_many", "delete_many") and args:
            with _outage.lock:
                _outage.dirty.update(args[0])
        return getattr(self._fallback, name)(*args, **kwargs)

    def _mark_down(self, exc: Exception) -> None:
        with _outage.lock:
            first = not _outage.is_down()
            _outage.down_until = time.monotonic() + self.retry_after
        if first:
            logger.error(
                "Shared cache (Redis) unavailable: %s. Using this process's memory for %.0f s; "
                "rate limits are now counted per process.",
                exc,
                self.retry_after,
            )

    def _forget_stale_copies(self) -> None:
        with _outage.lock:
            keys, _outage.dirty = list(_outage.dirty), set()
        try:
            RedisCache.delete_many(self, keys)
            logger.warning(
                "Shared cache (Redis) is back; %d keys changed meanwhile were dropped from it.",
                len(keys),
            )
        except RedisError as exc:
            with _outage.lock:
                _outage.dirty.update(keys)
            self._mark_down(exc)


def _delegate(name: str):
    def method(self, *args, **kwargs):
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in _OPERATIONS:
    setattr(ResilientRedisCache, _name, _delegate(_name))
