"""Makers for the purchase tests: a project with a round opening at 9:00 sharp."""

import datetime
import itertools
import re
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from projects.models import Listing, Project, Round, Shop
from purchases.models import Order
from purchases.services import order_create
from tests.projects.factories import make_listing, make_project, make_round, make_shop

JST = datetime.timezone(datetime.timedelta(hours=9))
OPENING = datetime.datetime(2031, 8, 31, 9, 0, 0, tzinfo=JST)
DURING = OPENING + datetime.timedelta(hours=1)
_keys = itertools.count(1)


@dataclass
class Offer:
    project: Project
    round: Round
    shop: Shop
    standard: Listing

    def limited(self, **extra) -> Listing:
        listing = make_listing(self.shop, **extra)
        return listing


def make_offer(**project_fields) -> Offer:
    project = make_project(**project_fields)
    round_ = make_round(
        project,
        number=1,
        opens_at=OPENING,
        closes_at=OPENING + datetime.timedelta(days=14),
        shop_applications_close_at=OPENING - datetime.timedelta(days=7),
        usage_starts_on=datetime.date(2031, 9, 15),
        usage_ends_on=datetime.date(2031, 12, 31),
    )
    shop = make_shop(project, now=OPENING - datetime.timedelta(days=10))
    standard = shop.listings.get(is_standard=True)
    return Offer(project=project, round=round_, shop=shop, standard=standard)


def buy(offer: Offer, supporter, *, units=1, listing=None, now=DURING, key=None) -> Order:
    return order_create(
        supporter=supporter,
        listing_id=(listing or offer.standard).pk,
        round_id=offer.round.pk,
        units=units,
        idempotency_key=key or f"test-key-{next(_keys):08d}",
        now=now,
    )


def local(dt: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(dt)


# --- Through the views ------------------------------------------------------------------


def confirm_url(offer, units=2) -> str:
    query = f"listing={offer['listing'].pk}&round={offer['round'].pk}&units={units}"
    return f"{reverse('purchases:order_confirm')}?{query}"


def form_fields(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def order_via_confirmation(client, offer, units=2):
    page = client.get(confirm_url(offer, units))
    assert page.status_code == 200
    fields = form_fields(page.content.decode())
    response = client.post(reverse("purchases:order_confirm"), fields)
    assert response.status_code == 302, response.content.decode()[:500]
    return response, fields
