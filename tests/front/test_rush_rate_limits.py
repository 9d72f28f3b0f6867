"""The 9:00 rush through the real front (issue 19): 1,000 supporters sign in from 5 mobile
carrier addresses through nginx and two app nodes (gunicorn) sharing PostgreSQL and Redis, with
the shipped rate limits and Argon2 as in production, 40 browsers at a time. Each browser
fetches the form and posts it with its CSRF token; its address arrives as a CDN in front of
nginx passes it (TRUSTED_PROXY_COUNT=2, tests/front/stack.py).

Simultaneous logins from one address also wait for allauth's per-address lock in Redis, up to
KAIKA_RATE_LIMIT_LOCK_WAIT (allauth's own second refused one supporter in a CI run): a wait
that runs out would show here as a refused login. A guessing run from one of those addresses
is then stopped; its details (the account lock, the exact counts, the misconfigured proxy
counts, the lock's wait) are in tests/supporters/test_rate_limits.py.

Negative control: the same rush through the same front with allauth's own limits (what kaika
shipped before) turns most supporters away.
"""

import html
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password

from canary.walk import SESSION_COOKIE, apply_cookies, request
from ops.models import ExposureAction, ExposureLog
from supporters.models import User
from tests.conftest import COMPLETE_PROFILE
from tests.front.stack import form_token, fronts
from tests.supporters.test_rate_limits import (
    ALLAUTH_DEFAULTS,
    CARRIERS,
    COMMON_PASSWORDS,
    PASSWORD,
    SUPPORTERS,
    message,
    typos,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
]

AT_ONCE = 40
LOGIN = "/accounts/login/"


def make_supporters(count: int, prefix: str) -> list[str]:
    encoded = make_password(PASSWORD)  # Argon2, hashed once: each login still checks it
    users = User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.jp", password=encoded, **COMPLETE_PROFILE)
        for i in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    return [user.email for user in users]


class Browser:
    """One person's browser behind a carrier address: it has fetched the login form."""

    def __init__(self, port: int, address: str):
        self.port, self.address, self.jar = port, address, {}
        form = request(port, "GET", LOGIN, self.jar, client=address)
        apply_cookies(self.jar, form)
        self.token = form_token(form.body)

    def sign_in(self, email: str, password: str) -> str:
        data = {"csrfmiddlewaretoken": self.token, "login": email, "password": password}
        response = request(self.port, "POST", LOGIN, self.jar, data, client=self.address)
        if response.status == 302 and SESSION_COOKIE in response.cookies():
            return "in"
        if response.status == 429:
            return "429"
        body = html.unescape(response.body)
        if message("too_many_login_attempts") in body:
            return "locked"
        if message("email_password_mismatch") in body:
            return "wrong password"
        return f"unexpected {response.status}"


def supporter(port: int, index: int, email: str) -> list[str]:
    """One supporter's sign-in, typos first (tests/supporters/test_rate_limits.typos)."""
    browser = Browser(port, CARRIERS[index % len(CARRIERS)])
    outcomes = []
    for attempt in range(typos(index) + 1):
        outcomes.append(browser.sign_in(email, PASSWORD if attempt == typos(index) else "typo"))
        if outcomes[-1] != "wrong password":
            break
    return outcomes


def rush(port: int, emails: list[str]) -> tuple[Counter, Counter]:
    """(last outcome per person, every outcome), 40 browsers at a time."""
    with ThreadPoolExecutor(AT_ONCE) as pool:
        results = list(pool.map(lambda args: supporter(port, *args), enumerate(emails)))
    return Counter(r[-1] for r in results), Counter(o for r in results for o in r)


def test_a_thousand_supporters_from_five_carrier_addresses_sign_in_through_the_front(tmp_path):
    emails = make_supporters(SUPPORTERS, "rush")
    sprayed = make_supporters(100, "sprayed")
    residents = make_supporters(len(CARRIERS), "resident")
    with fronts(tmp_path, kaika_2021=False, collect_static=False) as stack:
        last, every = rush(stack.port, emails)
        assert last == {"in": SUPPORTERS}, (last, stack.logs())
        assert every == {"in": SUPPORTERS, "wrong password": 120}, every

        # Then a spray from one of those addresses: a few common passwords over many accounts.
        attacker = Browser(stack.port, CARRIERS[0])
        guesses = Counter(
            attacker.sign_in(account, password)
            for password in COMMON_PASSWORDS
            for account in sprayed
        )
        # At most 60 are checked a minute (fewer: this address's typos still count), the rest
        # are refused before any password check.
        checked = guesses["wrong password"]
        assert guesses == {"wrong password": checked, "locked": 300 - checked}, guesses
        assert checked <= 60, guesses
        # Behind the other carrier addresses, supporters still sign in.
        for resident, address in zip(residents[1:], CARRIERS[1:], strict=True):
            assert Browser(stack.port, address).sign_in(resident, PASSWORD) == "in"

    # The app read each person's address as the limits did: the carriers', never nginx's or
    # the CDN's (docs/deploy.md: how to check this after a deploy).
    failed = ExposureLog.objects.filter(action=ExposureAction.FAILED_LOGIN_ECHO)
    assert Counter(failed.values_list("client_ip", flat=True)) == {
        **dict.fromkeys(CARRIERS, 24),
        CARRIERS[0]: 24 + checked,
    }


def test_negative_control_allauths_own_limits_turn_the_rush_away_at_the_front(tmp_path):
    emails = make_supporters(SUPPORTERS, "rush")
    limits = {
        "RATE_LIMIT_LOGIN": ALLAUTH_DEFAULTS["login"],
        "RATE_LIMIT_LOGIN_FAILED": ALLAUTH_DEFAULTS["login_failed"],
    }
    with fronts(tmp_path, kaika_2021=False, collect_static=False, app_env=limits) as stack:
        last, _ = rush(stack.port, emails)
    # 30 logins a minute per address: most of the 1,000 are refused.
    assert last["in"] < SUPPORTERS // 2, last
    assert last["429"] + last["locked"] > SUPPORTERS // 2, last
