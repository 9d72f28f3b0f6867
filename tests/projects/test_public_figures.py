"""The public figures count paid support only: an unpaid (or expired) reservation changes no
figure anyone sees, a payment does, and a refund takes it back."""

import importlib
import re

import pytest
from django.apps import apps
from django.utils import timezone

from projects.models import Project, Round, ShopRound
from purchases.services import (
    PaymentResult,
    order_create,
    order_expire,
    order_refund,
    payment_record,
)
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(db):
    project = make_project()
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    return {"project": project, "round": round_, "shop": shop, "listing": shop.listings.get()}


def figures(client, offer) -> dict[str, str]:
    """Every figure the public pages show, as text."""
    pages = {
        "home": "/",
        "project": offer["project"].get_absolute_url(),
        "round": offer["round"].get_absolute_url(),
        "shop": offer["shop"].get_absolute_url(),
    }
    seen = {}
    for name, url in pages.items():
        html = client.get(url).content.decode()
        numbers = re.findall(r'<span class="figure"[^>]*>([^<]*)</span>', html)
        progress = re.findall(r'<progress[^>]*value="(\d+)"', html)
        labels = re.findall(r'<label for="budget-progress">(.*?)</label>', html, re.S)
        seen[name] = " ".join(numbers + progress + [" ".join(x.split()) for x in labels])
    return seen


def place(offer, supporter, *, units=4, now=None, key="k"):
    return order_create(
        supporter=supporter,
        listing_id=offer["listing"].pk,
        round_id=offer["round"].pk,
        units=units,
        idempotency_key=f"figures-{key}",
        now=now or timezone.now(),
    )


def pay(order):
    now = timezone.now()
    result = PaymentResult(
        provider="sandbox",
        order_code=order.code,
        reference=f"sbx_{order.code}",
        amount=order.amount,
        succeeded=True,
        at=now,
    )
    return payment_record(result=result, now=now)


def test_a_pending_order_changes_no_public_figure_paying_does_and_a_refund_takes_it_back(
    client, offer
):
    before = figures(client, offer)
    assert "0円" in before["shop"] and "0人" in before["shop"]
    supporter = make_user()
    order = place(offer, supporter)
    assert figures(client, offer) == before  # 4,000円 held, nothing paid
    # The cap counter holds the reservation all the same.
    assert Project.objects.get(pk=offer["project"].pk).amount_raised == 4000

    pay(order)
    paid = figures(client, offer)
    for page in ("project", "round", "shop"):
        assert "4,000円" in paid[page] and "1人" in paid[page], page
    assert 'value="4000"' in client.get("/").content.decode()

    order_refund(order=order, now=timezone.now())
    assert figures(client, offer) == before


def test_an_expired_reservation_never_shows(client, offer):
    before = figures(client, offer)
    order = place(offer, make_user(), now=timezone.now() - timezone.timedelta(minutes=20))
    order_expire(order=order, now=timezone.now())
    assert figures(client, offer) == before


def test_the_pages_say_their_figures_are_paid_support(client, offer):
    for url in ("/", offer["project"].get_absolute_url(), offer["round"].get_absolute_url()):
        assert "お支払い済みの支援" in client.get(url).content.decode(), url
    shop = client.get(offer["shop"].get_absolute_url()).content.decode()
    assert "お支払い済みの支援" in shop
    assert "販売済み" not in shop  # units sold counts reservations: not a public figure


def test_the_paid_counters_are_filled_from_the_orders_paid_before_they_existed(offer):
    first, second, unpaid = make_user(), make_user(), make_user()
    pay(place(offer, first, key="a"))
    pay(place(offer, second, units=2, key="b"))
    place(offer, unpaid, units=7, key="c")
    Project.objects.update(amount_paid=0)
    Round.objects.update(amount_paid=0)
    ShopRound.objects.update(amount_paid=0)
    migration = importlib.import_module("purchases.migrations.0012_paid_amounts_from_paid_orders")
    migration.fill(apps, None)
    assert Project.objects.get(pk=offer["project"].pk).amount_paid == 6000
    assert Round.objects.get(pk=offer["round"].pk).amount_paid == 6000
    assert ShopRound.objects.get(shop=offer["shop"], round=offer["round"]).amount_paid == 6000
