"""Every URL that takes an object's id or code, tried by people it does not belong to.

The owner (objects["user"], who backed the shop, holds the ticket, sent the inquiry and
operates the shop) must reach each object: that proves the URL really points at it. Another
supporter, another shop's operator and an anonymous visitor must get 404 or 403 (anonymous:
the login page), never the object.
"""

import math
import re

import pytest
from django.test import Client

from purchases.models import CODE_ALPHABET, new_order_code, new_ticket_code
from tests.conftest import make_user
from tests.kaika.test_private_by_default import (  # noqa: F401  (the `objects` fixture)
    ALL,
    build_url,
    objects,
    param_names,
)
from tests.projects.factories import make_shop
from tests.url_catalogue import PUBLIC_URL_NAMES

NOT_OWNED = {
    # Public by design (shop, project and round pages; postal data).
    *PUBLIC_URL_NAMES,
    # Their key is the secret itself (emailed), checked by allauth.
    "account_confirm_email",
    "account_reset_password_from_key",
    # The payment provider's hosted page: a signed, expiring token, outside our accounts.
    "sandbox_pay:checkout",
    # A round's waiting room: the round is public, and the page shows nobody's data (a place
    # in the queue is the browser's signed cookie, not an object in the URL).
    "waitingroom:wait",
    # Its public line and drawn order: the same for everyone, nobody's data.
    "waitingroom:line",
    "waitingroom:places",
}
OWNED = [
    (name, route)
    for language, name, route, _ in ALL
    if language == "ja"
    # A download's nonce (kaika/downloads.py) is the browser's, not an object's id.
    and set(param_names(route)) - {"nonce"}
    and name not in NOT_OWNED
    and not (name is None or name.startswith("admin:"))
]


def secrets_of(objects) -> list[str]:  # noqa: F811
    return [
        objects["order"].code,
        objects["ticket"].code,
        objects["inquiry"].reference,
        objects["inquiry"].subject,
        objects["user"].email,
    ]


def test_the_sweep_covers_every_owned_kind_of_object():
    names = {name for name, _ in OWNED}
    assert {
        "purchases:order_detail",
        "purchases:ticket_detail",
        "purchases:order_cancel",
        "purchases:order_pay",
        "purchases:manage_redeem",
        "inquiries:inquiry_detail",
        "projects:manage_shop",
        "projects:manage_listing_edit",
    } <= names


@pytest.mark.parametrize(("name", "route"), OWNED, ids=[r for _, r in OWNED])
def test_no_one_but_the_owner_reaches_an_object(objects, name, route):  # noqa: F811
    assert_only_the_owner_reaches(objects, name, route)


def test_negative_control_an_unscoped_lookup_is_caught(objects, monkeypatch):  # noqa: F811
    from django.shortcuts import get_object_or_404

    from purchases import views
    from purchases.models import Order

    monkeypatch.setattr(
        views, "own_order", lambda request, code: get_object_or_404(Order, code=code)
    )
    with pytest.raises(AssertionError):
        assert_only_the_owner_reaches(
            objects, "purchases:order_detail", "mypage/orders/<order_code:order_code>/"
        )


def assert_only_the_owner_reaches(objects, name, route):  # noqa: F811
    url = build_url(name, route, "ja", objects)
    owner = Client()
    owner.force_login(objects["user"])
    reached = owner.get(url)
    assert reached.status_code in (200, 302, 405), (url, reached.status_code)
    if reached.status_code == 302:
        assert "/accounts/login/" not in reached["Location"], url

    other_supporter = make_user(email="other-supporter@example.jp")
    other_operator = make_user(email="other-operator@example.jp")
    make_shop(objects["project"], operators=[other_operator])
    for who in (other_supporter, other_operator, None):
        client = Client()
        if who is not None:
            client.force_login(who)
        for method in ("get", "post"):
            # Built again: a download's nonce answers once, so each request draws its own.
            url = build_url(name, route, "ja", objects)
            response = getattr(client, method)(url)
            label = f"{method.upper()} {url} as {who or 'anonymous'}: {response.status_code}"
            if who is None and response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), label
            else:
                assert response.status_code in (403, 404, 405), label
            body = response.content.decode(errors="replace")
            for secret in secrets_of(objects):
                if secret in url:
                    continue
                assert secret not in body, f"{label} shows {secret}"


def test_ticket_and_order_codes_are_unguessable_and_not_sequential():
    bits_per_symbol = math.log2(len(CODE_ALPHABET))
    for make in (new_order_code, new_ticket_code):
        codes = {make() for _ in range(200)}
        assert len(codes) == 200
        symbols = len(next(iter(codes)).split("-", 1)[1])
        assert symbols * bits_per_symbol >= 128, make.__name__
    # No URL takes a bare sequential id of a supporter's object.
    for _, route in OWNED:
        if route.startswith("mypage/") or route.startswith("orders/"):
            assert not re.search(r"<int:", route), route
