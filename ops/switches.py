"""Reading and flipping the site-wide maintenance switch.

Every request of every app process asks `maintenance_state()`. The answer lives in the shared
cache for at most CACHE_TTL seconds, so a switch flipped in admin (or by a direct UPDATE, or
by the leak tripwire) is in force everywhere within a second, at the price of one Redis GET
per request. If the cache is down the database answers instead: a broken Redis must never
switch maintenance off.
"""

import datetime
import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from ops.models import SiteSwitch

logger = logging.getLogger("kaika.ops")

CACHE_KEY = "ops:site-switch"
# The promise made to staff: "in force within a second". Not longer, whatever the load.
CACHE_TTL = 1


@dataclass(frozen=True)
class Maintenance:
    on: bool
    message: str = ""
    ends_at: datetime.datetime | None = None


def _from_database() -> Maintenance:
    row = (
        SiteSwitch.objects.filter(pk=SiteSwitch.SINGLETON_PK)
        .values("maintenance", "message", "ends_at")
        .first()
    )
    if row is None:
        return Maintenance(on=False)
    return Maintenance(on=row["maintenance"], message=row["message"], ends_at=row["ends_at"])


def maintenance_state() -> Maintenance:
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # any cache failure: the database decides
        logger.warning("Cache unavailable; maintenance switch read from the database")
        return _from_database()
    if cached is not None:
        return Maintenance(**cached)
    state = _from_database()
    _publish(state)
    return state


def _publish(state: Maintenance) -> None:
    try:
        cache.set(
            CACHE_KEY,
            {"on": state.on, "message": state.message, "ends_at": state.ends_at},
            CACHE_TTL,
        )
    except Exception:  # readers fall back to the database
        logger.warning("Cache unavailable; maintenance switch not published to the cache")


def site_switch_get() -> SiteSwitch:
    switch, _ = SiteSwitch.objects.get_or_create(pk=SiteSwitch.SINGLETON_PK)
    return switch


def maintenance_set(
    *,
    on: bool,
    message: str = "",
    ends_at: datetime.datetime | None = None,
    by,
    now: datetime.datetime,
) -> SiteSwitch:
    with transaction.atomic():
        switch, _ = SiteSwitch.objects.select_for_update().get_or_create(pk=SiteSwitch.SINGLETON_PK)
        switch.maintenance = on
        switch.message = message
        switch.ends_at = ends_at
        switch.changed_at = now
        switch.changed_by = by
        switch.save()
        state = Maintenance(on=on, message=message, ends_at=ends_at)
        # Published after commit: this process and the others see it at once instead of
        # after the cached copy expires; publishing before commit could show a switch that
        # then rolls back.
        transaction.on_commit(lambda: _publish(state))
    return switch
