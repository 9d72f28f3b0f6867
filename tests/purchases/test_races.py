"""The 9:00 rush on real PostgreSQL: many supporters at the same instant, never an overshoot.

Each race releases its threads together from a barrier; each thread uses its own database
connection (Django's connections are per thread) and closes it at the end. Orders race on
both paths: PostgreSQL's kaika_order_reserve() and the Python path, in which the debug hook
KAIKA_DEBUG_PAUSE_AFTER_CHECKS holds every racer between its checks and its writes, so only
the locks and conditional UPDATEs can keep the caps. Every race has a negative control: the
Python path with those taken out (tests/purchases/unlocked.py) must overshoot, which proves
the race is really run.
"""

import datetime

import pytest
from django.db.models import Sum

from projects.models import Listing, Project
from purchases import services
from purchases.models import Order, Redemption, TicketUse, Wallet
from purchases.services import (
    PaymentResult,
    order_create,
    payment_record,
    wallet_redeem,
)
from supporters.models import User
from tests.concurrency import race
from tests.purchases.helpers import DURING, make_offer
from tests.purchases.unlocked import unlock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 50


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.05


@pytest.fixture
def unlocked(monkeypatch):
    unlock(monkeypatch.setattr)


@pytest.fixture(params=["database", "python"])
def path(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(services, "_order_create_in_database", services._order_create_in_python)


def supporters(count: int) -> list[User]:
    return [User.objects.create(email=f"racer{i}-{id(count)}@example.jp") for i in range(count)]


def buy_at(offer, supporter, listing, units, key):
    return order_create(
        supporter=supporter,
        listing_id=listing.pk,
        round_id=offer.round.pk,
        units=units,
        idempotency_key=key,
        now=DURING,
    )


# --- The last part of the budget -----------------------------------------------------------


def budget_race():
    offer = make_offer(total_budget=1_000_000)
    # 10,000 yen left; each of 50 people asks for 3,000: at most 3 fit.
    Project.objects.filter(pk=offer.project.pk).update(amount_raised=990_000)
    people = supporters(RACERS)
    race(RACERS, lambda i: buy_at(offer, people[i], offer.standard, 3, f"budget-{i:04d}"))
    sold = Order.objects.filter(project=offer.project).aggregate(n=Sum("amount"))["n"] or 0
    counter = Project.objects.get(pk=offer.project.pk).amount_raised
    return sold, counter


def test_fifty_supporters_racing_for_the_last_of_the_budget_never_overshoot_it(path):
    sold, counter = budget_race()
    assert sold == 9_000  # three orders: as many as fit, no more
    assert counter == 990_000 + sold


def test_negative_control_without_locks_the_budget_race_overshoots(unlocked):
    sold, _counter = budget_race()
    assert sold > 10_000, "the unlocked race did not overshoot: the test cannot see races"


# --- The last units of a limited listing ---------------------------------------------------


def stock_race():
    offer = make_offer()
    listing = offer.limited(unit_price=1000, stock_limit=50)
    Listing.objects.filter(pk=listing.pk).update(units_sold=45)
    people = supporters(RACERS)
    race(RACERS, lambda i: buy_at(offer, people[i], listing, 1, f"stock-{i:04d}"))
    return Order.objects.filter(listing=listing).count(), Listing.objects.get(pk=listing.pk)


def test_fifty_supporters_racing_for_the_last_units_never_oversell(path):
    orders, listing = stock_race()
    assert orders == 5
    assert listing.units_sold == 50


def test_negative_control_without_locks_the_stock_race_oversells(unlocked):
    orders, _listing = stock_race()
    assert orders > 5, "the unlocked race did not oversell: the test cannot see races"


# --- One supporter, several tabs, against their own cap -------------------------------------


def own_cap_race():
    offer = make_offer()
    person = supporters(1)[0]
    tabs = 12
    # 20,000 yen per tab against 100,000 per person per round: at most 5 tabs fit.
    race(tabs, lambda i: buy_at(offer, person, offer.standard, 20, f"tab-{i:04d}"))
    return Order.objects.filter(supporter=person).aggregate(n=Sum("amount"))["n"] or 0


def test_one_supporter_in_several_tabs_never_exceeds_their_own_cap(path):
    assert own_cap_race() == 100_000


def test_negative_control_without_locks_the_tabs_exceed_the_cap(unlocked):
    assert own_cap_race() > 100_000, "the unlocked race did not overshoot"


# --- Double spend of one wallet -------------------------------------------------------------


def paid_wallet():
    """A wallet of three 500-yen tickets (one unit), and a moment of their usage period."""
    offer = make_offer()
    person = supporters(1)[0]
    order = buy_at(offer, person, offer.standard, 1, "wallet-race")
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_race", order.amount, True, DURING),
        now=DURING,
    )
    at_till = datetime.datetime.combine(
        offer.round.usage_starts_on, datetime.time(12), DURING.tzinfo
    )
    return offer, Wallet.objects.get(supporter=person, shop=offer.shop), at_till


def used_and_left(wallet):
    used = TicketUse.objects.filter(ticket__supporter=wallet.supporter).aggregate(n=Sum("amount"))
    left = wallet.tickets().aggregate(n=Sum("balance"))
    taken = Redemption.objects.filter(wallet=wallet).aggregate(n=Sum("amount"))
    assert (used["n"] or 0) == (taken["n"] or 0)  # the parts add up to the uses
    return used["n"] or 0, left["n"]


def wallet_race():
    """Twenty tills take 300 yen each at once: each use is split over 500-yen tickets."""
    offer, wallet, at_till = paid_wallet()
    race(
        20,
        lambda i: wallet_redeem(
            shop=offer.shop, code=wallet.code, amount=300, operator=None, now=at_till
        ),
    )
    return used_and_left(wallet)


def printed_ticket_and_wallet_race():
    """Ten tills with a ticket's printed code and ten with the wallet's, 100 yen each. The
    printed one is the last in spending order: the wallet's tills would leave it alone."""
    offer, wallet, at_till = paid_wallet()
    ticket = wallet.tickets().order_by("pk").last()
    codes = [ticket.code, wallet.code]
    race(
        20,
        lambda i: wallet_redeem(
            shop=offer.shop, code=codes[i % 2], amount=100, operator=None, now=at_till
        ),
    )
    return used_and_left(wallet)


@pytest.mark.parametrize("racing", [wallet_race, printed_ticket_and_wallet_race])
def test_tills_taking_from_one_wallet_at_once_never_spend_more_than_it_holds(racing):
    used, left = racing()
    assert used == 1500
    assert left == 0


@pytest.mark.parametrize("racing", [wallet_race, printed_ticket_and_wallet_race])
def test_negative_control_without_locks_the_wallet_is_double_spent(unlocked, racing):
    used, _left = racing()
    assert used > 1500, "the unlocked race did not double spend: the test cannot see races"


def same_form_race():
    """One confirmation sent ten times at once (a double tap on a slow connection)."""
    offer, wallet, at_till = paid_wallet()
    outcomes = race(
        10,
        lambda i: wallet_redeem(
            shop=offer.shop,
            code=wallet.code,
            amount=700,
            operator=None,
            now=at_till,
            idempotency_key="one-form-sent-ten-times",
        ),
    )
    return wallet, outcomes


def test_one_confirmation_sent_ten_times_at_once_takes_the_amount_once():
    wallet, outcomes = same_form_race()
    assert len({use.pk for use in outcomes}) == 1
    assert [use.repeated for use in outcomes].count(False) == 1
    assert used_and_left(wallet) == (700, 800)
    assert Redemption.objects.filter(wallet=wallet).count() == 1
    assert TicketUse.objects.filter(redemption__wallet=wallet).count() == 2  # 500 + 200


def test_negative_control_without_locks_the_same_form_collides(unlocked):
    """Unlocked, every sending misses the others' use and tries to write its own: the unique
    constraint keeps the money right, but nine tills get an error instead of the answer."""
    with pytest.raises(AssertionError, match="redemption_one_per_form"):
        same_form_race()
