"""Leaving with tickets still to spend: the deletion page says how much is given up at which
shop, and deletes the account only once the supporter confirms they give it up."""

import datetime

import pytest
from django.db.models import Sum
from django.urls import reverse

from projects.models import Round
from purchases.models import Ticket, TicketStatus
from purchases.services import PaymentResult, payment_record
from tests.conftest import PASSWORD
from tests.purchases.helpers import DURING, buy, make_offer

pytestmark = pytest.mark.django_db
DELETE = {"password": PASSWORD, "confirm": "on"}


def paid(offer, supporter, units=1):
    order = buy(offer, supporter, units=units)
    payment_record(
        result=PaymentResult(
            "sandbox", order.code, f"sbx_{order.code}", order.amount, True, DURING
        ),
        now=DURING,
    )
    return order


def balance(order) -> int:
    return Ticket.objects.filter(order=order).aggregate(n=Sum("balance"))["n"]


def test_the_deletion_page_shows_the_balance_left_per_shop_and_asks_to_give_it_up(
    user_client, user
):
    bakery, cafe, closed = make_offer(), make_offer(), make_offer()
    first, second = paid(bakery, user, units=2), paid(bakery, user)
    at_cafe = paid(cafe, user)
    # Spent, voided, or past its usage period: nothing left to give up there.
    spent, *rest = Ticket.objects.filter(order=at_cafe)
    Ticket.objects.filter(pk=spent.pk).update(balance=0)
    Ticket.objects.filter(pk__in=[t.pk for t in rest[:1]]).update(status=TicketStatus.VOID)
    paid(closed, user)
    Round.objects.filter(pk=closed.round.pk).update(
        usage_starts_on=datetime.date(2020, 1, 1), usage_ends_on=datetime.date(2020, 3, 31)
    )
    bakery_left = balance(first) + balance(second)
    cafe_left = sum(t.balance for t in rest[1:])

    page = user_client.get(reverse("supporters:data_rights")).content.decode()
    assert "まだ使えるチケットの残額があります" in page
    assert f'<td>{bakery.shop.name}</td><td class="figure">{bakery_left:,}円</td>' in page
    if cafe_left:
        assert f'<td>{cafe.shop.name}</td><td class="figure">{cafe_left:,}円</td>' in page
    assert closed.shop.name not in page
    assert f"合計{bakery_left + cafe_left:,}円" in page
    assert 'name="give_up_balance"' in page

    refused = user_client.post(reverse("supporters:data_rights"), DELETE)
    assert refused.status_code == 200
    assert "チケットの残額を放棄することを確認してください" in refused.content.decode()
    user.refresh_from_db()
    assert user.is_active

    done = user_client.post(reverse("supporters:data_rights"), {**DELETE, "give_up_balance": "on"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert not user.is_active


def test_with_nothing_left_to_spend_the_page_asks_nothing_more(user_client, user):
    offer = make_offer()
    order = paid(offer, user)
    Ticket.objects.filter(order=order).update(balance=0)

    page = user_client.get(reverse("supporters:data_rights")).content.decode()
    assert "チケットの残額" not in page
    assert 'name="give_up_balance"' not in page

    done = user_client.post(reverse("supporters:data_rights"), DELETE)
    assert done.status_code == 302
    user.refresh_from_db()
    assert not user.is_active


def test_the_balance_is_listed_in_english_too(user, client):
    offer = make_offer()
    order = paid(offer, user)
    client.force_login(user)
    page = client.get("/en/mypage/data/").content.decode()
    assert "You still have ticket balances to spend" in page
    assert f"¥{balance(order):,}" in page
