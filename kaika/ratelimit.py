"""Fixed-window rate limits counted in the shared cache (Redis in production): the contact
form's (inquiries) and the residents' code entry (residents).

Every app process must see the same count, or a flood spread over N processes gets N times
the limit: the counter lives in Django's default cache, never in process memory.

The counter is `cache.add` (start the window, with its expiry) then `cache.incr` (Redis INCR,
atomic). Never get-then-set: two processes reading 4 at the same moment would both write 5
and both let a sixth message through.
"""

import logging

from django.core.cache import BaseCache, caches
from django.utils.crypto import salted_hmac
from redis.exceptions import RedisError

logger = logging.getLogger("kaika.ratelimit")


def cache_key(scope: str, value: str) -> str:
    # Hashed: the cache should not hold readable email or IP addresses as key names.
    digest = salted_hmac("kaika.ratelimit", value.strip().lower(), algorithm="sha256").hexdigest()
    return f"ratelimit:{scope}:{digest[:32]}"


def hit(
    scope: str,
    value: str,
    *,
    limit: int,
    period: int,
    cache: BaseCache | None = None,
    when_unavailable: bool = True,
) -> bool:
    """Count one attempt for (scope, value); True while the window's count is within `limit`.
    With the cache down the answer is `when_unavailable` (the error is logged): open for the
    contact form, closed where the limit is what stops guessing."""
    cache = cache if cache is not None else caches["default"]
    key = cache_key(scope, value)
    try:
        for _attempt in range(3):
            # Starts a window with its expiry; does nothing while one is running.
            cache.add(key, 0, timeout=period)
            try:
                count = cache.incr(key)
            except ValueError:
                # The window expired between add and incr: start a new one.
                continue
            if count == 1:
                # Django's Redis incr checks EXISTS then INCRs; if the key expired in between,
                # INCR recreates it without an expiry. Set it, or the count would never reset.
                cache.touch(key, period)
            return count <= limit
    except RedisError:
        logger.exception("rate limit unavailable (scope %s)", scope)
        return when_unavailable
    logger.error("rate limit window kept expiring (scope %s)", scope)
    return when_unavailable
