"""The books balance to the yen over random histories (hypothesis), made with the real
services: orders paid, cancelled, refunded or left pending; uses at the till across tickets
and shops; undos; settlement runs; the clock moving past both rounds' expiry. For every
round: issued = redeemed + outstanding + expired and redeemed = settled + awaiting; every
breakdown adds up to the total; the books agree with the statements and the counters."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from projects.models import Category, Municipality, Project, ShopRound
from purchases.models import Order, OrderStatus, Redemption, Ticket, TicketStatus, Wallet
from purchases.services import (
    PaymentResult,
    PurchaseError,
    order_cancel,
    order_create,
    order_refund,
    payment_record,
    wallet_redeem,
)
from settlements import cycle
from settlements.books import ADDITIVE, books_of
from settlements.models import SettlementPolicy, SettlementRun, Statement
from settlements.services import settlement_run
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import undo

pytestmark = pytest.mark.django_db

JST = datetime.timezone(datetime.timedelta(hours=9))
T0 = datetime.datetime(2031, 6, 2, 9, tzinfo=JST)
DAY = datetime.timedelta(days=1)
SHOPS = (
    (Category.RESTAURANT, Municipality.YAMAGUCHI),
    (Category.CAFE, Municipality.YAMAGUCHI),
    (Category.CAFE, Municipality.HAGI),
)
SUPPORTERS = 3

orders = st.lists(
    st.tuples(
        st.integers(0, SUPPORTERS - 1),
        st.integers(0, len(SHOPS) - 1),
        st.integers(0, 1),  # round
        st.integers(1, 4),  # units
        st.sampled_from(["paid", "paid", "paid", "refunded", "cancelled", "pending"]),
    ),
    max_size=8,
)
events = st.lists(
    st.tuples(
        st.integers(0, 100),  # days after round 1's usage starts
        st.one_of(
            st.tuples(
                st.just("redeem"),
                st.integers(0, SUPPORTERS - 1),
                st.integers(0, len(SHOPS) - 1),
                st.integers(1, 4_000),
            ),
            st.tuples(st.just("undo"), st.integers(0, 20)),
            st.tuples(st.just("settle")),
        ),
    ),
    max_size=16,
)


def make_programme(premium_rate: int):
    project = make_project(premium_rate=premium_rate)
    rounds = [
        make_round(
            project,
            number=1,
            opens_at=T0,
            closes_at=T0 + 10 * DAY,
            shop_applications_close_at=T0 - 7 * DAY,
            usage_starts_on=(T0 + 11 * DAY).date(),
            usage_ends_on=(T0 + 40 * DAY).date(),
        ),
        make_round(
            project,
            number=2,
            opens_at=T0 + 12 * DAY,
            closes_at=T0 + 20 * DAY,
            shop_applications_close_at=T0 - 7 * DAY,
            usage_starts_on=(T0 + 21 * DAY).date(),
            usage_ends_on=(T0 + 90 * DAY).date(),
        ),
    ]
    shops = [
        make_shop(project, category=category, municipality=municipality, now=T0 - 10 * DAY)
        for category, municipality in SHOPS
    ]
    supporters = [make_user(email=f"identity-{n}@example.jp") for n in range(SUPPORTERS)]
    staff = make_user(email="identity-staff@example.jp", is_staff=True)
    return project, rounds, shops, supporters, staff


def place(order_spec, n, rounds, shops, supporters) -> None:
    who, shop_index, round_index, units, fate = order_spec
    round_, shop = rounds[round_index], shops[shop_index]
    now = round_.opens_at + datetime.timedelta(hours=1, minutes=n)
    try:
        order = order_create(
            supporter=supporters[who],
            listing_id=shop.listings.get(is_standard=True).pk,
            round_id=round_.pk,
            units=units,
            idempotency_key=f"identity-{n}",
            now=now,
        )
    except PurchaseError:
        return
    if fate == "cancelled":
        order_cancel(order=order, supporter=supporters[who], now=now)
    elif fate in ("paid", "refunded"):
        result = PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, now)
        payment_record(result=result, now=now)
        if fate == "refunded":
            order_refund(order=order, now=now + datetime.timedelta(minutes=1))


def latest_closing_day_before(project: Project, day: datetime.date) -> datetime.date:
    closing_days = SettlementPolicy.for_project(project).closing_day_list
    day -= DAY
    while not cycle.is_closing_day(closing_days, day):
        day -= DAY
    return day


def happen(event, project, shops, supporters, staff) -> None:
    days, action = event
    now = datetime.datetime.combine(
        (T0 + 11 * DAY).date() + days * DAY, datetime.time(12), tzinfo=JST
    )
    if action[0] == "redeem":
        _, who, shop_index, amount = action
        wallet = Wallet.objects.filter(supporter=supporters[who], shop=shops[shop_index]).first()
        if wallet is None:
            return
        try:
            wallet_redeem(
                shop=shops[shop_index], code=wallet.code, amount=amount, operator=None, now=now
            )
        except PurchaseError:
            pass  # nothing usable that day, or less than asked: the till refuses it
    elif action[0] == "undo":
        standing = list(Redemption.objects.standing().filter(shop__project=project).order_by("pk"))
        if standing:
            undo(standing[action[1] % len(standing)], now)
    else:
        period_end = latest_closing_day_before(project, now.date())
        latest = SettlementRun.objects.filter(project=project).order_by("-period_end").first()
        if latest is None or latest.period_end < period_end:
            settlement_run(project=project, period_end=period_end, staff=staff, now=now)


def assert_the_books_balance(project, rounds, now) -> None:
    books = books_of(project=project, now=now)
    for row in books.by_round:
        assert row.figures.imbalances() == [], (row.label, row.figures)
    assert books.total.imbalances() == []
    for _name, _label, rows in books.breakdowns():
        for figure in ADDITIVE:
            assert getattr(books.total, figure) == sum(getattr(r.figures, figure) for r in rows)
        assert books.total.supporters <= sum(r.figures.supporters for r in rows)
    for round_, row in zip(rounds, books.by_round, strict=True):
        assert books_of(project=project, now=now, round_=round_).total == row.figures

    # An independent reading of the records, row by row in Python.
    paid = Order.objects.filter(project=project, status=OrderStatus.PAID)
    assert books.total.supporters == len({o.supporter_id for o in paid})
    assert books.total.amount_raised == sum(o.amount for o in paid)
    tickets = Ticket.objects.filter(
        round__project=project, status=TicketStatus.VALID, order__status=OrderStatus.PAID
    )
    assert books.total.tickets_issued == sum(t.face_value for t in tickets)
    standing = Redemption.objects.standing().filter(shop__project=project)
    assert books.total.redeemed == sum(r.amount for r in standing)
    statements = Statement.objects.filter(run__project=project)
    assert books.total.settled == sum(s.face_value for s in statements)
    # And the counters the purchases app keeps on the projects' rows.
    project.refresh_from_db()
    assert books.total.amount_raised == project.amount_paid
    shop_rounds = ShopRound.objects.filter(round__project=project)
    assert books.total.tickets_issued == sum(sr.tickets_issued_amount for sr in shop_rounds)
    assert books.total.redeemed == sum(sr.tickets_used_amount for sr in shop_rounds)


@settings(
    max_examples=15,
    deadline=None,
    # No "explain" phase: each example is a whole history, minutes to explain.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    premium_rate=st.sampled_from([20, 30, 50]),
    order_specs=orders,
    history=events,
    final_day=st.integers(0, 150),
)
def test_the_books_balance_to_the_yen_over_random_histories(
    db, premium_rate, order_specs, history, final_day
):
    # Each example in a transaction of its own, rolled back: the next starts from nothing.
    with transaction.atomic():
        project, rounds, shops, supporters, staff = make_programme(premium_rate)
        for n, spec in enumerate(order_specs):
            place(spec, n, rounds, shops, supporters)
        for step in sorted(history, key=lambda e: e[0]):
            happen(step, project, shops, supporters, staff)
        assert_the_books_balance(project, rounds, T0 + final_day * DAY)
        # What the examples reached (pytest --hypothesis-show-statistics).
        redemptions = Redemption.objects.filter(shop__project=project)
        undone = redemptions.exclude(undone_at=None)
        event(f"uses: {redemptions.exists()}, undone: {undone.exists()}")
        event(f"statements: {Statement.objects.filter(run__project=project).exists()}")
        transaction.set_rollback(True)


def test_negative_control_a_use_on_no_ticket_breaks_the_identity(db):
    """The check can fail: a use taken from a ticket without lowering its balance (a lost
    update) shows as a round whose issued value no longer balances."""
    project, rounds, shops, supporters, staff = make_programme(50)
    place((0, 0, 0, 2, "paid"), 0, rounds, shops, supporters)
    ticket = Ticket.objects.filter(round=rounds[0]).first()
    happen((0, ("redeem", 0, 0, 500)), project, shops, supporters, staff)
    Ticket.objects.filter(pk=ticket.pk).update(balance=ticket.face_value)
    with pytest.raises(AssertionError, match="第1期"):
        assert_the_books_balance(project, rounds, T0 + 12 * DAY)
