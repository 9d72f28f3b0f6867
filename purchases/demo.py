"""The demo supporter's backing, so that the till can be tried at once: paid orders at the demo
operator's shop in the round whose tickets can be used today, made through the services as a
real supporter's would be (reserved, then paid with a sandbox result), so the tickets come the
normal way. Idempotent (the same idempotency keys and payment references each run). Demo
only: called from `manage.py seed_demo`, which refuses to run in production."""

import datetime
from typing import TextIO

from django.utils import timezone

from projects.models import Round, Shop
from purchases.models import Order
from purchases.services import PaymentResult, order_create, payment_record
from supporters.models import User

# (listing, units): the standard premium tickets and the shop's limited dinner course.
BACKING = [("standard", 10), ("limited", 1)]


def usable_round(shop: Shop, today: datetime.date) -> Round | None:
    """The shop's latest round whose tickets can be used today."""
    return (
        shop.rounds.filter(usage_starts_on__lte=today, usage_ends_on__gte=today)
        .order_by("-number")
        .first()
    )


def seed_orders(*, supporter: User, shop: Shop, now: datetime.datetime, stdout: TextIO) -> list:
    round_ = usable_round(shop, timezone.localdate(now))
    if round_ is None:
        stdout.write(f"orders: {shop.name} takes part in no round whose tickets are usable now\n")
        return []
    # Backed an hour into that round's recruitment, paid two minutes later.
    ordered_at = round_.opens_at + datetime.timedelta(hours=1)
    paid_at = ordered_at + datetime.timedelta(minutes=2)
    listings = {
        "standard": shop.listings.get(is_standard=True),
        "limited": shop.listings.filter(is_standard=False).order_by("pk").first(),
    }
    orders = []
    for kind, units in BACKING:
        listing = listings[kind]
        if listing is None:
            continue
        order = order_create(
            supporter=supporter,
            listing_id=listing.pk,
            round_id=round_.pk,
            units=units,
            idempotency_key=f"demo-{round_.number}-{kind}",
            now=ordered_at,
        )
        payment_record(
            result=PaymentResult(
                provider="sandbox",
                order_code=order.code,
                reference=f"sbx_demo_{order.code}",
                amount=order.amount,
                succeeded=True,
                at=paid_at,
            ),
            now=paid_at,
        )
        orders.append(Order.objects.get(pk=order.pk))
    tickets = sum(o.tickets_value for o in orders)
    stdout.write(
        f"orders: {supporter.email} paid {len(orders)} order(s) at {shop.name} "
        f"({round_.label}), tickets worth {tickets:,} yen usable until {round_.usage_ends_on}\n"
    )
    return orders
