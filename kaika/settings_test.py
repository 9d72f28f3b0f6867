"""Settings for the test suite: the production settings with test-only switches.

DATABASE_URL and REDIS_URL win when set (CI sets both). Otherwise a local PostgreSQL and Redis
are used when they answer, and SQLite / local memory when not; tests that need the real
services then skip, saying why (see tests/conftest.py). In CI a missing service is a failure.
"""

import os
import socket

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("KAIKA_STRICT_PUBLIC_PAGES", "true")
os.environ.setdefault("KAIKA_ALLOW_DEMO_DATA", "true")
os.environ.setdefault("TASKS_BACKEND", "immediate")
os.environ.setdefault("PAYMENT_GATEWAY", "purchases.payments.SandboxGateway")
# Replaced by the locmem backend below; set so that the production settings accept no SMTP.
os.environ.setdefault("MAIL_BACKEND", "console")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if not os.environ.get("DATABASE_URL") and _answers("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
if not os.environ.get("REDIS_URL") and _answers("127.0.0.1", 6379):
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/14"

from kaika.settings import *  # noqa: E402, F403
from kaika.settings import DATABASES  # noqa: E402

# Keys are per test session: several test runs on one Redis never see each other's counters.
CACHES["default"]["KEY_PREFIX"] = f"kaika-test-{os.getpid()}"  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"]["pool"]["min_size"] = 0
    # Several suites may share one PostgreSQL server (parallel checkouts): keep them apart.
    suffix = os.environ.get("KAIKA_TEST_DB_SUFFIX", "")
    DATABASES["default"]["TEST"] = {"NAME": f"test_kaika{'_' + suffix if suffix else ''}"}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Generous limits by default; the rate-limit tests set their own.
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "login_failed": "1000/m/ip,1000/m/key"}  # noqa: F405
