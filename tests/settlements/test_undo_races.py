"""An undo at the till against a settlement run, and two undos of one use, on real PostgreSQL
(the pattern of tests/settlements/test_races.py): threads on their own connections, each held
by KAIKA_DEBUG_PAUSE_AFTER_CHECKS between its checks and its writes.

The run and the shop's undo both lock the shop's row (settlements.services._lock_shops,
purchases.services._lock_shop_for_settlement): the run started first keeps the undo waiting
until its lines are committed, and the undo then sees the use settled and refuses. The
negative control takes both locks out: the undo checks before the run's lines exist, the run
reads the use before the undo's commit, and both go through: an undone use paid to the shop."""

import datetime
import time

import pytest
from django.db.models import F

from projects.models import ShopRound
from purchases import services as purchase_services
from purchases.models import Redemption, Ticket
from purchases.services import redemption_undo
from settlements import services as settlement_services
from settlements.models import SettlementPolicy, StatementLine
from settlements.services import settlement_run
from tests.concurrency import race
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.purchases import unlocked
from tests.settlements.factories import at, make_ticket, use

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
D = datetime.date
CLOSING = D(2026, 12, 15)
USED = at(CLOSING, 12)
# Within the shop's ten minutes.
UNDO_AT = USED + datetime.timedelta(minutes=2)
HEAD_START = 0.15


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.4


def spent(ticket, amount, when):
    """A use as wallet_redeem leaves it (the ticket's balance and the shop round moved)."""
    ticket_use = use(ticket, amount, when)
    Ticket.objects.filter(pk=ticket.pk).update(balance=F("balance") - amount)
    ShopRound.objects.filter(shop=ticket.shop, round=ticket.round).update(
        tickets_used_amount=F("tickets_used_amount") + amount
    )
    return ticket_use


def in_threads(*jobs):
    """Run each (delay, function) in its own thread and connection (tests.concurrency.race),
    released together and then delayed; the outcomes in order."""

    def work(i):
        delay, job = jobs[i]
        time.sleep(delay)
        return job()

    return race(len(jobs), work)


def undo_during_a_run():
    project = make_project()
    make_round(project)
    SettlementPolicy.objects.create(project=project)
    operator = make_user(email="race-undo-operator@example.jp")
    staff = make_user(email="race-undo-staff@example.jp", is_staff=True)
    shop = make_shop(project, operators=[operator])
    ticket_use = spent(make_ticket(shop), 1_000, USED)
    outcomes = in_threads(
        (
            0,
            lambda: settlement_run(project=project, period_end=CLOSING, staff=staff, now=UNDO_AT),
        ),
        (
            HEAD_START,
            lambda: redemption_undo(
                redemption=ticket_use.redemption, by=operator, reason="誤り", now=UNDO_AT
            ),
        ),
    )
    redemption = Redemption.objects.get(pk=ticket_use.redemption_id)
    settled = StatementLine.objects.filter(ticket_use=ticket_use).exists()
    return outcomes, redemption, settled


def test_an_undo_during_a_run_waits_for_it_and_is_refused_as_settled():
    (run, undo), redemption, settled = undo_during_a_run()
    assert undo == "undo_settled"
    assert settled and run.statements.get().amount_to_pay == 1_000
    assert redemption.undone_at is None
    # What the shop is paid for is what the supporter no longer has.
    assert Ticket.objects.get().balance == Ticket.objects.get().face_value - 1_000


def test_negative_control_without_the_shop_locks_an_undone_use_is_paid(monkeypatch):
    monkeypatch.setattr(settlement_services, "_lock_shops", lambda project: None)
    monkeypatch.setattr(purchase_services, "_lock_shop_for_settlement", lambda shop_id: None)
    (run, undo), redemption, settled = undo_during_a_run()
    # Both went through: the amount is back with the supporter and paid to the shop.
    assert isinstance(undo, Redemption) and redemption.undone_at is not None
    assert settled and run.statements.get().amount_to_pay == 1_000


def a_run_during_an_undo():
    project = make_project()
    make_round(project)
    SettlementPolicy.objects.create(project=project)
    operator = make_user(email="race-undo-operator@example.jp")
    staff = make_user(email="race-undo-staff@example.jp", is_staff=True)
    shop = make_shop(project, operators=[operator])
    kept = spent(make_ticket(shop), 300, USED)
    ticket_use = spent(make_ticket(shop), 1_000, USED)
    return (
        in_threads(
            (
                0,
                lambda: redemption_undo(
                    redemption=ticket_use.redemption, by=operator, reason="誤り", now=UNDO_AT
                ),
            ),
            (
                HEAD_START,
                lambda: settlement_run(
                    project=project, period_end=CLOSING, staff=staff, now=UNDO_AT
                ),
            ),
        ),
        kept,
        ticket_use,
    )


def test_a_run_during_an_undo_waits_for_it_and_leaves_the_undone_use_out():
    (undo, run), kept, undone = a_run_during_an_undo()
    assert isinstance(undo, Redemption) and undo.undone_at is not None
    statement = run.statements.get()
    assert statement.amount_to_pay == 300
    assert [line.ticket_use_id for line in statement.lines.all()] == [kept.pk]
    assert not StatementLine.objects.filter(ticket_use=undone).exists()


def two_undos():
    project = make_project()
    make_round(project)
    operator = make_user(email="race-undo-operator@example.jp")
    shop = make_shop(project, operators=[operator])
    ticket = make_ticket(shop, face=500, value=500, paid=500)
    first = spent(ticket, 100, USED)
    spent(ticket, 100, USED)  # a later use: the ticket is not back to its face value after one
    outcomes = in_threads(
        *[
            (
                0,
                lambda: redemption_undo(
                    redemption=first.redemption, by=operator, reason="誤り", now=UNDO_AT
                ),
            )
        ]
        * 2
    )
    ticket.refresh_from_db()
    return outcomes, ticket


def test_two_undos_of_one_use_give_its_amount_back_once():
    outcomes, ticket = two_undos()
    assert sorted(o if isinstance(o, str) else "done" for o in outcomes) == [
        "done",
        "undo_already",
    ]
    assert ticket.balance == 400
    assert ShopRound.objects.get(shop=ticket.shop).tickets_used_amount == 100


def test_negative_control_without_the_wallet_locks_the_amount_is_given_back_twice(monkeypatch):
    unlocked.unlock(monkeypatch.setattr)
    monkeypatch.setattr(purchase_services, "_lock_shop_for_settlement", lambda shop_id: None)
    outcomes, ticket = two_undos()
    assert all(isinstance(o, Redemption) for o in outcomes)
    assert ticket.balance == 500  # 100 more than the supporter ever had back
