"""One balance per supporter and shop (the wallet), and the till taking an amount from it:
earliest expiry first, split over the tickets (each keeping its own TicketUse), only what is
usable today, once per confirmation, refused with a sentence the operator can read out."""

import datetime
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum

from projects.models import Round, ShopRound, ShopStatus
from purchases.models import (
    CODE_ALPHABET,
    Redemption,
    Ticket,
    TicketState,
    TicketUse,
    Wallet,
    WalletBalance,
)
from purchases.services import (
    PaymentResult,
    PurchaseError,
    order_refund,
    payment_record,
    redemption_terms,
    wallet_redeem,
)
from tests.conftest import make_user
from tests.projects.factories import make_round, make_shop
from tests.purchases.helpers import DURING, buy

pytestmark = pytest.mark.django_db


def paid(offer, supporter, units=1):
    order = buy(offer, supporter, units=units)
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING),
        now=DURING,
    )
    order.refresh_from_db()
    return order


def at_till(offer, days=0):
    """Noon, `days` after the first day of the round's usage period (2031-09-15)."""
    day = offer.round.usage_starts_on + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(12), DURING.tzinfo)


def wallet_of(offer, user) -> Wallet:
    return Wallet.objects.get(supporter=user, shop=offer.shop)


def take(offer, code, amount, days=0, **extra):
    return wallet_redeem(
        shop=offer.shop, code=code, amount=amount, operator=None, now=at_till(offer, days), **extra
    )


def refused(call) -> PurchaseError:
    with pytest.raises(PurchaseError) as caught:
        call()
    return caught.value


def balances(wallet) -> list[int]:
    return list(wallet.tickets().order_by("pk").values_list("balance", flat=True))


# --- Opening wallets --------------------------------------------------------------------


def test_paying_opens_one_wallet_per_supporter_and_shop_whatever_the_tickets(offer, user):
    paid(offer, user, units=3)  # nine 500-yen tickets
    paid(offer, user, units=1)  # three more, same shop
    wallet = wallet_of(offer, user)
    assert Wallet.objects.filter(supporter=user).count() == 1
    assert wallet.tickets().count() == 12
    other_shop = make_shop(offer.project, now=DURING - datetime.timedelta(days=10))
    order = buy(offer, user, listing=other_shop.listings.get(is_standard=True))
    payment_record(result=PaymentResult("sandbox", order.code, "x", 1000, True, DURING), now=DURING)
    someone = make_user()
    paid(offer, someone)
    codes = list(Wallet.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 3
    # 28 symbols of 31: about 138 bits, as a ticket's code.
    assert all(re.fullmatch(rf"W-[{CODE_ALPHABET}]{{28}}", code) for code in codes)


def test_an_unpaid_order_opens_no_wallet(offer, user):
    buy(offer, user)
    assert not Wallet.objects.exists()


# --- Taking an amount -------------------------------------------------------------------


def test_an_amount_is_split_over_tickets_with_one_ticket_use_each(offer, user):
    paid(offer, user)  # three 500-yen tickets
    wallet = wallet_of(offer, user)
    redemption = take(offer, wallet.code, 1200)
    assert (redemption.amount, redemption.balance_after, redemption.repeated) == (1200, 300, False)
    assert balances(wallet) == [0, 0, 300]
    parts = list(redemption.parts.order_by("ticket_id").values_list("amount", "balance_after"))
    assert parts == [(500, 0), (500, 0), (200, 300)]
    assert TicketUse.objects.count() == 3  # what settlement counts, per ticket
    assert ShopRound.objects.get(shop=offer.shop).tickets_used_amount == 1200
    assert take(offer, wallet.code, 300).balance_after == 0
    assert balances(wallet) == [0, 0, 0]


def later_round_tickets(offer, order, *, ends_on):
    """Move an order's tickets to a second round of the project whose usage period ends on
    `ends_on` (the usage periods of a project's rounds overlap)."""
    second = make_round(
        offer.project,
        number=2,
        usage_starts_on=offer.round.usage_starts_on,
        usage_ends_on=ends_on,
    )
    Ticket.objects.filter(order=order).update(round=second)
    return second


def test_the_earliest_expiry_is_used_first_then_the_order_of_issue(offer, user):
    first = paid(offer, user)  # issued first, usable until 12/31
    second = paid(offer, user)
    later_round_tickets(offer, second, ends_on=datetime.date(2031, 10, 31))
    wallet = wallet_of(offer, user)
    redemption = take(offer, wallet.code, 700)
    taken = {use.ticket_id: use.amount for use in redemption.parts.all()}
    soonest = list(second.tickets.order_by("pk").values_list("pk", flat=True))
    assert taken == {soonest[0]: 500, soonest[1]: 200}
    assert not TicketUse.objects.filter(ticket__order=first).exists()


def test_only_the_tickets_usable_today_are_taken_and_counted(offer, user):
    paid(offer, user)  # usable from 9/15
    later = paid(offer, user)
    second = later_round_tickets(offer, later, ends_on=datetime.date(2032, 3, 31))
    Round.objects.filter(pk=second.pk).update(usage_starts_on=datetime.date(2032, 1, 1))
    wallet = wallet_of(offer, user)
    error = refused(lambda: take(offer, wallet.code, 1501))
    assert error.code == "over_usable_balance"
    assert error.message == "本日使える残額(1,500円)を超える額は使えません。"
    take(offer, wallet.code, 1500)
    assert not TicketUse.objects.filter(ticket__order=later).exists()
    error = refused(lambda: take(offer, wallet.code, 1))
    assert error.code == "wallet_not_yet"
    assert "2032年1月1日〜2032年3月31日" in error.message


@pytest.mark.parametrize(
    ("days", "code", "says"),
    [
        (-1, "wallet_not_yet", "利用期間は2031年9月15日〜2031年12月31日です"),
        (0, None, ""),
        (107, None, ""),
        (108, "wallet_expired", "利用期間(2031年9月15日〜2031年12月31日)が終わった"),
    ],
)
def test_a_wallet_is_used_only_in_the_usage_period_and_the_refusal_says_it(
    offer, user, days, code, says
):
    paid(offer, user)
    wallet = wallet_of(offer, user)
    if code is None:
        assert take(offer, wallet.code, 10, days).amount == 10
    else:
        error = refused(lambda: take(offer, wallet.code, 10, days))
        assert (error.code, says in error.message) == (code, True)
        assert sum(balances(wallet)) == 1500


def test_a_used_up_wallet_and_a_refunded_one_say_why(offer, user):
    paid(offer, user)
    wallet = wallet_of(offer, user)
    take(offer, wallet.code, 1500)
    error = refused(lambda: take(offer, wallet.code, 1))
    assert (error.code, error.message) == (
        "wallet_used_up",
        "このお店で使える残額はありません(すべて利用済みです)。",
    )
    someone = make_user()
    order = paid(offer, someone)
    order_refund(order=order, now=DURING)
    error = refused(lambda: take(offer, wallet_of(offer, someone).code, 1))
    assert error.code == "wallet_void"


def test_an_unknown_code_and_another_shops_wallet_are_refused(offer, user):
    paid(offer, user)
    wallet = wallet_of(offer, user)
    assert refused(lambda: take(offer, "W-" + "2" * 28, 10)).code == "wallet_not_found"
    assert refused(lambda: take(offer, "T-" + "2" * 28, 10)).code == "wallet_not_found"
    other = make_shop(offer.project, now=DURING - datetime.timedelta(days=10))
    error = refused(
        lambda: wallet_redeem(
            shop=other, code=wallet.code, amount=10, operator=None, now=at_till(offer)
        )
    )
    assert (error.code, error.message) == (
        "wallet_wrong_shop",
        "このチケットは、このお店では使えません。",
    )
    assert sum(balances(wallet)) == 1500


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", True])
def test_bad_amounts_are_refused_at_the_till(offer, user, amount):
    paid(offer, user)
    assert refused(lambda: take(offer, wallet_of(offer, user).code, amount)).code == (
        "invalid_amount"
    )


def test_a_shop_no_longer_approved_takes_nothing(offer, user):
    paid(offer, user)
    type(offer.shop).objects.filter(pk=offer.shop.pk).update(status=ShopStatus.WITHDRAWN)
    offer.shop.refresh_from_db()
    assert refused(lambda: take(offer, wallet_of(offer, user).code, 100)).code == (
        "shop_not_redeeming"
    )
    assert not Redemption.objects.exists()


def test_the_same_confirmation_twice_takes_the_amount_once(offer, user):
    paid(offer, user)
    wallet = wallet_of(offer, user)
    first = take(offer, wallet.code, 700, idempotency_key="one-confirmation-page")
    again = take(offer, wallet.code, 700, idempotency_key="one-confirmation-page")
    assert again.pk == first.pk and again.repeated
    assert sum(balances(wallet)) == 800
    # Even past the balance or the usage period: the answer is the use already made.
    late = take(offer, wallet.code, 700, days=200, idempotency_key="one-confirmation-page")
    assert late.pk == first.pk
    take(offer, wallet.code, 700, idempotency_key="the-next-confirmation")
    assert sum(balances(wallet)) == 100


def test_the_confirmation_s_terms_write_nothing(offer, user):
    paid(offer, user)
    wallet = wallet_of(offer, user)
    terms = redemption_terms(shop=offer.shop, code=wallet.code, amount=1200, now=at_till(offer))
    assert (terms.amount, terms.balance_after, terms.wallet) == (1200, 300, wallet)
    assert [part for _ticket, part in terms.parts] == [500, 500, 200]
    assert sum(balances(wallet)) == 1500 and not Redemption.objects.exists()
    error = refused(
        lambda: redemption_terms(shop=offer.shop, code=wallet.code, amount=2000, now=at_till(offer))
    )
    assert error.code == "over_usable_balance"


# --- A ticket's own code, printed before wallets ------------------------------------------


def test_a_printed_ticket_s_code_still_pays_but_only_from_that_ticket(offer, user):
    """The decision: an old ticket code keeps working at the till, for its own balance alone.
    It may have been handed to someone else, so it never reaches the rest of the wallet."""
    first = paid(offer, user)
    second = paid(offer, user)
    later_round_tickets(offer, first, ends_on=datetime.date(2031, 10, 31))
    printed = second.tickets.order_by("pk").last()  # the latest expiry, issued last
    redemption = take(offer, printed.code, 300)
    assert [use.ticket_id for use in redemption.parts.all()] == [printed.pk]
    assert redemption.wallet == wallet_of(offer, user) and redemption.balance_after == 200
    error = refused(lambda: take(offer, printed.code, 201))
    assert error.message == "本日使える残額(200円)を超える額は使えません。"
    take(offer, printed.code, 200)
    assert refused(lambda: take(offer, printed.code, 1)).code == "wallet_used_up"
    # The wallet still holds the other five tickets.
    assert sum(balances(wallet_of(offer, user))) == 2500


# --- What My page shows ---------------------------------------------------------------------


def test_the_balance_counts_what_is_usable_today_and_later_and_names_the_earliest_expiry(
    offer, user
):
    paid(offer, user)
    later = paid(offer, user)
    second = later_round_tickets(offer, later, ends_on=datetime.date(2032, 3, 31))
    Round.objects.filter(pk=second.pk).update(usage_starts_on=datetime.date(2032, 1, 10))
    wallet = wallet_of(offer, user)
    take(offer, wallet.code, 600)

    def balance(day):
        return WalletBalance.of(wallet.tickets().select_related("round"), day)

    today = balance(datetime.date(2031, 9, 15))
    assert (today.usable_today, today.total) == (900, 2400)
    assert today.earliest_expiry == datetime.date(2031, 12, 31)
    assert today.why_not == ""
    between = balance(datetime.date(2032, 1, 5))  # the first expired, the second not yet
    assert (between.usable_today, between.total, between.why_not) == (0, 1500, "not_yet")
    assert between.period == (datetime.date(2032, 1, 10), datetime.date(2032, 3, 31))
    assert between.earliest_expiry == datetime.date(2032, 3, 31)
    after = balance(datetime.date(2032, 4, 1))
    assert (after.usable_today, after.total, after.why_not) == (0, 0, TicketState.EXPIRED)


def test_a_ticket_s_state_follows_its_balance_and_its_usage_period(offer, user):
    paid(offer, user)
    ticket = Ticket.objects.select_related("round").first()
    start = offer.round.usage_starts_on
    assert ticket.state_on(start - datetime.timedelta(days=1)) == TicketState.NOT_YET
    assert ticket.state_on(start) == TicketState.USABLE
    assert ticket.state_on(offer.round.usage_ends_on + datetime.timedelta(1)) == "expired"
    ticket.balance = 0
    assert ticket.state_on(start) == TicketState.USED_UP
    assert TicketState.USED_UP.label == "利用済み"


# --- Wallets for the tickets issued before them --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_opens_wallets_for_existing_tickets_and_logs_their_uses(offer, user):
    paid(offer, user)
    paid(offer, make_user())
    wallet_redeem(
        shop=offer.shop,
        code=Ticket.objects.filter(supporter=user).first().code,
        amount=120,
        operator=None,
        now=at_till(offer),
    )
    executor = MigrationExecutor(connection)
    before = [("purchases", "0008_wallets_and_redemptions")]
    executor.migrate(before)
    # As it was before wallets: tickets and their uses, nothing else.
    old = executor.loader.project_state(before).apps
    old.get_model("purchases", "TicketUse").objects.update(redemption=None)
    old.get_model("purchases", "Redemption").objects.all().delete()
    old.get_model("purchases", "Wallet").objects.all().delete()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    wallets = Wallet.objects.order_by("supporter_id")
    assert [(w.supporter_id, w.shop_id) for w in wallets] == sorted(
        set(Ticket.objects.values_list("supporter_id", "shop_id"))
    )
    first_ticket = Ticket.objects.filter(supporter=user).order_by("issued_at").first()
    assert wallets.get(supporter=user).created_at == first_ticket.issued_at
    (redemption,) = Redemption.objects.all()
    assert (redemption.wallet.supporter_id, redemption.amount) == (user.pk, 120)
    assert redemption.parts.aggregate(n=Sum("amount"))["n"] == 120
    # And the wallet works at the till.
    take(offer, wallets.get(supporter=user).code, 1380)
    assert not Ticket.objects.filter(supporter=user, balance__gt=0).exists()
