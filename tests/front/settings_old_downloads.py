"""TEST-ONLY settings for the negative controls of tests/front/test_live_downloads.py:
production's, with the site's URLs plus the download constructions a shared cache defeats.
Nothing in production can reach this: only the tests name it."""

from kaika.settings import *  # noqa: F403

ROOT_URLCONF = "tests.front.old_downloads"
