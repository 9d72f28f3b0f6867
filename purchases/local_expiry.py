"""`make run` has no cron: runserver's serving process (DEBUG only) releases expired
reservations itself every EVERY seconds, as `manage.py expire_orders` does in production.

A daemon thread, not a cron line or a worker: the embedded default needs nothing set up. Only
the counters (stock left, budget) wait for it: the caps already ignore a due reservation, and
the supporter's pages release their own when read (purchases.views.expire_due_orders)."""

import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from purchases.services import orders_expire

logger = logging.getLogger(__name__)
EVERY = 30


def should_run() -> bool:
    # RUN_MAIN is set by runserver's autoreloader in the process that serves requests (never
    # in its watcher, in gunicorn, the worker, the tests or other management commands).
    return settings.DEBUG and os.environ.get("RUN_MAIN") == "true"


def sweep() -> int:
    """One pass: every stale reservation released. Returns how many."""
    total = 0
    try:
        while released := orders_expire(now=timezone.now()):
            total += released
    except Exception:  # a locked SQLite file, a restarting database: try next time
        logger.exception("releasing expired reservations failed")
    return total


def _sweep_forever() -> None:
    while True:
        time.sleep(EVERY)
        sweep()
        connection.close()  # this thread's own connection, not kept between passes


def start() -> None:
    threading.Thread(target=_sweep_forever, name="kaika-expire-orders", daemon=True).start()
