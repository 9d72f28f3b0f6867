"""TEST-ONLY settings for the app nodes of tests/front/test_live_races.py: production's, with
the debug hook holding each order between its checks and its writes."""

from kaika.settings import *  # noqa: F403

KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.02
