"""Makers for the settlement tests: orders, tickets and uses written straight to the
database, so that each test picks its own prices and days."""

import datetime
import itertools

from django.utils import timezone

from projects.models import Project, Shop
from purchases.models import Order, OrderStatus, Redemption, Ticket, TicketUse, Wallet
from purchases.services import redemption_undo
from supporters.models import User
from tests.conftest import make_user

JST = datetime.timezone(datetime.timedelta(hours=9))
_numbers = itertools.count(1)


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=JST)


def make_ticket(shop: Shop, *, paid: int = 10_000, value: int = 12_000, face: int | None = None):
    """A ticket of `face` yen from an order that paid `paid` yen for `value` yen of tickets."""
    n = next(_numbers)
    supporter = make_user(email=f"settle-supporter-{n}@example.jp")
    project: Project = shop.project
    now = timezone.now()
    order = Order.objects.create(
        supporter=supporter,
        project=project,
        round=project.rounds.first(),
        shop=shop,
        listing=shop.listings.get(is_standard=True),
        units=1,
        unit_price=paid,
        amount=paid,
        tickets_value=value,
        status=OrderStatus.PAID,
        idempotency_key=f"settle-{n}",
        created_at=now,
        expires_at=now,
        paid_at=now,
    )
    face = value if face is None else face
    return Ticket.objects.create(
        order=order,
        supporter=supporter,
        shop=shop,
        round=order.round,
        label="t",
        face_value=face,
        balance=face,
        issued_at=now,
    )


def use(ticket: Ticket, amount: int, used_at: datetime.datetime) -> TicketUse:
    wallet, _ = Wallet.objects.get_or_create(
        supporter=ticket.supporter, shop=ticket.shop, defaults={"created_at": used_at}
    )
    redemption = Redemption.objects.create(
        wallet=wallet, shop=ticket.shop, amount=amount, balance_after=0, used_at=used_at
    )
    return TicketUse.objects.create(
        ticket=ticket,
        shop=ticket.shop,
        amount=amount,
        balance_after=0,
        used_at=used_at,
        redemption=redemption,
    )


def undo(redemption: Redemption, now: datetime.datetime) -> None:
    """Staff undo a use (the real service, any time, settled or not)."""
    staff, _ = User.objects.get_or_create(
        email="books-undo-staff@example.jp", defaults={"is_staff": True}
    )
    redemption_undo(redemption=redemption, by=staff, reason="帳簿のテスト", now=now, staff=True)
