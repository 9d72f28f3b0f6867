import datetime
import itertools
import os
import secrets
from pathlib import Path

import pytest
from allauth.account.internal.flows.login import record_authentication
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from deploy.nginx import NGINX_BIN
from supporters.models import User
from tests.stripe_standin import StripeStandIn

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct-horse-battery-staple"


def using_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def using_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


def nginx_available() -> bool:
    return Path(NGINX_BIN).is_file()


def pytest_report_header(config):
    return [
        f"kaika: database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"nginx {'yes' if nginx_available() else 'no'}, CI={IN_CI}"
    ]


def pytest_collection_modifyitems(config, items):
    """Service-backed tests skip locally when the service is missing, and fail in CI."""
    missing = {
        "postgres": None if using_postgres() else "no PostgreSQL (no DATABASE_URL, none on :5432)",
        "redis": None if using_redis() else "no Redis (REDIS_URL unset, none on :6379)",
        "nginx": None if nginx_available() else f"no {NGINX_BIN} (apt-get install nginx-light)",
        "browser": None if os.path.exists("/usr/bin/chromium") else "no /usr/bin/chromium",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if IN_CI:
                    raise pytest.UsageError(f"CI must run {item.nodeid}, but there is {reason}")
                item.add_marker(pytest.mark.skip(reason=f"{marker}: {reason}"))


@pytest.fixture(autouse=True)
def _default_language():
    # A request to /en/ activates English in this thread; the next test starts in Japanese.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate-limit counters and cached sessions live here; no test sees another's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site_switch_cached(db, monkeypatch):
    """The maintenance switch read once and kept in the cache for the whole test, so that
    query-counting tests count the page's own queries, not the once-a-second switch read."""
    from ops import switches

    monkeypatch.setattr(switches, "CACHE_TTL", 3600)
    switches.maintenance_state()


_emails = itertools.count(1)

COMPLETE_PROFILE = {
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
    "birth_date": datetime.date(1990, 5, 17),
    "gender": "female",
    "occupation": "employee",
    "company_name": "",
    "postal_code": "7530001",
    "prefecture": "35",
    "city": "山口市",
    "street_address": "亀山町1-1",
    "building": "",
    "phone": "09012345678",
}


TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def current_code() -> str:
    """The authenticator code of TOTP_SECRET right now."""
    return format_hotp_value(hotp_value(TOTP_SECRET, int(timezone.now().timestamp()) // 30))


def make_user(
    *,
    email: str | None = None,
    verified: bool = True,
    profile: bool = True,
    totp: bool | None = None,
    **extra,
):
    """A supporter; staff get TOTP set up (as admin requires of them) unless totp=False."""
    email = email or f"user{next(_emails)}@example.jp"
    fields = {**(COMPLETE_PROFILE if profile else {}), **extra}
    user = User.objects.create_user(email=email, password=PASSWORD, **fields)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    if totp if totp is not None else user.is_staff:
        TOTP.activate(user, TOTP_SECRET)
    return user


def download_url(name: str, **kwargs) -> str:
    """A personal download's URL under a fresh nonce, as static/js/download.js draws one."""
    return reverse(name, kwargs={**kwargs, "nonce": secrets.token_hex(16)})


def login_staff(client: Client, user) -> None:
    """`client.force_login`, then the authenticator code recorded in the session as allauth
    records it after the code step: admin asks a staff session for it (ops.middleware)."""
    assert user.is_staff and is_mfa_enabled(user), "staff with TOTP set up (make_user does it)"
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, method="password", email=user.email)
    record_authentication(request, user, method="mfa", type="totp")
    request.session.save()


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_user(db):
    return make_user(email="staff@example.jp", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff_user):
    """Staff signed in with password and authenticator code, as admin requires."""
    login_staff(client, staff_user)
    return client


def use_stripe_standin(settings, standin: StripeStandIn) -> None:
    """Stripe as the provider, its API at the stand-in: the real client, short timeouts."""
    settings.KAIKA_PAYMENT_GATEWAY = settings.STRIPE_GATEWAY
    settings.KAIKA_STRIPE = True
    settings.STRIPE_SECRET_KEY = standin.api_key
    settings.STRIPE_WEBHOOK_SECRET = standin.webhook_secret
    settings.STRIPE_API_BASE = standin.url
    settings.STRIPE_API_TIMEOUT = 1.0
    settings.STRIPE_MAX_NETWORK_RETRIES = 1


@pytest.fixture
def stripe_standin(settings):
    """The Stripe stand-in on loopback; its events wait in `outbox` (standin.deliver)."""
    with StripeStandIn() as standin:
        use_stripe_standin(settings, standin)
        yield standin
