"""Lottery rounds end to end at the service level: apply within the window and the caps, draw
after it, pay before the deadline, re-draw what lapsed; and lottery_verify replays it all."""

import datetime
import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase

from lottery.models import Allotment, AllotmentState, Application, DrawPass
from lottery.services import (
    LotteryError,
    application_save,
    lotteries_run,
    lottery_create,
    lottery_draw,
    lottery_publication,
    lottery_redraw,
)
from projects.models import Listing, Project
from purchases.models import OrderStatus
from purchases.services import PaymentResult, PurchaseError, order_create, payment_record
from tests.lottery.helpers import (
    AFTER,
    BEFORE,
    CLOSING,
    DURING,
    OPENING,
    apply,
    make_lottery_offer,
    people,
)
from tests.projects.factories import make_project, make_round

pytestmark = pytest.mark.django_db
capture_on_commit_callbacks = TestCase.captureOnCommitCallbacks


@pytest.fixture
def offer(db):
    return make_lottery_offer(stock=10)


# --- Applying ------------------------------------------------------------------------------


def test_an_application_is_taken_only_inside_the_window_to_the_second(offer):
    (person,) = people(1)
    with pytest.raises(LotteryError) as early:
        apply(offer, person, {offer.limited: 1}, now=OPENING - datetime.timedelta(seconds=1))
    assert early.value.code == "window_not_open"
    apply(offer, person, {offer.limited: 1}, now=OPENING)
    apply(offer, person, {offer.limited: 2}, now=CLOSING - datetime.timedelta(seconds=1))
    with pytest.raises(LotteryError) as late:
        apply(offer, person, {offer.limited: 1}, now=CLOSING)
    assert late.value.code == "window_closed"
    assert Application.objects.get().lines.get().units == 2


def test_a_second_save_edits_the_one_application(offer):
    (person,) = people(1)
    first = apply(offer, person, {offer.limited: 1, offer.standard: 3})
    second = apply(offer, person, {offer.limited: 0, offer.standard: 5})
    assert first.pk == second.pk
    assert Application.objects.count() == 1
    assert [(line.listing_id, line.units) for line in second.lines.all()] == [
        (offer.standard.pk, 5)
    ]


@pytest.mark.parametrize(
    ("wish", "code"),
    [
        ({"limited": 3}, "over_listing_person_limit"),
        ({"standard": 21}, "over_application_max"),
        ({"standard": -1}, "invalid_units"),
        ({"standard": "2"}, "invalid_units"),
        ({"standard": True}, "invalid_units"),
        ({"standard": 0}, "no_lines"),
    ],
)
def test_every_cap_and_bad_input_is_refused_with_its_sentence(offer, wish, code):
    (person,) = people(1)
    wishes = {getattr(offer, name).pk: units for name, units in wish.items()}
    with pytest.raises(LotteryError) as refused:
        application_save(lottery=offer.lottery, supporter=person, wishes=wishes, now=DURING)
    assert refused.value.code == code
    assert refused.value.message
    assert not Application.objects.exists()


def test_the_round_cap_counts_the_whole_application(offer):
    Project.objects.filter(pk=offer.project.pk).update(max_per_person_per_round=20_000)
    (person,) = people(1)
    with pytest.raises(LotteryError) as refused:
        apply(offer, person, {offer.standard: 16, offer.limited: 1})  # 16,000 + 5,000
    assert refused.value.code == "over_person_round_max"
    assert "20,000" in refused.value.message


def test_a_listing_not_offered_in_the_round_cannot_be_wished_for(offer):
    other = make_lottery_offer()
    (person,) = people(1)
    with pytest.raises(LotteryError) as refused:
        apply(offer, person, {other.standard: 1})
    assert refused.value.code == "listing_not_available"


def test_first_come_ordering_is_refused_in_a_lottery_round_on_both_paths(offer, monkeypatch):
    from purchases import services

    (person,) = people(1)
    for path in ("database", "python"):
        if path == "python":
            monkeypatch.setattr(
                services, "_order_create_in_database", services._order_create_in_python
            )
        with pytest.raises(PurchaseError) as refused:
            order_create(
                supporter=person,
                listing_id=offer.standard.pk,
                round_id=offer.round.pk,
                units=1,
                idempotency_key=f"k-{path}",
                now=DURING,
            )
        assert refused.value.code == "round_is_lottery"


# --- The seed ------------------------------------------------------------------------------


def test_the_seed_is_committed_before_the_window_opens_or_not_at_all(db):
    project = make_project()
    round_ = make_round(project, opens_at=OPENING, closes_at=CLOSING, allocation_mode="lottery")
    with pytest.raises(LotteryError) as refused:
        lottery_create(round_=round_, payment_hours=72, now=OPENING)
    assert refused.value.code == "already_open"
    first_come = make_round(project, number=2, opens_at=OPENING, closes_at=CLOSING)
    with pytest.raises(LotteryError):
        lottery_create(round_=first_come, payment_hours=72, now=BEFORE)


def test_the_seed_cannot_change_after_its_hash_is_published(offer):
    lottery = offer.lottery
    assert len(lottery.seed) == 64 and len(lottery.seed_hash) == 64
    lottery.seed = "0" * 64
    with pytest.raises(ValueError):
        lottery.save()


@pytest.mark.postgres
def test_the_database_refuses_to_change_the_seed_whatever_path_writes(offer):
    from django.db import DatabaseError, transaction

    from lottery.models import LotteryRound

    with pytest.raises(DatabaseError), transaction.atomic():
        LotteryRound.objects.filter(pk=offer.lottery.pk).update(seed="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic():
        LotteryRound.objects.filter(pk=offer.lottery.pk).update(seed_hash="0" * 64)
    # A change to another field goes through: the guard is on the seed only.
    LotteryRound.objects.filter(pk=offer.lottery.pk).update(payment_hours=48)


# --- Drawing -------------------------------------------------------------------------------


def _draw_with(offer, count=30, units=1):
    applicants = people(count)
    for person in applicants:
        apply(offer, person, {offer.limited: units})
    with capture_on_commit_callbacks(execute=True):
        draw_pass = lottery_draw(lottery=offer.lottery, now=AFTER)
    return applicants, draw_pass


def test_no_draw_before_the_window_closes_and_only_one(offer):
    with pytest.raises(LotteryError) as early:
        lottery_draw(lottery=offer.lottery, now=CLOSING - datetime.timedelta(seconds=1))
    assert early.value.code == "not_closed"
    lottery_draw(lottery=offer.lottery, now=AFTER)
    with pytest.raises(LotteryError) as again:
        lottery_draw(lottery=offer.lottery, now=AFTER)
    assert again.value.code == "already_drawn"


def test_the_draw_gives_the_stock_to_pending_orders_payable_until_the_deadline(offer):
    _applicants, draw_pass = _draw_with(offer, count=30)
    allotments = Allotment.objects.filter(draw_pass=draw_pass).select_related("order")
    assert allotments.count() == 10
    deadline = AFTER + datetime.timedelta(hours=72)
    for allotment in allotments:
        assert allotment.order.status == OrderStatus.PENDING
        assert allotment.order.expires_at == deadline
        assert allotment.order.units == 1
    assert Listing.objects.get(pk=offer.limited.pk).units_sold == 10
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 50_000


def test_the_draw_never_spends_more_than_the_budget_left(db):
    offer = make_lottery_offer(stock=None, total_budget=45_000)
    applicants = people(10)
    for person in applicants:
        apply(offer, person, {offer.limited: 2})
    lottery_draw(lottery=offer.lottery, now=AFTER)
    # Four get both units (10,000 yen each); the fifth gets 1 of 2 (partial); nobody else.
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 45_000
    assert sorted(Allotment.objects.values_list("units", flat=True)) == [1, 2, 2, 2, 2]


def test_winners_and_the_others_are_emailed_once(offer):
    _draw_with(offer, count=12)
    assert len(mail.outbox) == 12
    won = [m for m in mail.outbox if "当選" in m.subject]
    assert len(won) == 10
    assert all("お支払い期限" in m.body and "/mypage/orders/K-" in m.body for m in won)
    lost = [m for m in mail.outbox if "当選" not in m.subject]
    assert all("ご希望に添えませんでした" in m.body for m in lost)


def test_a_winner_pays_before_the_deadline_and_gets_tickets(offer):
    _draw_with(offer, count=3)
    allotment = Allotment.objects.select_related("order").first()
    order = allotment.order
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_1", order.amount, True, AFTER),
        now=AFTER,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.tickets.exists()
    assert allotment.state_at(AFTER) == AllotmentState.PAID


# --- Verifying and re-drawing --------------------------------------------------------------


def _published(offer, tmp_path):
    offer.lottery.refresh_from_db()
    path = tmp_path / "applications.json"
    path.write_text(json.dumps(lottery_publication(offer.lottery)), encoding="utf-8")
    return path


def test_lottery_verify_reproduces_the_draw_from_the_published_list_and_seed(offer, tmp_path):
    _draw_with(offer, count=40)
    path = _published(offer, tmp_path)
    published = json.loads(path.read_text())
    assert published["seed"] == offer.lottery.seed
    # Pseudonymous ids and wishes only: no email, no name, no user id.
    text = path.read_text()
    assert "@example.jp" not in text and "supporter" not in text
    call_command("lottery_verify", applications=str(path), round=offer.round.pk)
    call_command("lottery_verify", applications=str(path), seed=offer.lottery.seed)


def test_lottery_verify_fails_on_a_wrong_seed_or_altered_winners(offer, tmp_path):
    _draw_with(offer, count=40)
    path = _published(offer, tmp_path)
    with pytest.raises(CommandError, match="SHA-256"):
        call_command("lottery_verify", applications=str(path), seed="f" * 64)
    published = json.loads(path.read_text())
    winners = published["passes"][0]["allotments"]
    loser = next(a["id"] for a in published["applications"] if a["id"] not in winners)
    winners.pop(next(iter(winners)))
    winners[loser] = {str(offer.limited.pk): 1}
    path.write_text(json.dumps(published))
    with pytest.raises(CommandError, match="failed"):
        call_command("lottery_verify", applications=str(path))


def test_unpaid_allotments_are_released_and_redrawn_down_the_same_order(offer, tmp_path):
    _applicants, first = _draw_with(offer, count=30)
    allotments = list(Allotment.objects.filter(draw_pass=first).select_related("order"))
    paid, lapsed = allotments[:6], allotments[6:]
    for allotment in paid:
        order = allotment.order
        payment_record(
            result=PaymentResult("sandbox", order.code, f"r{order.pk}", order.amount, True, AFTER),
            now=AFTER,
        )
    with pytest.raises(LotteryError) as early:
        lottery_redraw(
            lottery=offer.lottery, now=first.payment_deadline - datetime.timedelta(seconds=1)
        )
    assert early.value.code == "payment_pending"
    mail.outbox.clear()
    later = first.payment_deadline + datetime.timedelta(minutes=5)
    with capture_on_commit_callbacks(execute=True):
        second = lottery_redraw(lottery=offer.lottery, now=later)
    assert second.number == 2
    assert sorted(second.excluded) == sorted(a.application.public_id for a in lapsed)
    redrawn = list(Allotment.objects.filter(draw_pass=second).select_related("application"))
    assert len(redrawn) == 4
    assert not {a.application_id for a in redrawn} & {a.application_id for a in allotments}
    assert all(a.state_at(later) == AllotmentState.WON_REDRAW for a in redrawn)
    assert len(mail.outbox) == 4 and all("繰上当選" in m.subject for m in mail.outbox)
    assert Listing.objects.get(pk=offer.limited.pk).units_sold == 10
    for allotment in lapsed:
        allotment.order.refresh_from_db()
        assert allotment.state_at(later) == AllotmentState.LAPSED
    # The re-draw is verifiable the same way.
    path = _published(offer, tmp_path)
    call_command("lottery_verify", applications=str(path), round=offer.round.pk)


def test_the_cron_draws_then_redraws_when_due(offer):
    applicants = people(15)
    for person in applicants:
        apply(offer, person, {offer.limited: 1})
    assert lotteries_run(now=CLOSING - datetime.timedelta(seconds=1)) == []
    (first,) = lotteries_run(now=AFTER)
    assert first.number == 1
    assert lotteries_run(now=AFTER + datetime.timedelta(hours=1)) == []
    (second,) = lotteries_run(now=first.payment_deadline)
    assert second.number == 2
    assert DrawPass.objects.count() == 2


# --- Data rights ---------------------------------------------------------------------------


def test_leaving_takes_an_open_application_and_keeps_a_closed_one(offer, db):
    from kaika.data_rights import erase_user_data, export_user_data

    (person,) = people(1)
    apply(offer, person, {offer.limited: 1}, now=DURING)
    assert export_user_data(user=person)["lottery_applications"][0]["lines"][0]["units"] == 1
    erase_user_data(user=person)  # the window (in 2031) is still open: withdrawn
    assert not Application.objects.exists()
    closed = make_lottery_offer(opening=OPENING.replace(year=2020), committed_at=None)
    Application.objects.create(
        lottery=closed.lottery, supporter=person, created_at=AFTER, updated_at=AFTER
    )
    erase_user_data(user=person)
    assert Application.objects.filter(supporter=person).count() == 1


def test_the_cron_does_not_look_again_when_nothing_lapsed(offer):
    from purchases.models import Order

    applicants = people(12)
    for person in applicants:
        apply(offer, person, {offer.limited: 1})
    (first,) = lotteries_run(now=AFTER)
    for order in Order.objects.filter(round=offer.round):
        payment_record(
            result=PaymentResult("sandbox", order.code, f"c{order.pk}", order.amount, True, AFTER),
            now=AFTER,
        )
    # Every winner paid: nothing to release, so no re-draw is even tried.
    assert lotteries_run(now=first.payment_deadline) == []
    offer.lottery.refresh_from_db()
    assert offer.lottery.redraw_checked_at is None
    assert DrawPass.objects.count() == 1


def test_a_residents_only_lottery_takes_applications_only_from_code_holders(offer):
    from residents.services import resident_code_redeem
    from tests.residents.helpers import import_codes, new_code

    Project.objects.filter(pk=offer.project.pk).update(residents_only=True)
    resident, outsider = people(2)
    code = new_code()
    import_codes(offer.project, code)
    resident_code_redeem(supporter=resident, typed=code, client_ip="192.0.2.1", now=DURING)
    with pytest.raises(LotteryError) as refused:
        apply(offer, outsider, {offer.standard: 1})
    assert refused.value.code == "residents_only"
    assert "参加コード" in refused.value.message
    assert apply(offer, resident, {offer.standard: 1}).supporter == resident
    assert Application.objects.count() == 1
