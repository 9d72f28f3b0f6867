"""After the sale: cancellation, staff refunds, expiry, My page. The till: test_wallet.py
(the service) and test_till.py (its screens)."""

import datetime
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Listing, Project, ShopRound
from purchases.models import Order, OrderStatus, TicketStatus, Wallet
from purchases.services import (
    PaymentResult,
    PurchaseError,
    order_refund,
    payment_record,
    wallet_redeem,
)
from tests.conftest import login_staff, make_user
from tests.purchases.helpers import DURING, buy

pytestmark = pytest.mark.django_db


def paid(offer, supporter, units=2) -> Order:
    order = buy(offer, supporter, units=units)
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING),
        now=DURING,
    )
    order.refresh_from_db()
    return order


def at_till(offer, days=0):
    day = offer.round.usage_starts_on + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(12), DURING.tzinfo)


def test_payment_issues_tickets_in_the_denomination_and_fills_the_figures(offer, user):
    order = paid(offer, user, units=3)  # 3,000 yen -> 4,500 yen of tickets
    tickets = list(order.tickets.all())
    assert [t.face_value for t in tickets] == [500] * 9
    assert all(len(t.code) == 30 and t.label == offer.standard.title for t in tickets)
    assert len({t.code for t in tickets}) == 9
    shop_round = ShopRound.objects.get(shop=offer.shop, round=offer.round)
    assert shop_round.tickets_issued_amount == 4500 and shop_round.supporters_count == 1
    paid(offer, user, units=1)  # the same person again: still one supporter
    shop_round.refresh_from_db()
    assert shop_round.supporters_count == 1
    project = Project.objects.get(pk=offer.project.pk)
    assert (project.supporters_count, project.amount_raised) == (1, 4000)


def test_a_remainder_below_the_denomination_becomes_one_smaller_ticket(offer, user):
    listing = offer.limited(unit_price=1300, premium_applies=False, stock_limit=None)
    order = buy(offer, user, listing=listing, units=1)
    payment_record(result=PaymentResult("sandbox", order.code, "r", 1300, True, DURING), now=DURING)
    assert [t.face_value for t in order.tickets.all()] == [500, 500, 300]


def test_supporter_cancels_a_pending_order_and_gets_an_email(
    offer, user, mailoutbox, django_capture_on_commit_callbacks
):
    order = buy(offer, user, units=4)
    client = Client()
    client.force_login(user)
    url = reverse("purchases:order_cancel", kwargs={"order_code": order.code})
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"confirm": "1"}).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 0
    assert Listing.objects.get(pk=offer.standard.pk).units_sold == 0
    assert "取り消しました" in mailoutbox[0].subject
    client.post(url, {"confirm": "1"})  # again: nothing more is released
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 0


def test_a_paid_order_cannot_be_cancelled_by_the_supporter(offer, user):
    order = paid(offer, user)
    client = Client()
    client.force_login(user)
    client.post(reverse("purchases:order_cancel", args=[order.code]), {"confirm": "1"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_staff_refund_in_admin_releases_the_budget_and_voids_the_tickets(
    offer, user, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    order = paid(offer, user)
    client = Client()
    login_staff(client, staff_user)
    url = reverse("admin:purchases_order_changelist")
    chosen = {"action": "refund_orders", "_selected_action": [order.pk]}
    # Irreversible: the first answer asks for the reason and changes nothing.
    first = client.post(url, chosen)
    assert first.status_code == 200 and "返金の理由" in first.content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**chosen, "apply": "1", "reason": "店舗の閉店のため"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert staff_user.email in order.staff_note and "店舗の閉店のため" in order.staff_note
    history = LogEntry.objects.get(object_id=str(order.pk))
    assert history.user == staff_user and "店舗の閉店のため" in history.change_message
    assert set(order.tickets.values_list("status", "balance")) == {(TicketStatus.VOID, 0)}
    project = Project.objects.get(pk=offer.project.pk)
    assert (project.amount_raised, project.supporters_count) == (0, 0)
    shop_round = ShopRound.objects.get(shop=offer.shop, round=offer.round)
    assert (shop_round.tickets_issued_amount, shop_round.units_sold) == (0, 0)
    assert "返金" in mailoutbox[-1].subject


def test_a_refund_is_refused_once_a_ticket_has_been_used(offer, user):
    order = paid(offer, user)
    wallet = Wallet.objects.get(supporter=user, shop=offer.shop)
    wallet_redeem(shop=offer.shop, code=wallet.code, amount=100, operator=None, now=at_till(offer))
    with pytest.raises(PurchaseError) as caught:
        order_refund(order=order, now=at_till(offer))
    assert caught.value.code == "tickets_used"


def test_expire_orders_releases_stale_reservations_only(offer, user):
    stale = buy(offer, user, units=5, now=DURING)
    fresh = buy(offer, make_user(), units=2, now=DURING + datetime.timedelta(minutes=10))
    # The command uses the real clock: one deadline just passed, one far ahead.
    Order.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    Order.objects.filter(pk=fresh.pk).update(expires_at=DURING + datetime.timedelta(days=3650))
    out = StringIO()
    call_command("expire_orders", stdout=out)
    assert "released 1" in out.getvalue()
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == (OrderStatus.EXPIRED, OrderStatus.PENDING)
    assert Project.objects.get(pk=offer.project.pk).amount_raised == 2000


def test_my_page_lists_orders_and_tickets_privately(offer, user):
    order = paid(offer, user)
    client = Client()
    client.force_login(user)
    for name in ("purchases:order_list", "purchases:ticket_list", "supporters:mypage"):
        response = client.get(reverse(name))
        assert "no-store" in response["Cache-Control"]
    assert order.get_absolute_url() in client.get(reverse("purchases:order_list")).content.decode()
