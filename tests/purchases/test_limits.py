"""Every cap of order creation, at its boundary: exactly the cap succeeds, one more fails.

Every test here runs on both ways of reserving: PostgreSQL's kaika_order_reserve()
(purchases/sql/order_reserve.sql) and the Python path SQLite runs, so the two cannot drift
apart unseen."""

import datetime

import pytest
from django.db import transaction

from projects.models import Listing, Project, Round, ShopRound, ShopStatus
from projects.services import round_suspend
from purchases import services
from purchases.models import Order, OrderStatus
from purchases.services import PurchaseError, _reserve, order_create, order_terms
from tests.conftest import make_user
from tests.projects.factories import make_shop
from tests.purchases.helpers import DURING, OPENING, buy, make_offer

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture(
    autouse=True, params=[pytest.param("database", marks=pytest.mark.postgres), "python"]
)
def reservation_path(request, monkeypatch):
    if request.param == "python":  # SQLite's path, run on PostgreSQL too when it is there
        monkeypatch.setattr(services, "_order_create_in_database", services._order_create_in_python)
    return request.param


def refused(code: str, call, *args, **kwargs) -> PurchaseError:
    with pytest.raises(PurchaseError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.code
    assert caught.value.message  # a sentence, not a code
    return caught.value


def test_one_second_before_opening_is_refused_and_the_opening_second_accepted(offer, user):
    refused("round_not_open_yet", buy, offer, user, now=OPENING - SECOND)
    order = buy(offer, user, now=OPENING)
    assert order.status == OrderStatus.PENDING


def test_the_closing_second_is_refused(offer, user):
    buy(offer, user, now=offer.round.closes_at - SECOND)
    refused("round_closed", buy, offer, make_user(), now=offer.round.closes_at)


def test_a_suspended_round_refuses_whatever_the_clock_says(offer, user):
    round_suspend(round_=offer.round, reason="点検のため", now=DURING)
    refused("round_suspended", buy, offer, user)


def test_an_order_holds_its_reservation_on_every_counter(offer, user):
    order = buy(offer, user, units=3)
    assert (order.amount, order.tickets_value) == (3000, 4500)
    offer.project.refresh_from_db()
    offer.round.refresh_from_db()
    offer.standard.refresh_from_db()
    shop_round = ShopRound.objects.get(shop=offer.shop, round=offer.round)
    assert offer.project.amount_raised == offer.round.amount_raised == 3000
    assert shop_round.amount_raised == 3000 and shop_round.units_sold == 3
    assert offer.standard.units_sold == 3
    assert order.expires_at == DURING + datetime.timedelta(minutes=15)


def test_the_reservation_time_is_a_setting(offer, user, settings):
    settings.KAIKA_ORDER_RESERVATION_MINUTES = 5
    assert buy(offer, user).expires_at == DURING + datetime.timedelta(minutes=5)


def test_a_listing_without_premium_gives_tickets_worth_the_amount(offer, user):
    listing = offer.limited(unit_price=5000, premium_applies=False)
    assert buy(offer, user, listing=listing).tickets_value == 5000


def test_a_shop_not_approved_is_refused(offer, user):
    offer.shop.status = ShopStatus.WITHDRAWN
    offer.shop.save()
    refused("shop_not_available", buy, offer, user)


def test_a_shop_not_in_the_round_is_refused(offer, user):
    ShopRound.objects.filter(shop=offer.shop).delete()
    refused("shop_not_in_round", buy, offer, user)


def test_a_round_of_another_project_is_refused(offer, user):
    other = make_offer()
    refused(
        "round_mismatch",
        order_create,
        supporter=user,
        listing_id=offer.standard.pk,
        round_id=other.round.pk,
        units=1,
        idempotency_key="k" * 20,
        now=DURING,
    )


def test_an_inactive_listing_or_one_for_another_round_is_refused(offer, user):
    inactive = offer.limited(is_active=False)
    refused("listing_not_available", buy, offer, user, listing=inactive)
    other_round = Round.objects.create(
        project=offer.project,
        number=2,
        shop_applications_close_at=OPENING,
        opens_at=OPENING + datetime.timedelta(days=60),
        closes_at=OPENING + datetime.timedelta(days=70),
        usage_starts_on=datetime.date(2032, 1, 1),
        usage_ends_on=datetime.date(2032, 3, 1),
    )
    only_later = offer.limited()
    only_later.rounds.set([other_round])
    refused("listing_not_available", buy, offer, user, listing=only_later)


def test_a_listing_of_another_shop_of_the_project_is_not_on_sale_at_this_one(offer, user):
    other_shop = make_shop(offer.project, now=OPENING - datetime.timedelta(days=10))
    listing = other_shop.listings.get(is_standard=True)
    # Bought at the other shop it works: the shop is whatever the listing belongs to.
    assert buy(offer, user, listing=listing).shop == other_shop


def test_stock_exactly_sold_out_succeeds_and_one_more_unit_fails(offer):
    listing = offer.limited(unit_price=1000, stock_limit=5)
    buy(offer, make_user(), listing=listing, units=3)
    refused("sold_out", buy, offer, make_user(), listing=listing, units=3)
    buy(offer, make_user(), listing=listing, units=2)
    listing.refresh_from_db()
    assert listing.units_sold == 5 and listing.is_sold_out
    refused("sold_out", buy, offer, make_user(), listing=listing, units=1)


def test_listing_per_person_limit_counts_pending_orders(offer, user):
    listing = offer.limited(unit_price=1000, stock_limit=None, per_person_limit=3)
    buy(offer, user, listing=listing, units=2)
    error = refused("over_listing_person_limit", buy, offer, user, listing=listing, units=2)
    assert error.message == (
        "このリターンはお一人様3口までです(お申込済み2口)。お支払い待ちの申込も、"
        "お支払い期限までは数に入ります(取り消すと枠が戻ります)。"
    )
    buy(offer, user, listing=listing, units=1)
    refused("over_listing_person_limit", buy, offer, user, listing=listing, units=1)
    # Someone else has their own allowance.
    buy(offer, make_user(), listing=listing, units=3)


def test_per_application_maximum_exactly_succeeds_and_one_unit_more_fails(offer, user):
    error = refused("over_application_max", buy, offer, user, units=21)
    assert error.message == "1回のお申込は20,000円までです。"
    assert buy(offer, user, units=20).amount == 20_000


def test_per_person_per_round_maximum_counts_pending_orders(offer, user):
    for _ in range(4):
        buy(offer, user, units=20)
    buy(offer, user, units=19)  # 99,000 yen held
    error = refused("over_person_round_max", buy, offer, user, units=2)
    assert error.message == (
        "お一人様1期あたり100,000円までです(この期のお申込済み99,000円)。お支払い待ちの"
        "申込も、お支払い期限までは数に入ります(取り消すと枠が戻ります)。"
    )
    buy(offer, user, units=1)  # exactly 100,000
    refused("over_person_round_max", buy, offer, user, units=1)


def test_a_cancelled_or_expired_order_gives_the_personal_allowance_back(offer, user):
    orders = [buy(offer, user, units=20) for _ in range(5)]
    refused("over_person_round_max", buy, offer, user, units=1)
    Order.objects.filter(pk=orders[0].pk).update(expires_at=DURING - SECOND)
    # Expired but not yet released by the cron: ignored anyway.
    buy(offer, user, units=20)


def test_total_budget_exactly_reached_succeeds_and_then_closes_recruitment(db):
    offer = make_offer(total_budget=50_000)
    for _ in range(2):
        buy(offer, make_user(), units=20)
    refused("budget_exhausted", buy, offer, make_user(), units=11)
    buy(offer, make_user(), units=10)
    offer.project.refresh_from_db()
    assert offer.project.amount_raised == 50_000 and offer.project.is_budget_exhausted
    refused("budget_exhausted", buy, offer, make_user(), units=1)


def test_a_stale_reservation_is_released_lazily_when_the_budget_seems_full(db):
    offer = make_offer(total_budget=20_000)
    stale = buy(offer, make_user(), units=20)
    refused("budget_exhausted", buy, offer, make_user(), units=1)
    later = stale.expires_at
    order = buy(offer, make_user(), units=20, now=later)
    stale.refresh_from_db()
    assert stale.status == OrderStatus.EXPIRED and order.status == OrderStatus.PENDING
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 20_000


def test_a_stale_reservation_is_released_lazily_when_the_stock_seems_gone(offer):
    listing = offer.limited(unit_price=1000, stock_limit=2)
    stale = buy(offer, make_user(), listing=listing, units=2)
    order = buy(offer, make_user(), listing=listing, units=2, now=stale.expires_at)
    assert order.units == 2
    assert Listing.objects.get(pk=listing.pk).units_sold == 2


@pytest.mark.parametrize("units", [0, -1, 1001, 10**12, "3", 2.5, None, True])
def test_bad_units_are_refused_and_nothing_is_reserved(offer, user, units):
    refused("invalid_units", buy, offer, user, units=units)
    assert not Order.objects.exists()
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 0


@pytest.mark.parametrize("key", ["", "x" * 65])
def test_a_missing_or_oversized_idempotency_key_is_refused(offer, user, key):
    with pytest.raises(PurchaseError):
        order_create(
            supporter=user,
            listing_id=offer.standard.pk,
            round_id=offer.round.pk,
            units=1,
            idempotency_key=key,
            now=DURING,
        )


def test_the_same_idempotency_key_returns_the_same_order(offer, user):
    first = buy(offer, user, units=2, key="same-key-123456789")
    again = buy(offer, user, units=5, key="same-key-123456789")
    assert again.pk == first.pk and again.units == 2
    assert Order.objects.count() == 1
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 2000


def test_a_refused_order_leaves_every_counter_as_it_was(db):
    offer = make_offer(total_budget=1_000)
    listing = offer.limited(unit_price=2000, stock_limit=10)
    refused("budget_exhausted", buy, offer, make_user(), listing=listing, units=1)
    listing.refresh_from_db()
    assert listing.units_sold == 0
    assert ShopRound.objects.get(shop=offer.shop).amount_raised == 0
    assert Round.objects.get(pk=offer.round.pk).amount_raised == 0


def test_a_replayed_form_finds_its_order_even_when_the_budget_has_run_out_since(db):
    offer = make_offer(total_budget=3_000)
    user = make_user()
    first = buy(offer, user, units=3, key="replayed-key-12345")
    # The budget is gone now (this order took it), and the same form comes again.
    again = buy(offer, user, units=3, key="replayed-key-12345")
    assert again.pk == first.pk
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 3_000


# --- The conditional UPDATEs themselves ----------------------------------------------------
# The checks above answer first on rows read a moment before; these run the UPDATEs with
# those checks out of the way, as when a staff suspension or the last yen lands in between.


def reserve(offer, *, listing=None, units=1, now=DURING) -> str:
    """Run the four UPDATEs in a transaction that is always rolled back; say how it went."""
    listing = listing or offer.standard
    terms = order_terms(listing_id=listing.pk, round_id=offer.round.pk, units=units)
    with transaction.atomic():
        try:
            _reserve(terms, now)
        except PurchaseError as error:
            return error.code
        finally:
            transaction.set_rollback(True)
    return "reserved"


@pytest.mark.parametrize(
    ("moment", "suspended"),
    [
        (OPENING - datetime.timedelta(microseconds=1), False),
        (OPENING, False),
        (OPENING + datetime.timedelta(days=14) - datetime.timedelta(microseconds=1), False),
        (OPENING + datetime.timedelta(days=14), False),
        (DURING, True),
    ],
)
def test_the_round_update_agrees_with_open_at_to_the_microsecond(offer, moment, suspended):
    Round.objects.filter(pk=offer.round.pk).update(suspended=suspended)
    is_open = Round.objects.open_at(moment).filter(pk=offer.round.pk).exists()
    assert reserve(offer, now=moment) == ("reserved" if is_open else "round_closed")


def test_the_budget_update_takes_the_last_yen_and_not_one_more(db):
    offer = make_offer(total_budget=5_000)
    assert reserve(offer, units=5) == "reserved"
    assert reserve(offer, units=6) == "budget_exhausted"


def test_the_stock_update_sells_the_last_unit_and_not_one_more(offer):
    listing = offer.limited(stock_limit=4)
    assert reserve(offer, listing=listing, units=4) == "reserved"
    assert reserve(offer, listing=listing, units=5) == "sold_out"
    Listing.objects.filter(pk=listing.pk).update(is_active=False)
    assert reserve(offer, listing=listing, units=1) == "sold_out"


def test_the_shop_round_update_refuses_a_shop_no_longer_approved(offer):
    assert reserve(offer) == "reserved"
    type(offer.shop).objects.filter(pk=offer.shop.pk).update(status=ShopStatus.WITHDRAWN)
    assert reserve(offer) == "shop_not_in_round"


def synchronous_commit_after(call) -> str:
    """The transaction's synchronous_commit once `call` has run in it (then rolled back)."""
    from django.db import connection

    with transaction.atomic():
        call()
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            value = cursor.fetchone()[0]
        transaction.set_rollback(True)  # takes any SET LOCAL back with it
    return value


# PostgreSQL's path only: SQLite has no disk flush to skip.
@pytest.mark.parametrize(
    "reservation_path", [pytest.param("database", marks=pytest.mark.postgres)], indirect=True
)
def test_a_reservation_commits_without_waiting_for_the_disk_and_a_payment_waits(
    offer, user, settings, reservation_path
):
    from purchases.services import PaymentResult, payment_record

    order = services._order_create_in_python(
        user, offer.standard.pk, offer.round.pk, 1, "to-be-paid-0001", DURING
    )
    result = PaymentResult("sandbox", order.code, "sbx_1", order.amount, True, DURING)
    assert synchronous_commit_after(lambda: payment_record(result=result, now=DURING)) == "on"
    assert synchronous_commit_after(lambda: buy(offer, make_user())) == "off"
    settings.KAIKA_ORDER_ASYNC_COMMIT = False
    assert synchronous_commit_after(lambda: buy(offer, make_user())) == "on"


def test_the_order_handed_back_is_the_order_stored(offer, user):
    listing = offer.limited(unit_price=3000, premium_applies=True, stock_limit=None)
    order = buy(offer, user, listing=listing, units=3, now=DURING)
    stored = Order.objects.get(pk=order.pk)
    fields = [f.attname for f in Order._meta.concrete_fields]
    assert {f: getattr(order, f) for f in fields} == {f: getattr(stored, f) for f in fields}
    assert (order.amount, order.tickets_value, order.status) == (9000, 13500, "pending")
    assert not order._state.adding
    order.staff_note = "saved as an existing row"
    order.save(update_fields=["staff_note"])
    assert Order.objects.count() == 1


def test_the_personal_caps_count_exactly_what_live_at_counts(offer, user):
    """Every status, and a pending order on each side of its expiry, in two rounds and two
    listings: what the caps say the supporter holds is Order.objects.live_at's sum."""
    other_listing = offer.limited()
    later = Round.objects.create(
        project=offer.project,
        number=2,
        shop_applications_close_at=OPENING,
        opens_at=OPENING + datetime.timedelta(days=60),
        closes_at=OPENING + datetime.timedelta(days=70),
        usage_starts_on=datetime.date(2032, 1, 1),
        usage_ends_on=datetime.date(2032, 3, 1),
    )
    units = iter(range(1, 1000))
    for status in OrderStatus.values:
        for listing in (offer.standard, other_listing):
            for round_ in (offer.round, later):
                for expires in (DURING - SECOND, DURING, DURING + SECOND):
                    n = next(units)
                    Order.objects.create(
                        supporter=user,
                        project=offer.project,
                        round=round_,
                        shop=offer.shop,
                        listing=listing,
                        units=n,
                        unit_price=1000,
                        amount=n * 1000,
                        tickets_value=n * 1500,
                        status=status,
                        idempotency_key=f"held-{n:04d}-{status}",
                        created_at=OPENING,
                        expires_at=expires,
                    )
    buy(offer, make_user(), units=7)  # someone else's order counts for nobody else
    live = Order.objects.live_at(DURING).filter(supporter=user)
    held_units = sum(live.filter(listing=offer.standard).values_list("units", flat=True))
    held_amount = sum(live.filter(round=offer.round).values_list("amount", flat=True))
    assert held_units and held_amount

    Listing.objects.filter(pk=offer.standard.pk).update(per_person_limit=held_units)
    error = refused("over_listing_person_limit", buy, offer, user)
    assert error.params == {"limit": held_units, "held": held_units}
    Listing.objects.filter(pk=offer.standard.pk).update(per_person_limit=None)
    Project.objects.filter(pk=offer.project.pk).update(max_per_person_per_round=held_amount)
    error = refused("over_person_round_max", buy, offer, user)
    assert error.params["held"] == f"{held_amount:,}"


def test_on_postgresql_a_reservation_is_one_statement(offer, user, reservation_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        buy(offer, user)
    reserving = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    if reservation_path == "database":
        # Before it only the residents-only eligibility read, which locks nothing and runs
        # outside the reservation's transaction (see _order_create_in_database).
        eligibility, reserve = reserving
        assert "residents_residentcode" in eligibility and "FOR UPDATE" not in eligibility
        assert "kaika_order_reserve" in reserve, reserving
    else:  # lock, the terms (2), the totals, INSERT, four UPDATEs
        assert len(reserving) == 9 and not any("kaika_order_reserve" in q for q in reserving)
