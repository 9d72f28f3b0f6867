"""Debug hooks for the race tests (pretix's sleep-after-quota-check)."""

import time

from django.conf import settings


def pause_after_checks() -> None:
    """Hold every racer between its checks and its writes (KAIKA_DEBUG_PAUSE_AFTER_CHECKS,
    set only by a test's settings), so that only the locks and conditional UPDATEs can keep
    a limit."""
    if pause := settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS:
        time.sleep(pause)
