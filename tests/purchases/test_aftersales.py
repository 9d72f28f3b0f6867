"""After the sale: cancellation, staff refunds, expiry, tickets at the till, My page."""

import datetime
import re
from io import StringIO

import pytest
import segno
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Listing, Project, ShopRound, ShopStatus
from purchases.models import Order, OrderStatus, Ticket, TicketStatus, TicketUse
from purchases.services import (
    PaymentResult,
    PurchaseError,
    order_refund,
    payment_record,
    ticket_redeem,
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
    ticket = order.tickets.first()
    ticket_redeem(shop=offer.shop, code=ticket.code, amount=100, operator=None, now=at_till(offer))
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


def test_partial_use_keeps_the_balance_and_every_use_is_recorded(offer, user):
    ticket = paid(offer, user).tickets.first()
    ticket_redeem(shop=offer.shop, code=ticket.code, amount=120, operator=None, now=at_till(offer))
    use = ticket_redeem(
        shop=offer.shop, code=ticket.code, amount=380, operator=None, now=at_till(offer)
    )
    assert use.balance_after == 0 and Ticket.objects.get(pk=ticket.pk).balance == 0
    assert TicketUse.objects.filter(ticket=ticket).count() == 2
    with pytest.raises(PurchaseError) as caught:
        ticket_redeem(
            shop=offer.shop, code=ticket.code, amount=1, operator=None, now=at_till(offer)
        )
    assert caught.value.code == "insufficient_balance"
    assert ShopRound.objects.get(shop=offer.shop).tickets_used_amount == 500


@pytest.mark.parametrize(
    ("days", "code"),
    [
        (-1, "ticket_not_in_usage_period"),
        (0, None),
        (107, None),
        (108, "ticket_not_in_usage_period"),
    ],
)
def test_tickets_are_used_only_in_the_usage_period(offer, user, days, code):
    ticket = paid(offer, user).tickets.first()
    # usage: 2031-09-15 .. 2031-12-31 (107 days later)
    call = dict(
        shop=offer.shop, code=ticket.code, amount=10, operator=None, now=at_till(offer, days)
    )
    if code is None:
        ticket_redeem(**call)
    else:
        with pytest.raises(PurchaseError) as caught:
            ticket_redeem(**call)
        assert caught.value.code == code


def test_a_ticket_is_refused_at_another_shop(offer, user):
    from tests.projects.factories import make_shop

    other = make_shop(offer.project, now=DURING - datetime.timedelta(days=10))
    ticket = paid(offer, user).tickets.first()
    with pytest.raises(PurchaseError) as caught:
        ticket_redeem(shop=other, code=ticket.code, amount=10, operator=None, now=at_till(offer))
    assert caught.value.code == "ticket_wrong_shop"
    assert Ticket.objects.get(pk=ticket.pk).balance == 500


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", True])
def test_bad_amounts_are_refused_at_the_till(offer, user, amount):
    ticket = paid(offer, user).tickets.first()
    with pytest.raises(PurchaseError):
        ticket_redeem(
            shop=offer.shop, code=ticket.code, amount=amount, operator=None, now=at_till(offer)
        )


def test_the_redemption_screen_reads_the_qr_url_and_the_balance_drops(offer, user):
    operator = make_user()
    offer.shop.operators.add(operator)
    ticket = paid(offer, user).tickets.first()
    client = Client()
    client.force_login(operator)
    url = reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk})
    scanned = f"https://kaika.example.jp/mypage/tickets/{ticket.code}/"
    # The views use the real clock: move the usage period around today.
    today = datetime.date.today()
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=1),
    )
    response = client.post(url, {"code": scanned, "amount": "200"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).balance == 300
    assert client.post(url, {"code": ticket.code.lower(), "amount": "301"}).status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).balance == 300
    # The supporter sees the balance drop on My page.
    supporter = Client()
    supporter.force_login(user)
    html = supporter.get(ticket.get_absolute_url()).content.decode()
    assert "300" in html and "200" in html


def redemption_screen(offer):
    """The shop's operator on its redemption screen, with today in the usage period."""
    operator = make_user()
    offer.shop.operators.add(operator)
    client = Client()
    client.force_login(operator)
    today = datetime.date.today()
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=1),
    )
    return client, reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk})


def test_a_redemption_sent_twice_takes_the_amount_once_and_says_so(offer, user):
    ticket = paid(offer, user).tickets.first()
    client, url = redemption_screen(offer)
    page = client.get(url).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    fields = {"code": ticket.code, "amount": "200", "idempotency_key": key}
    first = client.post(url, fields, follow=True).content.decode()
    again = client.post(url, fields, follow=True).content.decode()
    assert "200円を利用しました" in first
    assert "すでに受け付けています" in again and "二重には引いていません" in again
    assert Ticket.objects.get(pk=ticket.pk).balance == 300
    assert TicketUse.objects.filter(ticket=ticket).count() == 1
    # The next purchase at the till is a new screen, with a new key.
    next_key = re.search(r'name="idempotency_key" value="([^"]+)"', again).group(1)
    assert next_key != key
    client.post(url, {**fields, "idempotency_key": next_key})
    assert Ticket.objects.get(pk=ticket.pk).balance == 100


def test_a_shop_no_longer_approved_takes_no_ticket(offer, user):
    ticket = paid(offer, user).tickets.first()
    type(offer.shop).objects.filter(pk=offer.shop.pk).update(status=ShopStatus.WITHDRAWN)
    offer.shop.refresh_from_db()
    with pytest.raises(PurchaseError) as refused:
        ticket_redeem(
            shop=offer.shop, code=ticket.code, amount=100, operator=None, now=at_till(offer)
        )
    assert refused.value.code == "shop_not_redeeming"
    assert Ticket.objects.get(pk=ticket.pk).balance == 500


def test_the_tickets_qr_code_opens_the_shops_redemption_screen_with_the_code(offer, user):
    ticket = paid(offer, user).tickets.first()
    supporter = Client()
    supporter.force_login(user)
    page = supporter.get(ticket.get_absolute_url()).content.decode()
    redeem = reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk})
    expected = segno.make(f"http://testserver{redeem}?code={ticket.code}", error="m")
    assert expected.svg_inline(scale=5, border=2, title=ticket.code) in page
    # Scanned by the shop's operator, it opens the screen with the code filled in.
    client, url = redemption_screen(offer)
    assert url == redeem
    assert f'value="{ticket.code}"' in client.get(f"{url}?code={ticket.code}").content.decode()


def test_someone_who_does_not_operate_the_shop_gets_404_on_its_redemption_screen(offer, user):
    client = Client()
    client.force_login(make_user())
    url = reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk})
    assert client.get(url).status_code == 404


def test_my_page_lists_orders_and_tickets_privately(offer, user):
    order = paid(offer, user)
    client = Client()
    client.force_login(user)
    for name in ("purchases:order_list", "purchases:ticket_list", "supporters:mypage"):
        response = client.get(reverse(name))
        assert "no-store" in response["Cache-Control"]
    assert order.get_absolute_url() in client.get(reverse("purchases:order_list")).content.decode()
