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
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from projects.models import Listing, Project
from purchases import services
from purchases.models import Order, Ticket, TicketUse
from purchases.services import (
    PaymentResult,
    PurchaseError,
    order_create,
    payment_record,
    ticket_redeem,
)
from supporters.models import User
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


def race(count: int, work) -> list:
    """Run work(i) in `count` threads released at the same instant; returns each outcome
    (the return value, or the PurchaseError code)."""
    barrier = threading.Barrier(count, timeout=60)
    outcomes: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except PurchaseError as error:
            outcomes[i] = error.code
        except Exception as error:  # surfaced by the assertion below
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unexpected = [o for o in outcomes if isinstance(o, BaseException)]
    assert not unexpected, unexpected[:3]
    return outcomes


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


# --- Double spend of one ticket -------------------------------------------------------------


def paid_ticket():
    """A 500-yen ticket, and a moment of its usage period."""
    offer = make_offer()
    person = supporters(1)[0]
    order = buy_at(offer, person, offer.standard, 1, "ticket-race")
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_race", order.amount, True, DURING),
        now=DURING,
    )
    ticket = Ticket.objects.filter(order=order).first()
    at_till = datetime.datetime.combine(
        offer.round.usage_starts_on, datetime.time(12), DURING.tzinfo
    )
    return offer, ticket, at_till


def redemption_race():
    offer, ticket, at_till = paid_ticket()
    tills = 20
    race(
        tills,
        lambda i: ticket_redeem(
            shop=offer.shop, code=ticket.code, amount=100, operator=None, now=at_till
        ),
    )
    used = TicketUse.objects.filter(ticket=ticket).aggregate(n=Sum("amount"))["n"] or 0
    return ticket.face_value, used, Ticket.objects.get(pk=ticket.pk).balance


def test_twenty_tills_using_one_ticket_at_once_never_spend_more_than_it_holds():
    face, used, balance = redemption_race()
    assert used == face == 500
    assert balance == 0


def test_negative_control_without_locks_the_ticket_is_double_spent(unlocked):
    face, used, _balance = redemption_race()
    assert used > face, "the unlocked race did not double spend: the test cannot see races"


def same_form_race():
    """One redemption form sent ten times at once (a double tap on a slow connection)."""
    offer, ticket, at_till = paid_ticket()
    outcomes = race(
        10,
        lambda i: ticket_redeem(
            shop=offer.shop,
            code=ticket.code,
            amount=100,
            operator=None,
            now=at_till,
            idempotency_key="one-form-sent-ten-times",
        ),
    )
    return ticket, outcomes


def test_one_redemption_form_sent_ten_times_at_once_takes_the_amount_once():
    ticket, outcomes = same_form_race()
    assert len({use.pk for use in outcomes}) == 1
    assert [use.repeated for use in outcomes].count(False) == 1
    assert Ticket.objects.get(pk=ticket.pk).balance == 400
    assert TicketUse.objects.filter(ticket=ticket).count() == 1


def test_negative_control_without_locks_the_same_form_collides(unlocked):
    """Unlocked, every sending misses the others' use and tries to write its own: the unique
    constraint keeps the money right, but nine tills get an error instead of the answer."""
    with pytest.raises(AssertionError, match="ticketuse_one_per_form"):
        same_form_race()
