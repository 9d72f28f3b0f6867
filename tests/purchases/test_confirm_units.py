"""A refused number of units on the confirmation page: the refusal comes first, says that
unpaid orders count, and offers the units the caps allow now, from the rule order_check uses."""

import re

import pytest
from django.utils import timezone

from projects.models import MAX_UNITS_PER_ORDER, Listing, Project
from purchases.services import (
    PurchaseError,
    order_check,
    order_create,
    order_terms,
    order_units_max,
)
from tests.conftest import make_user
from tests.projects.factories import make_listing
from tests.purchases.helpers import DURING, buy, confirm_url, make_offer

pytestmark = pytest.mark.django_db


def units_inputs(html: str) -> list[str]:
    return re.findall(r'<input type="number"[^>]*name="units"[^>]*>', html)


def test_a_refusal_comes_first_says_pending_orders_count_and_offers_the_units_allowed(
    user_client, user, live_offer
):
    Project.objects.filter(pk=live_offer["project"].pk).update(max_per_person_per_round=5000)
    # An unpaid order of 3 units holds 3,000 yen of this supporter's 5,000 until its deadline.
    order_create(
        supporter=user,
        listing_id=live_offer["listing"].pk,
        round_id=live_offer["round"].pk,
        units=3,
        idempotency_key="held-before-0001",
        now=timezone.now(),
    )
    html = user_client.get(confirm_url(live_offer, 4)).content.decode()
    main = html[html.index("<main") :]
    assert main.index('role="alert"') < main.index("ご支援の内容")
    assert "お支払い待ちの申込も、お支払い期限までは数に入ります" in main
    assert "申し込んでお支払いへ進む" not in main
    change = re.search(
        r'<form method="get" action="/orders/confirm/"[^>]*>(.*?)</form>', main, re.S
    )
    assert change, "a form to change the units on the spot"
    (units,) = units_inputs(change.group(1))
    assert 'max="2"' in units and 'value="2"' in units and 'min="1"' in units
    assert "2口まで" in main
    # Choosing what it offers leads to a confirmation that can be sent.
    fixed = user_client.get(confirm_url(live_offer, 2)).content.decode()
    assert "申し込んでお支払いへ進む" in fixed and 'role="alert"' not in fixed


def test_nothing_left_to_choose_offers_no_form(user_client, live_offer):
    Project.objects.filter(pk=live_offer["project"].pk).update(total_budget=500)
    html = user_client.get(confirm_url(live_offer, 2)).content.decode()
    assert "予算の上限に達した" in html and not units_inputs(html)


def test_every_units_input_has_a_maximum(client, user_client, live_offer):
    make_listing(live_offer["shop"], unit_price=5000, stock_limit=3, title="限定")
    shop_page = client.get(live_offer["shop"].get_absolute_url()).content.decode()
    inputs = units_inputs(shop_page)
    assert len(inputs) == 2
    # 20,000 yen per application at 1,000 yen; 3 left of the limited one.
    assert 'max="20"' in inputs[0] and 'max="3"' in inputs[1]
    refused = user_client.get(confirm_url(live_offer, 99)).content.decode()
    assert units_inputs(refused) and all("max=" in tag for tag in units_inputs(refused))


@pytest.mark.parametrize(
    "listing_fields, project_fields, held",
    [
        ({}, {}, 0),
        ({"per_person_limit": 4}, {}, 1),
        ({"stock_limit": 7}, {}, 0),
        ({}, {"max_per_person_per_round": 30_000}, 25),
        ({}, {"total_budget": 9_000}, 2),
        ({"per_person_limit": 2}, {}, 2),  # nothing left for this supporter
        ({"unit_price": 3000}, {"max_per_application": 10_000}, 0),
    ],
)
def test_the_units_allowed_are_exactly_where_order_check_starts_refusing(
    listing_fields, project_fields, held
):
    offer = make_offer(**project_fields)
    listing = make_listing(
        offer.shop, **{"unit_price": 1000, "stock_limit": None, **listing_fields}
    )
    supporter = make_user()
    while held:  # orders of at most 5 units (under every application cap above)
        n = min(held, 5)
        buy(offer, supporter, listing=listing, units=n)
        held -= n

    def terms(units):
        return order_terms(listing_id=listing.pk, round_id=offer.round.pk, units=units)

    most = order_units_max(supporter=supporter, terms=terms(1), now=DURING)
    assert 0 <= most <= MAX_UNITS_PER_ORDER
    if most:
        order_check(supporter=supporter, terms=terms(most), now=DURING)
    with pytest.raises(PurchaseError):
        order_check(supporter=supporter, terms=terms(most + 1), now=DURING)
    # The public page's maximum is the same rule for someone holding nothing.
    assert Listing.objects.select_related("shop__project").get(pk=listing.pk).units_max() >= most


def test_a_closed_offer_allows_no_units(offer, user):
    terms = order_terms(listing_id=offer.standard.pk, round_id=offer.round.pk, units=1)
    assert order_units_max(supporter=user, terms=terms, now=offer.round.closes_at) == 0
