"""TEST-ONLY settings for the negative control of tests/front/test_live_races.py: the production
settings with the purchase locks switched off (see purchases.services._locks_disabled).

The app nodes of that control are started with DJANGO_SETTINGS_MODULE set to this module
(tests/front/stack.py, UNLOCKED_SETTINGS). The switch is set here, in code under tests/, and
never read from the environment: no variable can turn the locks off in production.
"""

from kaika.settings import *  # noqa: F403

KAIKA_TEST_DISABLE_PURCHASE_LOCKS = True
