"""My page's tickets: one card per shop with what can be used today and one QR code for it,
the tickets listed under it as the record, and a used-up ticket that says so (defect 2)."""

import datetime

import pytest
import segno
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from purchases.models import Ticket, Wallet
from purchases.services import PaymentResult, payment_record
from tests.projects.factories import make_round, make_shop
from tests.purchases.helpers import DURING, buy

pytestmark = pytest.mark.django_db


def pay(offer, supporter, *, units=1, shop=None):
    listing = (shop or offer.shop).listings.get(is_standard=True)
    order = buy(offer, supporter, units=units, listing=listing)
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING),
        now=DURING,
    )
    return order


def usable_today(offer):
    today = timezone.localdate()
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=30),
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_used_up_ticket_says_used_and_shows_no_qr_code(offer, user):
    """Defect 2: a ticket with 0 yen left said 利用可能 and showed its QR code."""
    usable_today(offer)
    pay(offer, user)
    ticket = Ticket.objects.order_by("pk").first()
    Ticket.objects.filter(pk=ticket.pk).update(balance=0)
    client = signed_in(user)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "利用済み" in page
    assert "利用可能" not in page
    assert "<svg" not in page
    listing = client.get(reverse("purchases:ticket_list")).content.decode()
    row = listing[listing.index(ticket.get_absolute_url()) :].split("</tr>")[0]
    assert "利用済み" in row and "利用可能" not in row
    # The order's page lists it the same way.
    order_page = client.get(ticket.order.get_absolute_url()).content.decode()
    line = order_page[order_page.index(ticket.get_absolute_url()) :].split("</li>")[0]
    assert "利用済み" in line and "利用可能" not in line


def test_nine_tickets_at_one_shop_are_one_card_with_one_qr_code(offer, user):
    usable_today(offer)
    pay(offer, user, units=3)  # nine 500-yen tickets
    wallet = Wallet.objects.get(supporter=user)
    page = signed_in(user).get(reverse("purchases:ticket_list")).content.decode()
    assert page.count("<svg") == 1
    till = reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk})
    expected = segno.make(f"http://testserver{till}?code={wallet.code}", error="m")
    assert expected.svg_inline(scale=5, border=2, title=wallet.code) in page
    assert wallet.code in page  # to type when the camera cannot read it
    assert "4,500円" in page  # usable today, and the total
    for ticket in Ticket.objects.all():
        assert ticket.get_absolute_url() in page
    # A ticket's own page is a record, without a code of its own to show at the till.
    detail = signed_in(user).get(Ticket.objects.first().get_absolute_url()).content.decode()
    assert "<svg" not in detail and "利用可能" in detail


def test_the_card_names_the_earliest_expiry(offer, user):
    usable_today(offer)
    pay(offer, user)
    offer.round.refresh_from_db()
    expiry = offer.round.usage_ends_on
    page = signed_in(user).get(reverse("purchases:ticket_list")).content.decode()
    assert f"{expiry.year}年{expiry.month}月{expiry.day}日" in page


def test_a_wallet_with_nothing_usable_shows_no_qr_code_and_says_why(offer, user):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    used_up, expired, not_yet = (
        make_shop(offer.project, now=DURING - 10 * day, name=name)
        for name in ("使い切った店", "期限切れの店", "期間前の店")
    )
    usable_today(offer)
    for shop in (used_up, expired, not_yet):
        pay(offer, user, shop=shop)
    Ticket.objects.filter(shop=used_up).update(balance=0)
    ended = make_round(
        offer.project, number=2, usage_starts_on=today - 60 * day, usage_ends_on=today - day
    )
    later = make_round(
        offer.project, number=3, usage_starts_on=today + 10 * day, usage_ends_on=today + 40 * day
    )
    Ticket.objects.filter(shop=expired).update(round=ended)
    Ticket.objects.filter(shop=not_yet).update(round=later)
    page = signed_in(user).get(reverse("purchases:ticket_list")).content.decode()
    assert "<svg" not in page
    cards = {
        shop.name: page[page.index(f'id="wallet-{shop.pk}"') :].split("</section>")[0]
        for shop in (used_up, expired, not_yet)
    }
    assert "すべて利用済みです。使える残額はありません。" in cards["使い切った店"]

    def date(d):
        return f"{d.year}年{d.month}月{d.day}日"

    assert f"利用期間({date(today - day)}まで)が終わったため" in cards["期限切れの店"]
    assert (
        f"利用期間前のため、本日は使えません。利用期間は{date(today + 10 * day)}〜"
        f"{date(today + 40 * day)}です。"
    ) in cards["期間前の店"]
    assert "1,500円" in cards["期間前の店"]  # not usable today, still in the total


def test_the_ticket_list_shows_the_uses_at_the_till_once_each(offer, user):
    from purchases.services import wallet_redeem

    usable_today(offer)
    pay(offer, user)
    wallet = Wallet.objects.get(supporter=user)
    wallet_redeem(shop=offer.shop, code=wallet.code, amount=1200, operator=None, now=timezone.now())
    page = signed_in(user).get(reverse("purchases:ticket_list")).content.decode()
    history = page[page.index("利用履歴") :].split("</section>")[0]
    assert history.count("<li>") == 1 and "1,200円" in history and "300円" in history
