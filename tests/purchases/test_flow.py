"""The supporter's way through: shop page -> confirmation -> sandbox card page -> result ->
email -> tickets, with the double click, the bad inputs and the forged results."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from purchases.models import (
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundReason,
    RefundStatus,
    Ticket,
)
from purchases.payments import RESULT_SALT, sandbox_secret
from purchases.sandbox import CARD_DECLINED, CARD_SUCCEEDS, CARD_TIMES_OUT
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round
from tests.purchases.helpers import confirm_url, form_fields, order_via_confirmation
from tests.url_catalogue import PROFILE_POST

pytestmark = pytest.mark.django_db
PRIVATE = "no-store"


def pay(client, order: Order, card: str):
    """Through our pay URL to the sandbox page, typing the card there."""
    to_sandbox = client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    assert to_sandbox.status_code == 302 and "/sandbox-pay/" in to_sandbox.url
    assert client.get(to_sandbox.url).status_code == 200
    return client.post(to_sandbox.url, {"card_number": card, "expiry": "12/30", "cvc": "123"})


def test_the_public_shop_page_offers_a_plain_get_form_to_the_confirmation(client, live_offer):
    html = client.get(live_offer["shop"].get_absolute_url()).content.decode()
    form = re.search(r'<form method="get" action="([^"]+)"', html)
    assert form and form.group(1) == reverse("purchases:order_confirm")
    assert "csrfmiddlewaretoken" not in html


def test_a_supporter_backs_a_shop_pays_and_gets_tickets_and_an_email(
    user_client, user, live_offer, mailoutbox, django_capture_on_commit_callbacks
):
    page = user_client.get(confirm_url(live_offer, 2))
    html = page.content.decode()
    assert PRIVATE in page["Cache-Control"]
    assert "2,000" in html and "3,000" in html  # amount, tickets with the 50% premium
    assert user.full_name in html and user.street_address in html
    with django_capture_on_commit_callbacks(execute=True):
        response, _fields = order_via_confirmation(user_client, live_offer, 2)
        order = Order.objects.get(supporter=user)
        assert response.url == reverse("purchases:order_pay", kwargs={"order_code": order.code})
        back = pay(user_client, order, "4242 4242 4242 4242")
        assert back.status_code == 302 and back.url.startswith("http://testserver/orders/payment/")
        done = user_client.get(back.url)
    assert done.status_code == 302 and done.url == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    tickets = list(order.tickets.all())
    assert [t.face_value for t in tickets] == [500] * 6
    completion = user_client.get(done.url)
    assert PRIVATE in completion["Cache-Control"]
    assert "ご支援ありがとうございます" in completion.content.decode()
    assert [m.subject for m in mailoutbox] == [f"[kaika] ご支援ありがとうございます ({order.code})"]
    assert "3,000" in mailoutbox[0].body
    my_tickets = user_client.get(reverse("purchases:ticket_list")).content.decode()
    assert tickets[0].get_absolute_url() in my_tickets and "3,000" in my_tickets
    detail = user_client.get(tickets[0].get_absolute_url())
    # Usable from after the round: the ticket says so (the shop's QR code shows up then).
    assert "利用期間前" in detail.content.decode() and PRIVATE in detail["Cache-Control"]


def test_a_double_clicked_confirmation_creates_one_order(user_client, user, live_offer):
    _response, fields = order_via_confirmation(user_client, live_offer)
    again = user_client.post(reverse("purchases:order_confirm"), fields)
    assert again.status_code == 302
    assert Order.objects.filter(supporter=user).count() == 1
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 2000


def test_a_declined_card_keeps_the_order_and_another_card_pays_it(
    user_client, user, live_offer, mailoutbox, django_capture_on_commit_callbacks
):
    """As on Stripe's page: the decline is said on the card page, which stays open for
    another card; the reservation holds, and the order is paid once."""
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    declined = pay(user_client, order, CARD_DECLINED)
    html = declined.content.decode()
    assert declined.status_code == 200 and "別のカードでお試しください" in html
    assert f'value="{CARD_DECLINED}"' not in html  # never echoed into the form
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 2000
    # Back to the order page, "pay" again: the same open checkout, another card.
    with django_capture_on_commit_callbacks(execute=True):
        back = pay(user_client, order, CARD_SUCCEEDS)
        user_client.get(back.url)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6
    assert PaymentAttempt.objects.filter(order=order).count() == 1
    assert [m.subject for m in mailoutbox] == [f"[kaika] ご支援ありがとうございます ({order.code})"]


def test_a_timed_out_payment_leaves_the_order_pending_and_leads_back_to_it(
    user_client, user, live_offer
):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    response = pay(user_client, order, CARD_TIMES_OUT)
    assert response.status_code == 504
    html = response.content.decode()
    assert f'href="http://testserver{order.get_absolute_url()}"' in html
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert "お支払いへ進む" in user_client.get(order.get_absolute_url()).content.decode()


def test_a_paid_order_never_shows_a_card_page_again(
    user_client, user, live_offer, django_capture_on_commit_callbacks
):
    """Back to the card page after paying, a reload of it, a second tab, an old pay link:
    the sandbox's completed checkout takes no second payment, and the order page says why."""
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    to_card = user_client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    second_tab = Client()
    second_tab.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        done = user_client.post(
            to_card.url, {"card_number": CARD_SUCCEEDS, "expiry": "12/30", "cvc": "123"}
        )
        user_client.get(done.url)
    for browser in (user_client, second_tab):
        back = browser.get(to_card.url)  # the Back button
        assert back.status_code == 200 and "お支払いは完了しています" in back.content.decode()
        again = browser.post(
            to_card.url, {"card_number": CARD_SUCCEEDS, "expiry": "12/30", "cvc": "123"}
        )
        assert again.status_code == 200 and "二度行うことはできません" in again.content.decode()
        old_link = browser.get(
            reverse("purchases:order_pay", kwargs={"order_code": order.code}), follow=True
        )
        html = old_link.content.decode()
        assert old_link.redirect_chain[-1][0] == order.get_absolute_url()
        assert "お支払い済みです" in html and "お支払いへ進む" not in html
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6
    assert not Refund.objects.exists()


def test_two_tabs_pressing_pay_get_the_same_checkout(user_client, user, live_offer):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    url = reverse("purchases:order_pay", kwargs={"order_code": order.code})
    assert user_client.get(url).url == user_client.get(url).url
    assert PaymentAttempt.objects.filter(order=order).count() == 1


def test_a_checkout_being_created_in_another_tab_is_not_doubled(user_client, user, live_offer):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    PaymentAttempt.objects.create(
        order=order, provider="sandbox", idempotency_key="in-flight", created_at=timezone.now()
    )
    url = reverse("purchases:order_pay", kwargs={"order_code": order.code})
    response = user_client.get(url, follow=True)
    assert "別の画面でお支払いの準備をしています" in response.content.decode()
    assert PaymentAttempt.objects.filter(order=order).count() == 1
    # One that never finished (its process died) is given up after two minutes.
    PaymentAttempt.objects.filter(order=order).update(
        created_at=timezone.now() - datetime.timedelta(minutes=3)
    )
    assert "/sandbox-pay/" in user_client.get(url).url
    assert PaymentAttempt.objects.get(idempotency_key="in-flight").error == "abandoned"


def test_a_card_page_ends_with_the_reservation(user_client, user, live_offer):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    to_card = user_client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    PaymentAttempt.objects.filter(order=order).update(expires_at=timezone.now())
    ended = user_client.post(
        to_card.url, {"card_number": CARD_SUCCEEDS, "expiry": "12/30", "cvc": "123"}
    )
    assert ended.status_code == 410 and "この画面ではお支払いできません" in ended.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and not order.tickets.exists()


def test_a_card_number_that_is_not_a_test_card_is_refused_and_not_echoed(
    user_client, user, live_offer
):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    response = pay(user_client, order, "5555 6666 7777 8888")
    assert response.status_code == 200
    assert "5555" not in response.content.decode()


def result_for(order, *, ok=True, amount=None, at=None, ref="sbx_test") -> str:
    return signing.dumps(
        {
            "o": order.code,
            "a": order.amount if amount is None else amount,
            "ref": ref,
            "ok": ok,
            "at": (at or timezone.now()).isoformat(),
        },
        key=sandbox_secret(),
        salt=RESULT_SALT,
        compress=True,
    )


def deliver(client, result: str):
    return client.get(reverse("purchases:payment_return"), {"result": result})


def pending_order(client, user, offer) -> Order:
    order_via_confirmation(client, offer)
    return Order.objects.get(supporter=user)


def test_a_forged_or_tampered_result_is_rejected(client, user_client, user, live_offer):
    order = pending_order(user_client, user, live_offer)
    forged = signing.dumps(
        {"o": order.code, "a": order.amount, "ref": "x", "ok": True, "at": "2031-01-01T00:00"},
        key="not-the-providers-secret",
        salt=RESULT_SALT,
    )
    genuine = result_for(order)
    payload, _sep, signature = genuine.rpartition(":")
    tampered = genuine.replace(genuine[1:6], genuine[1:6][::-1], 1)
    for result in (forged, tampered, "", "garbage", f"{payload}:{'A' * len(signature)}"):
        assert deliver(client, result).status_code == 400
    # A genuine result for a different amount (the amount is part of what is checked).
    assert deliver(client, result_for(order, amount=1)).status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and not Ticket.objects.exists()


def test_a_result_delivered_twice_issues_tickets_once(user_client, user, live_offer):
    order = pending_order(user_client, user, live_offer)
    result = result_for(order)
    assert deliver(user_client, result).status_code == 302
    assert deliver(Client(), result).status_code == 200  # no session: a neutral page
    assert deliver(user_client, result).status_code == 302
    assert Ticket.objects.filter(order=order).count() == 6


def test_a_failure_arriving_after_the_success_changes_nothing(user_client, user, live_offer):
    order = pending_order(user_client, user, live_offer)
    deliver(user_client, result_for(order, ref="sbx_a"))
    deliver(user_client, result_for(order, ok=False, ref="sbx_b"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6


def test_a_second_payment_of_a_paid_order_is_kept_for_a_refund_and_the_order_stays_paid(
    user_client, user, live_offer, mailoutbox, django_capture_on_commit_callbacks
):
    """The card page paid twice (another tab, the Back button): the order keeps its tickets,
    each extra payment is listed for staff to refund, and the supporter is told exactly that,
    once per payment, never that the order failed."""
    order = pending_order(user_client, user, live_offer)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(user_client, result_for(order, ref="sbx_first"))
        deliver(user_client, result_for(order, ref="sbx_second"))
        deliver(user_client, result_for(order, ref="sbx_second"))  # delivered again
        deliver(user_client, result_for(order, ref="sbx_third"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.payment_reference == "sbx_first"
    assert order.tickets.count() == 6
    refunds = order.refunds.order_by("pk")
    assert [(r.payment_reference, r.reason, r.status) for r in refunds] == [
        ("sbx_second", RefundReason.DUPLICATE, RefundStatus.DONE),
        ("sbx_third", RefundReason.DUPLICATE, RefundStatus.DONE),
    ]
    assert all(r.provider_refund_id.startswith("sbx_re_") for r in refunds)
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == order.amount
    assert [m.subject for m in mailoutbox] == [
        f"[kaika] ご支援ありがとうございます ({order.code})",
        f"[kaika] 重複したお支払いについて ({order.code})",
        f"[kaika] 重複したお支払いについて ({order.code})",
    ]
    assert "お申込とチケットはそのまま有効です" in mailoutbox[1].body
    assert "成立していません" not in mailoutbox[1].body
    page = user_client.get(order.get_absolute_url()).content.decode()
    assert "ご支援ありがとうございます" in page and "重複した分の金額は返金いたします" in page
    assert "2,000円を" in page and "に返金しました" in page
    assert "無効のままです" not in page


def test_every_order_email_links_to_the_orders_page(
    user_client, user, live_offer, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.KAIKA_SITE_URL = "https://kaika.example.jp"
    order = pending_order(user_client, user, live_offer)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(user_client, result_for(order))
    link = f"https://kaika.example.jp/mypage/orders/{order.code}/"
    assert len(mailoutbox) == 1 and link in mailoutbox[0].body


def test_a_late_success_never_revives_an_expired_order(user_client, user, live_offer):
    from purchases.services import orders_expire

    order = pending_order(user_client, user, live_offer)
    orders_expire(now=order.expires_at)
    deliver(user_client, result_for(order, at=order.expires_at))
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and not order.tickets.exists()
    refund = order.refunds.get()
    assert (refund.payment_reference, refund.reason) == ("sbx_test", RefundReason.LATE)
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 0


def test_a_success_after_the_deadline_is_not_accepted_even_before_the_cron(
    user_client, user, live_offer
):
    order = pending_order(user_client, user, live_offer)
    deliver(user_client, result_for(order, at=order.expires_at))
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and order.refunds.get().reason == RefundReason.LATE
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 0


@pytest.mark.parametrize("field", ["listing", "round"])
def test_an_id_beyond_the_databases_range_is_a_400_not_a_500(user_client, live_offer, field):
    """Found by the form fuzzer: 2**63 passed the form and failed inside PostgreSQL."""
    fields = {
        "listing": live_offer["listing"].pk,
        "round": live_offer["round"].pk,
        "units": 1,
        "idempotency_key": "k" * 20,
        field: 2**63,
    }
    assert user_client.post(reverse("purchases:order_confirm"), fields).status_code == 400
    assert not Order.objects.exists()


@pytest.mark.parametrize("units", ["0", "-1", "abc", "1e3", "99999999999999999999", ""])
def test_bad_units_in_the_confirmation_are_a_400_and_create_nothing(user_client, live_offer, units):
    url = confirm_url(live_offer).replace("units=2", f"units={units}")
    assert user_client.get(url).status_code == 400
    fields = {
        "listing": live_offer["listing"].pk,
        "round": live_offer["round"].pk,
        "units": units,
        "idempotency_key": "k" * 20,
    }
    assert user_client.post(reverse("purchases:order_confirm"), fields).status_code == 400
    assert not Order.objects.exists()


def test_a_tampered_listing_or_round_id_creates_nothing(user_client, live_offer):
    other = make_project()
    other_round = make_round(other, number=1)
    base = {"listing": live_offer["listing"].pk, "units": 1, "idempotency_key": "k" * 20}
    assert (
        user_client.post(reverse("purchases:order_confirm"), {**base, "listing": 999999})
    ).status_code == 404
    response = user_client.post(
        reverse("purchases:order_confirm"), {**base, "round": other_round.pk}
    )
    assert response.status_code == 200 and "この期には参加していません" in response.content.decode()
    assert not Order.objects.exists()


def test_the_confirmation_needs_a_complete_profile_and_a_verified_email(client, live_offer):
    client.force_login(make_user(profile=False))
    assert reverse("supporters:profile_edit") in client.get(confirm_url(live_offer)).url
    unverified = make_user(verified=False)
    client.force_login(make_user())
    # A form filled in while verified, posted by someone who is not (yet).
    fields = form_fields(client.get(confirm_url(live_offer)).content.decode())
    client.force_login(unverified)
    assert client.get(confirm_url(live_offer)).url == reverse("account_email")
    assert client.post(reverse("purchases:order_confirm"), fields).url == reverse("account_email")
    assert not Order.objects.exists()
    EmailAddress.objects.filter(user=unverified).update(verified=True)
    assert client.post(reverse("purchases:order_confirm"), fields).status_code == 302
    assert Order.objects.filter(supporter=unverified).count() == 1
    client.logout()
    assert "/accounts/login/" in client.get(confirm_url(live_offer)).url


def test_the_profile_form_brings_the_supporter_back_to_the_whole_confirmation(client, live_offer):
    """The confirmation's query string (listing, round, units) survives the profile form."""
    client.force_login(make_user(profile=False))
    url = confirm_url(live_offer, units=3)
    to_profile = client.get(url).url
    assert to_profile.startswith(reverse("supporters:profile_edit") + "?next=")
    back = client.post(to_profile, PROFILE_POST)
    assert back.status_code == 302 and back.url == url
    page = client.get(back.url)
    assert page.status_code == 200 and form_fields(page.content.decode())["units"] == "3"


def test_another_supporters_order_or_ticket_by_code_is_404(user_client, user, live_offer):
    order = pending_order(user_client, user, live_offer)
    deliver(user_client, result_for(order))
    ticket = order.tickets.first()
    client = Client()
    client.force_login(make_user())
    for url in (
        order.get_absolute_url(),
        reverse("purchases:order_pay", kwargs={"order_code": order.code}),
        reverse("purchases:order_cancel", kwargs={"order_code": order.code}),
        ticket.get_absolute_url(),
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("purchases:order_cancel", args=[order.code]), {"confirm": "1"}
        ).status_code
        == 404
    )
    assert client.get("/mypage/orders/1/").status_code == 404  # never a sequential id


def test_the_sandbox_page_refuses_a_forged_session(client):
    assert client.get("/sandbox-pay/not-a-signed-token/").status_code == 400


def test_the_confirmation_page_says_when_the_budget_is_reached(user_client, live_offer):
    Project.objects.filter(pk=live_offer["project"].pk).update(total_budget=1000)
    html = user_client.get(confirm_url(live_offer, 2)).content.decode()
    assert "予算の上限に達した" in html and "申し込んでお支払いへ進む" not in html


def test_public_pages_say_recruitment_closed_when_the_budget_is_reached(client, live_offer):
    project = live_offer["project"]
    Project.objects.filter(pk=project.pk).update(amount_raised=project.total_budget)
    for url in ("/", live_offer["shop"].get_absolute_url(), live_offer["round"].get_absolute_url()):
        html = client.get(url).content.decode()
        assert "予算の上限に達したため、支援の募集を終了しました" in html, url
    assert (
        "purchases/orders/confirm"
        not in client.get(live_offer["shop"].get_absolute_url()).content.decode()
    )
    assert (
        'action="/orders/confirm/"'
        not in client.get(live_offer["shop"].get_absolute_url()).content.decode()
    )


def test_the_sandbox_card_page_answers_only_where_the_sandbox_is_the_provider(
    user_client, user, live_offer, settings
):
    """It gives tickets for test cards: with another provider configured, its address is a
    404, asked at each request (so neither a test's order nor an import's decides)."""
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    to_card = user_client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    assert user_client.get(to_card.url).status_code == 200
    settings.KAIKA_PAYMENT_GATEWAY = settings.STRIPE_GATEWAY
    card = {"card_number": CARD_SUCCEEDS, "expiry": "12/30", "cvc": "123"}
    assert user_client.get(to_card.url).status_code == 404
    assert user_client.post(to_card.url, card).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
