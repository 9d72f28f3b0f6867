"""Backing a shop with Stripe as the provider, in a real browser: the confirmation's answer
takes the browser to Stripe Checkout (the stand-in's hosted page, on its own origin), a
declined card, another that goes through, then kaika's "confirming" page until Stripe's
webhook (posted by the stand-in a moment after the redirect, like Stripe) has landed. Then
the rest of the money's way (issue 20): paying again after a declined card reuses the open
session, a paid order refuses another payment however it is reached, and staff refund it in
admin through Stripe, after which reconciliation finds nothing to mend."""

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from playwright.sync_api import expect

from purchases.models import (
    Order,
    OrderStatus,
    PaymentEvent,
    Refund,
    RefundStatus,
    TicketStatus,
)
from purchases.services import ticket_face_values
from tests.conftest import PASSWORD, current_code, make_user, use_stripe_standin
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


def _pay_with(page, card: str) -> None:
    """The stand-in's hosted card form, filled and sent as a supporter would."""
    page.fill("input[name=cardnumber]", card)
    page.fill("input[name=exp-date]", "12 / 34")
    page.fill("input[name=cvc]", "123")
    page.click("button[type=submit]")


def _wait_until(condition, what: str, timeout: float = 20.0) -> None:
    """Poll `condition` (the live server and the stand-in's threads work meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.2)


def _all_events_delivered(standin: StripeStandIn) -> bool:
    with standin.lock:
        delivered = {event_id for event_id, status in standin.deliveries if status == 200}
        return all(event["id"] in delivered for event in standin.events)


def test_declined_card_reuse_paid_refused_then_staff_refund_and_reconcile(
    live_server, page_for, settings
):
    """Issue 20 end to end: a declined card keeps the order payable and "pay" again lands on
    the same open session; once paid, Back to the provider's page and kaika's old pay link
    (in this tab or another) are refused with the reason and nothing is charged twice; staff
    refund the order in admin through the provider, and reconciliation finds nothing to mend."""
    with StripeStandIn(webhook_url=live_server.url + WEBHOOK_PATH, delivery_delay=1) as standin:
        use_stripe_standin(settings, standin)
        settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": [CSP.SELF, standin.url]}
        project = make_project()
        make_round(project, number=1)
        shop = make_shop(project, name="カフェかめやま")
        supporter = make_user(email="stripe-again@example.jp")
        staff = make_user(email="refunds@example.jp", is_staff=True, is_superuser=True)

        # 1. Back a shop: the confirmation's answer opens the provider's hosted card page.
        page = page_for("phone")
        log_in(page, live_server.url, supporter.email)
        page.goto(f"{live_server.url}/shops/{shop.pk}/")
        form = page.locator("form.order-form").first
        form.locator("input[name=units]").fill("2")
        form.locator("button[type=submit]").click()
        page.wait_for_url("**/orders/confirm/**")
        page.click("main form[method=post] button[type=submit]")
        page.wait_for_url(f"{standin.url}/c/pay/**")
        hosted_url = page.url
        order = Order.objects.get(supporter=supporter)
        order_url = live_server.url + order.get_absolute_url()
        pay_url = live_server.url + reverse(
            "purchases:order_pay", kwargs={"order_code": order.code}
        )

        # 2. A declined card; Back to kaika's order, which still offers to pay; paying again
        #    opens the same session (kaika reuses the open one), where another card pays.
        _pay_with(page, "4000 0000 0000 0002")
        expect(page.locator("[role=alert]")).to_contain_text("Your card was declined.")
        page.get_by_role("link", name="Back").click()
        page.wait_for_url(order_url)
        expect(page.locator("h1")).to_have_text("お申込")
        page.get_by_role("link", name="お支払いへ進む").click()
        page.wait_for_url(f"{standin.url}/c/pay/**")
        assert page.url == hosted_url
        assert len(standin.sessions) == 1
        _pay_with(page, "4242 4242 4242 4242")

        # 3. Once Stripe's notice has landed, the order is paid and its tickets issued.
        page.wait_for_url(order_url, timeout=20_000)
        expect(page.locator("h1")).to_have_text("ご支援ありがとうございます")
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        issued = order.tickets.count()
        assert issued == len(ticket_face_values(3000, project.ticket_denomination))
        assert sum(t.face_value for t in order.tickets.all()) == 3000

        # 4. Back until the provider's page. The browser shows its copy of the page as it was
        #    left (the stand-in's page says nothing of caching, so Back does not ask again):
        #    paying on it once more is refused, as the session is over.
        for _ in range(6):
            if page.url.startswith(f"{standin.url}/c/pay/"):
                break
            page.go_back()
        assert page.url == hosted_url
        expect(page.locator("input[name=cardnumber]")).to_be_visible()
        _pay_with(page, "4242 4242 4242 4242")
        expect(page.locator("main")).to_contain_text("This Checkout Session is no longer active.")
        expect(page.locator("input[name=cardnumber]")).to_have_count(0)
        assert page.url == hosted_url
        paid_already = "この申込はお支払い済みです。同じ申込に二度お支払いいただくことはできません"
        page.goto(pay_url)
        page.wait_for_url(order_url)
        expect(page.locator("main")).to_contain_text(paid_already)
        expect(page.get_by_role("link", name="お支払いへ進む")).to_have_count(0)
        check_screen(page, "order-paid-refused-again-phone")
        other_tab = page.context.new_page()
        other_tab.goto(pay_url)
        other_tab.wait_for_url(order_url)
        expect(other_tab.locator("main")).to_contain_text(paid_already)
        expect(other_tab.get_by_role("link", name="お支払いへ進む")).to_have_count(0)
        assert len([s for s in standin.sessions.values() if s["status"] == "complete"]) == 1
        assert len(standin.payment_intents) == 1
        assert order.tickets.count() == issued

        # 5. Staff refund the order in admin (password and authenticator code).
        admin = page_for("desktop")
        admin.goto(f"{live_server.url}/accounts/login/?next=/admin/")
        admin.fill("input[name=login]", staff.email)
        admin.fill("input[name=password]", PASSWORD)
        admin.click("main form button[type=submit]")
        admin.wait_for_url("**/accounts/2fa/authenticate/**")
        admin.fill("input[name=code]", current_code())
        admin.click("main form button[type=submit]")
        admin.wait_for_url("**/admin/")
        admin.goto(f"{live_server.url}/admin/purchases/order/")
        admin.check(f"input[name=_selected_action][value='{order.pk}']")
        admin.select_option(
            "select[name=action]",
            label="選択したお支払い済みの申込を返金・取消する(チケットは無効)",
        )
        admin.click("button[name=index]")
        admin.fill("textarea[name=reason]", "支援者からの取消のご依頼")
        check_screen(admin, "admin-refund-confirm-desktop")
        admin.click("input[type=submit] >> nth=-1")
        expect(admin.locator(".messagelist")).to_contain_text(
            "1件を取り消し、返金を決済代行に依頼しました。"
        )

        # The refund went to Stripe (a task after the commit: immediate in the tests).
        _wait_until(
            lambda: Refund.objects.filter(order=order, status=RefundStatus.DONE).exists(),
            "the refund to be done",
        )
        refund = Refund.objects.get(order=order)
        assert refund.provider_refund_id in standin.refunds
        at_stripe = standin.refunds[refund.provider_refund_id]
        assert (at_stripe["status"], at_stripe["amount"]) == ("succeeded", 2000)
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED
        assert order.tickets.count() == issued
        assert set(order.tickets.values_list("status", flat=True)) == {TicketStatus.VOID}
        project.refresh_from_db()
        assert project.amount_raised == 0
        admin.goto(f"{live_server.url}/admin/purchases/refund/")
        row = admin.locator("#result_list tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(order.code)
        expect(row).to_contain_text("返金済み")
        check_screen(admin, "admin-refunds-done-desktop")
        # The supporter's order page says so, and still offers no payment.
        page.goto(order_url)
        expect(page.locator("main")).to_contain_text("2,000円を")
        expect(page.locator("main dl")).to_contain_text("返金済み")
        expect(page.get_by_role("link", name="お支払いへ進む")).to_have_count(0)

        # 6. Once Stripe's notices of the refund have landed, its record and kaika's agree.
        _wait_until(lambda: _all_events_delivered(standin), "Stripe's events to be delivered")
        assert {e["type"] for e in standin.events} >= {"refund.created", "charge.refunded"}
        out = StringIO()
        call_command("payments_reconcile", since=timezone.localdate().isoformat(), stdout=out)
        assert "nothing to mend" in out.getvalue(), out.getvalue()
        refund.refresh_from_db()
        assert refund.status == RefundStatus.DONE
        assert order.tickets.count() == issued
        assert PaymentEvent.objects.filter(type="checkout.session.completed").count() == 1
