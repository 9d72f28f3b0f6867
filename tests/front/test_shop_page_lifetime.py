"""Shop pages through the real nginx: kept by the microcache for their own shared lifetime
(KAIKA_SHOP_PAGE_SHARED_MAX_AGE, issue 8), no longer, and never for a signed-in visitor.

The stack runs with a 3-second lifetime so the test is short; the production default is 60.
Both directions are checked: a copy that nginx dropped after one second (its own
proxy_cache_valid, or s-maxage ignored) fails the first half, a copy kept past its lifetime
the second.
"""

import secrets
import time

import pytest
from django.conf import settings

from canary.walk import FROM_CACHE, request
from projects.models import Listing
from tests.front.stack import fronts
from tests.projects.factories import make_listing, make_project, make_round, make_shop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
]

LIFETIME = 3


def units_left(body: str) -> str:
    marker = '残り <span class="figure">'
    assert marker in body, body[:2000]
    return body.split(marker, 1)[1].split("<", 1)[0]


def test_nginx_keeps_a_shop_page_for_its_own_lifetime_and_then_shows_the_change(tmp_path):
    project = make_project()
    make_round(project, number=1)
    shop = make_shop(project)
    listing = make_listing(shop, title="ランチ券", stock_limit=50)
    path = shop.get_absolute_url()

    with fronts(
        tmp_path,
        nodes=1,
        kaika_2021=False,
        app_env={"KAIKA_SHOP_PAGE_SHARED_MAX_AGE": str(LIFETIME)},
    ) as stack:
        first = request(stack.port, "GET", path, {})
        stored_at = time.monotonic()
        assert first.status == 200
        assert first.header("X-Cache-Status") == "MISS"
        assert f"s-maxage={LIFETIME}" in first.header("Cache-Control")
        # Browsers keep no copy of their own: nginx sends no Age header (checked below), so a
        # browser's max-age would start from the moment it got an already old copy.
        assert "max-age=0" in first.header("Cache-Control").replace("s-maxage", "")
        assert units_left(first.body) == "50"

        # Twelve units sold: the database changes, the stored copy does not (yet).
        Listing.objects.filter(pk=listing.pk).update(units_sold=12)

        # A signed-in visitor never gets the stored copy: the live figure at once. (nginx
        # looks only at the cookie's presence; the key has a session key's shape.)
        session = {settings.SESSION_COOKIE_NAME: secrets.token_hex(16)}
        signed_in = request(stack.port, "GET", path, session)
        assert signed_in.header("X-Cache-Status") == "BYPASS"
        assert units_left(signed_in.body) == "38"

        seen = []
        while True:
            response = request(stack.port, "GET", path, {})
            elapsed = time.monotonic() - stored_at
            seen.append((round(elapsed, 2), response.header("X-Cache-Status")))
            if units_left(response.body) == "38":
                break
            assert response.header("X-Cache-Status") in FROM_CACHE, seen
            assert not response.header("Age"), "nginx sends Age now: browsers could keep copies"
            assert elapsed < LIFETIME + 2, f"copy kept past its lifetime: {seen}"
            time.sleep(0.1)

        # Anonymous visitors were shown the stored copy for its whole lifetime, not one second.
        assert elapsed >= LIFETIME - 0.5, f"copy dropped before its lifetime: {seen}"
        assert sum(1 for _, status in seen if status == "HIT") >= 10, seen
