"""Uses undone after settlement: a negative REVERSAL line in the shop's next statement,
mirroring the original line; undone before settlement: on no statement at all. A statement
below zero pays nothing and is carried into the next one, never lost."""

import datetime

import pytest
from django.db.models import F
from django.utils import timezone

from projects.models import ShopRound
from purchases.models import Redemption, Ticket
from purchases.services import PurchaseError, redemption_undo
from settlements.models import (
    LineKind,
    SettlementPolicy,
    Statement,
    StatementLine,
)
from settlements.services import settlement_run
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))


@pytest.fixture
def project(db):
    project = make_project()
    make_round(project)
    return project


@pytest.fixture
def staff(db):
    return make_user(email="reversal-staff@example.jp", is_staff=True)


def undo(ticket_use, when):
    Redemption.objects.filter(pk=ticket_use.redemption_id).update(
        undone_at=when, undo_reason="誤り"
    )


def run(project, staff, day):
    return settlement_run(project=project, period_end=day, staff=staff, now=NOW)


def test_a_use_undone_before_settlement_is_on_no_statement(project, staff):
    shop = make_shop(project)
    kept = use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    undone = use(make_ticket(shop), 700, at(D(2026, 12, 2)))
    undo(undone, at(D(2026, 12, 2), 13))
    first = run(project, staff, D(2026, 12, 15))
    statement = first.statements.get()
    assert statement.face_value == 1_000
    assert [line.ticket_use_id for line in statement.lines.all()] == [kept.pk]
    # Nor later, as a use or as a reversal: it was never owed.
    second = run(project, staff, D(2026, 12, 31))
    assert not second.statements.exists()
    assert not StatementLine.objects.filter(ticket_use=undone).exists()
    assert not StatementLine.objects.filter(reversed_use=undone).exists()


def test_a_use_undone_after_settlement_is_a_negative_line_mirroring_the_original(project, staff):
    shop = make_shop(project)
    # 10,000 yen paid for 13,000 of tickets: 1,000 splits 769 / 231.
    settled = use(make_ticket(shop, paid=10_000, value=13_000), 1_000, at(D(2026, 12, 1)))
    run(project, staff, D(2026, 12, 15))
    original = StatementLine.objects.get(ticket_use=settled)
    undo(settled, at(D(2026, 12, 20), 15))
    use(make_ticket(shop, paid=10_000, value=10_000), 3_000, at(D(2026, 12, 21)))

    second = run(project, staff, D(2026, 12, 31)).statements.get()

    reversal = second.lines.get(kind=LineKind.REVERSAL)
    assert reversal.reversed_use == settled and reversal.ticket_use is None
    assert (
        (reversal.face_value, reversal.supporter_part, reversal.premium_part)
        == (
            -original.face_value,
            -original.supporter_part,
            -original.premium_part,
        )
        == (-1_000, -769, -231)
    )
    assert reversal.used_at == at(D(2026, 12, 20), 15)
    assert (second.face_value, second.supporter_part, second.premium_part) == (
        2_000,
        3_000 - 769,
        -231,
    )
    assert second.amount_to_pay == 2_000
    # Reversed once only.
    third = run(project, staff, D(2027, 1, 15))
    assert not third.statements.exists()
    assert StatementLine.objects.filter(reversed_use=settled).count() == 1


def test_an_undo_after_the_period_end_waits_for_the_next_run(project, staff):
    shop = make_shop(project)
    settled = use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    run(project, staff, D(2026, 12, 15))
    undo(settled, at(D(2027, 1, 2)))
    assert not run(project, staff, D(2026, 12, 31)).statements.exists()
    statement = run(project, staff, D(2027, 1, 15)).statements.get()
    assert statement.lines.get().reversed_use == settled


def test_a_statement_below_zero_pays_nothing_and_is_carried_until_covered(project, staff):
    SettlementPolicy.objects.create(project=project, fee_per_statement=100)
    shop = make_shop(project)
    settled = use(make_ticket(shop), 5_000, at(D(2026, 12, 1)))
    run(project, staff, D(2026, 12, 15))
    undo(settled, at(D(2026, 12, 20)))
    use(make_ticket(shop), 1_000, at(D(2026, 12, 21)))

    below = run(project, staff, D(2026, 12, 31)).statements.get()
    # 1,000 - 5,000: no fee on a net loss, and never in a bank file.
    assert (below.face_value, below.fee, below.carried, below.amount_to_pay) == (
        -4_000,
        0,
        0,
        -4_000,
    )
    assert not Statement.objects.payable().filter(pk=below.pk).exists()

    # No new use: carried again, not lost.
    still = run(project, staff, D(2027, 1, 15)).statements.get()
    assert (still.face_value, still.carried, still.amount_to_pay) == (0, -4_000, -4_000)
    assert still.lines.get().kind == LineKind.CARRIED
    assert still.lines.get().returned_statement == below

    use(make_ticket(shop, face=20_000, value=20_000, paid=20_000), 10_000, at(D(2027, 1, 20)))
    covered = run(project, staff, D(2027, 1, 31)).statements.get()
    assert (covered.face_value, covered.fee, covered.carried, covered.amount_to_pay) == (
        10_000,
        100,
        -4_000,
        5_900,
    )
    assert covered.lines.get(kind=LineKind.CARRIED).returned_statement == still
    # What the shop was paid in all is what its standing uses came to (1,000 + 10,000), less
    # the two fees charged (100 each): nothing of the negative statement was lost.
    paid = Statement.objects.filter(amount_to_pay__gt=0).values_list("amount_to_pay", flat=True)
    assert sorted(paid) == [4_900, 5_900] and sum(paid) == 1_000 + 10_000 - 2 * 100
    assert not run(project, staff, D(2027, 2, 15)).statements.exists()


def spent_use(ticket, amount, when):
    """A use as wallet_redeem leaves it: the ticket's balance and the shop round's figure moved."""
    ticket_use = use(ticket, amount, when)
    Ticket.objects.filter(pk=ticket.pk).update(balance=F("balance") - amount)
    ShopRound.objects.filter(shop=ticket.shop, round=ticket.round).update(
        tickets_used_amount=F("tickets_used_amount") + amount
    )
    return ticket_use


def test_a_settled_use_is_refused_to_the_operator_and_undone_by_staff_into_a_reversal(
    project, staff
):
    operator = make_user(email="reversal-operator@example.jp")
    shop = make_shop(project, operators=[operator])
    ticket = make_ticket(shop)
    when = timezone.now() - datetime.timedelta(minutes=1)
    closing = D(2026, 12, 15)
    ticket_use = spent_use(ticket, 1_000, at(closing))
    Redemption.objects.filter(pk=ticket_use.redemption_id).update(used_at=when)
    run(project, staff, closing)

    with pytest.raises(PurchaseError) as error:
        redemption_undo(
            redemption=ticket_use.redemption, by=operator, reason="誤り", now=timezone.now()
        )
    assert error.value.code == "undo_settled" and "精算" in error.value.message
    ticket.refresh_from_db()
    assert ticket.balance == ticket.face_value - 1_000

    redemption_undo(
        redemption=ticket_use.redemption,
        by=staff,
        reason="お店から連絡",
        now=at(D(2026, 12, 20)),
        staff=True,
    )
    ticket.refresh_from_db()
    assert ticket.balance == ticket.face_value
    assert ShopRound.objects.get(shop=shop, round=ticket.round).tickets_used_amount == 0
    reversal = run(project, staff, D(2026, 12, 31)).statements.get()
    assert reversal.amount_to_pay == -1_000
    assert reversal.lines.get().reversed_use == ticket_use
