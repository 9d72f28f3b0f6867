"""Backing a shop with Stripe as the provider, in a real browser: the confirmation's answer
takes the browser to Stripe Checkout (the stand-in's hosted page, on its own origin), a
declined card, another that goes through, then kaika's "confirming" page until Stripe's
webhook (posted by the stand-in a moment after the redirect, like Stripe) has landed."""

import pytest
from django.utils.csp import CSP
from playwright.sync_api import expect

from purchases.models import Order, OrderStatus, PaymentEvent
from tests.conftest import make_user, use_stripe_standin
from tests.e2e.conftest import check_screen
from tests.e2e.test_backing_journey import log_in
from tests.projects.factories import make_project, make_round, make_shop
from tests.stripe_standin import WEBHOOK_PATH, StripeStandIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_a_shop_and_pay_on_stripe_checkout(live_server, page_for, settings):
    webhook = live_server.url + WEBHOOK_PATH
    with StripeStandIn(webhook_url=webhook, delivery_delay=2) as standin:
        use_stripe_standin(settings, standin)
        # What the settings do for https://checkout.stripe.com (STRIPE_CHECKOUT_ORIGIN).
        settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": [CSP.SELF, standin.url]}
        project = make_project()
        make_round(project, number=1)
        shop = make_shop(project, name="カフェかめやま")
        supporter = make_user(email="stripe-backer@example.jp")

        page = page_for("phone")
        log_in(page, live_server.url, supporter.email)
        page.goto(f"{live_server.url}/shops/{shop.pk}/")
        form = page.locator("form.order-form").first
        form.locator("input[name=units]").fill("2")
        form.locator("button[type=submit]").click()
        page.wait_for_url("**/orders/confirm/**")
        page.click("main form[method=post] button[type=submit]")

        page.wait_for_url(f"{standin.url}/c/pay/**")
        expect(page.locator("main")).to_contain_text("¥2,000")
        page.fill("input[name=cardnumber]", "4000 0000 0000 0002")
        page.fill("input[name=exp-date]", "12 / 34")
        page.fill("input[name=cvc]", "123")
        page.click("button[type=submit]")
        expect(page.locator("[role=alert]")).to_contain_text("Your card was declined.")
        page.fill("input[name=cardnumber]", "4242 4242 4242 4242")
        page.fill("input[name=exp-date]", "12 / 34")
        page.fill("input[name=cvc]", "123")
        page.click("button[type=submit]")

        # Back at kaika before Stripe's notice: confirming, not paid.
        page.wait_for_url("**/mypage/orders/*/payment/")
        expect(page.locator("main")).to_contain_text("確認中")
        check_screen(page, "payment-confirming-phone")
        # The page's script opens the order once the webhook has landed.
        order = Order.objects.get(supporter=supporter)
        page.wait_for_url(f"**{order.get_absolute_url()}", timeout=20_000)
        expect(page.locator("h1")).to_have_text("ご支援ありがとうございます")
        check_screen(page, "payment-complete-stripe-phone")

        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert sum(t.face_value for t in order.tickets.all()) == 3000
        assert [status for _, status in standin.deliveries] == [200]
        assert PaymentEvent.objects.get().order == order
