"""A lottery round in a real browser: see the committed hash, apply from a shop page, be
drawn, pay before the deadline, and see each state on My page."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lottery.models import Allotment
from lottery.services import lottery_draw
from projects.models import Round
from purchases.models import OrderStatus
from tests.conftest import make_user
from tests.e2e.conftest import check_screen
from tests.e2e.test_backing_journey import log_in
from tests.lottery.helpers import make_lottery_offer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_apply_see_the_hash_be_drawn_and_pay_before_the_deadline(live_server, page_for):
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    offer = make_lottery_offer(opening=now - hour, committed_at=now - 2 * hour)
    supporter = make_user(email="lottery@example.jp")
    base = live_server.url

    page = page_for("phone")
    page.goto(f"{base}/projects/{offer.project.slug}/rounds/{offer.round.number}/lottery/")
    expect(page.locator("code.hash").first).to_have_text(offer.lottery.seed_hash)
    assert offer.lottery.seed not in page.content()
    check_screen(page, "lottery-detail-phone")

    log_in(page, base, supporter.email)
    page.goto(f"{base}/shops/{offer.shop.pk}/")
    form = page.locator("form.order-form").nth(1)  # the limited listing
    form.locator("input[name=units]").fill("2")
    form.get_by_role("button", name="抽選に申し込む").click()
    page.wait_for_url("**/mypage/lottery/apply/**")
    check_screen(page, "lottery-apply-phone")
    expect(page.locator(f"input[name=units_{offer.limited.pk}]")).to_have_value("2")
    page.get_by_role("button", name="抽選に申し込む").click()
    page.wait_for_url("**/mypage/lottery/")
    expect(page.locator(".badge")).to_have_text("受付中")

    # The window closes; the cron draws.
    Round.objects.filter(pk=offer.round.pk).update(
        closes_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    lottery_draw(lottery=offer.lottery, now=timezone.now())
    page.reload()
    expect(page.locator(".badge")).to_have_text("当選")
    check_screen(page, "lottery-won-phone")
    page.get_by_role("link", name="お支払いへ").click()
    page.get_by_role("link", name="お支払いへ進む").click()
    page.wait_for_url("**/sandbox-pay/**")
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=expiry]", "12/30")
    page.fill("input[name=cvc]", "123")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    allotment = Allotment.objects.select_related("order").get()
    assert allotment.order.status == OrderStatus.PAID
    assert allotment.units == 2
    page.goto(f"{base}/mypage/lottery/")
    expect(page.locator(".badge")).to_have_text("支払済み")
    # The seed is public now (a new URL: this browser keeps the page it saw before the draw
    # for its max-age, capped at the closing second, which this test moved).
    page.goto(
        f"{base}/projects/{offer.project.slug}/rounds/{offer.round.number}/lottery/?after=draw"
    )
    assert offer.lottery.seed in page.content()
