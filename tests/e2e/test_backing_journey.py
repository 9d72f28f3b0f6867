"""The heart of the product in a real browser: back a shop at the opening, pay in the sandbox,
get the email and the tickets with QR codes, use part of one at the shop's till, see the
balance drop."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from purchases.models import Ticket, Wallet
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import check_screen
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base: str, email: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mypage/")


def test_back_a_shop_pay_get_tickets_and_use_one_at_the_till(live_server, page_for):
    today = timezone.localdate()
    project = make_project()
    # A round open now whose tickets can already be used (to try the till in the same test).
    make_round(
        project,
        number=1,
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=60),
    )
    operator = make_user(email="till@example.jp")
    shop = make_shop(project, operators=[operator], name="カフェかめやま")
    supporter = make_user(email="backer@example.jp")

    page = page_for("phone")
    log_in(page, live_server.url, supporter.email)
    page.goto(f"{live_server.url}/shops/{shop.pk}/")
    check_screen(page, "shop-detail-phone")
    form = page.locator("form.order-form").first
    form.locator("input[name=units]").fill("2")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/orders/confirm/**")
    check_screen(page, "order-confirm-phone")
    body = page.content()
    assert "2,000" in body and "3,000" in body  # ¥2,000 backs ¥3,000 of tickets
    assert "山田" in body  # the supporter's own name, on a never-cached page
    page.click("main form[method=post] button[type=submit]")

    page.wait_for_url("**/sandbox-pay/**")
    check_screen(page, "sandbox-checkout-phone")
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=expiry]", "12/30")
    page.fill("input[name=cvc]", "123")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    check_screen(page, "payment-complete-phone")

    tickets = Ticket.objects.filter(supporter=supporter).order_by("pk")
    assert sum(t.face_value for t in tickets) == 3000
    assert any("backer@example.jp" in m.to for m in mail.outbox)
    wallet = Wallet.objects.get(supporter=supporter, shop=shop)

    # One QR code for the shop, whatever the number of tickets.
    page.goto(f"{live_server.url}/mypage/tickets/")
    expect(page.locator(".qr svg")).to_have_count(1)
    check_screen(page, "ticket-phone")

    till = page_for("desktop")
    log_in(till, live_server.url, operator.email)
    till.goto(f"{live_server.url}/shops/manage/{shop.pk}/redeem/")
    check_screen(till, "redeem-desktop")
    till.fill("input[name=code]", wallet.code)
    till.fill("input[name=amount]", "200")
    till.click("main form button[type=submit]")
    expect(till.locator("h1")).to_have_text("利用の確認")
    till.get_by_role("button", name="確定").click()
    expect(till.locator(".messages")).to_contain_text("200円を利用しました")
    check_screen(till, "redeem-done-desktop")

    assert sum(t.balance for t in tickets.all()) == 3000 - 200
    page.reload()
    assert "2,800" in page.content()
