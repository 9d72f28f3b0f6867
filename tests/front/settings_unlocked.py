"""TEST-ONLY settings for the negative control of tests/front/test_live_races.py: the race's
settings with purchases.services unlocked (tests/purchases/unlocked.py) in every app node.
Nothing in production can reach this: only tests/front/stack.py names it."""

from tests.front.settings_race import *  # noqa: F403
from tests.front.settings_race import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.front.unlock_app.UnlockPurchases"]
