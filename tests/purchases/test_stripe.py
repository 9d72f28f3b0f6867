"""Paying through Stripe Checkout, with the real `stripe` package against the stand-in on
loopback (tests/stripe_standin.py): the session kaika asks for, the hosted page, and the
webhooks that are the only source of truth, signed with Stripe's scheme and checked by the
library: forged, stale, replayed, late and out of order."""

import datetime
import json
import time

import pytest
import stripe
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ops.switches import maintenance_set
from projects.models import Project
from purchases.models import (
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
    PaymentEvent,
    PaymentEventOutcome,
    Refund,
    RefundReason,
    RefundStatus,
)
from purchases.payments import StripeGateway
from purchases.services import order_create, orders_expire
from tests.conftest import login_staff
from tests.stripe_standin import CARD_DECLINED, WEBHOOK_PATH, post_event

pytestmark = pytest.mark.django_db
_keys = iter(range(1, 10_000))


def pending_order(user, offer, units=2) -> Order:
    return order_create(
        supporter=user,
        listing_id=offer["listing"].pk,
        round_id=offer["round"].pk,
        units=units,
        idempotency_key=f"stripe-test-{next(_keys)}",
        now=timezone.now(),
    )


def start_payment(client, order, standin) -> dict:
    """Press "pay": kaika creates a Checkout Session and sends the browser to its page."""
    response = client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    assert response.status_code == 302, response
    session = standin.session_of(order.code)[-1]
    assert response.url == session["url"]
    return session


def paid(client, order, standin) -> dict:
    session = start_payment(client, order, standin)
    status, location = standin.pay(session["id"])
    assert status == 303, location
    return session


def event_of(standin, kind: str, session_id: str) -> dict:
    return next(
        e for e in standin.events if e["type"] == kind and e["data"]["object"]["id"] == session_id
    )


# --- The way through ------------------------------------------------------------------


def test_a_supporter_pays_on_stripe_and_gets_tickets_once_the_webhook_lands(
    user_client, user, live_offer, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)

    # What kaika asked Stripe for.
    request = stripe_standin.requests[-1]
    params = request["params"]
    attempt = PaymentAttempt.objects.get(order=order)
    assert request["key"] == attempt.idempotency_key and attempt.checkout_id == session["id"]
    assert attempt.status == PaymentAttemptStatus.OPEN
    assert params["mode"] == "payment" and params["client_reference_id"] == order.code
    item = params["line_items"][0]
    assert item["price_data"]["currency"] == "jpy"
    # Yen are a zero-decimal currency: 1,000 yen is unit_amount 1000, not 100000.
    assert (item["price_data"]["unit_amount"], item["quantity"]) == ("1000", "2")
    assert session["amount_total"] == order.amount == 2000
    assert params["allowed_payment_method_types"] == ["card"]
    status_url = reverse("purchases:order_payment_status", kwargs={"order_code": order.code})
    assert params["success_url"] == f"http://testserver{status_url}"
    assert params["cancel_url"] == f"http://testserver{order.get_absolute_url()}"
    assert params["metadata"] == {"order_code": order.code, "kaika_site": "127.0.0.1:8000"}
    assert "お支払い期限は" in params["custom_text"]["submit"]["message"]

    status, location = stripe_standin.pay(session["id"])
    assert status == 303 and location == f"http://testserver{status_url}"
    # Back at kaika before the webhook: the browser carries no result, so nothing is paid.
    waiting = user_client.get(location)
    html = waiting.content.decode()
    assert waiting.status_code == 200 and "確認中" in html and "payment-status.js" in html
    assert "no-store" in waiting["Cache-Control"]
    assert user_client.get(location + "?poll=1").status_code == 204
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and not order.tickets.exists()

    with django_capture_on_commit_callbacks(execute=True):
        (delivered,) = stripe_standin.deliver(Client())
    assert delivered.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == stripe_standin.sessions[session["id"]]["payment_intent"]
    assert sum(t.face_value for t in order.tickets.all()) == 3000
    assert [m.subject for m in mailoutbox] == [f"[kaika] ご支援ありがとうございます ({order.code})"]
    event = PaymentEvent.objects.get()
    assert (event.type, event.outcome, event.order, event.amount) == (
        "checkout.session.completed",
        PaymentEventOutcome.PAID,
        order,
        2000,
    )
    assert event.processed_at is not None
    attempt.refresh_from_db()
    assert attempt.status == PaymentAttemptStatus.COMPLETE
    # The return page now leads to the order, and so does the script's next question.
    assert user_client.get(location).url == order.get_absolute_url()
    assert user_client.get(location + "?poll=1").status_code == 302


def test_a_declined_card_leaves_the_session_open_for_another_card(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    status, page = stripe_standin.pay(session["id"], card=CARD_DECLINED)
    assert status == 200 and "Your card was declined." in page
    assert stripe_standin.declines[-1]["error"]["code"] == "card_declined"
    assert stripe_standin.events == []
    assert stripe_standin.pay(session["id"])[0] == 303
    stripe_standin.deliver(Client())
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


# --- Webhooks: only genuine events, each once --------------------------------------------


def test_a_forged_or_tampered_webhook_is_refused_and_changes_nothing(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    paid(user_client, order, stripe_standin)
    event = stripe_standin.outbox.pop()
    payload, signature = stripe_standin.delivery(event)
    client = Client()
    forged = [
        (payload, None),  # no signature
        (payload, "t=1,v1=0000"),  # made up
        stripe_standin.delivery(event, secret="whsec_someone_else"),  # another secret
        (payload.replace('"amount_total": 2000', '"amount_total": 2001'), signature),
        (payload.replace(order.code, "K-" + "2" * 26), signature),
        ("not json", signature),
    ]
    for body, header in forged:
        assert post_event(client, body, header).status_code == 400, header
    assert not PaymentEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert post_event(client, payload, signature).status_code == 200  # the genuine one


def test_a_webhook_signed_too_long_ago_is_refused(user_client, user, live_offer, stripe_standin):
    """A recorded delivery replayed after the library's tolerance (5 minutes)."""
    order = pending_order(user, live_offer)
    paid(user_client, order, stripe_standin)
    event = stripe_standin.outbox.pop()
    stale = stripe_standin.delivery(event, timestamp=int(time.time()) - 301)
    assert post_event(Client(), *stale).status_code == 400
    assert not PaymentEvent.objects.exists()
    fresh = stripe_standin.delivery(event, timestamp=int(time.time()) - 240)
    assert post_event(Client(), *fresh).status_code == 200


def test_a_replayed_event_is_stored_and_applied_once(
    user_client, user, live_offer, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    paid(user_client, order, stripe_standin)
    event = stripe_standin.outbox.pop()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert post_event(Client(), *stripe_standin.delivery(event)).status_code == 200
    assert PaymentEvent.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6
    assert len(mailoutbox) == 1


def test_the_webhook_is_csrf_exempt_post_only_and_private(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    paid(user_client, order, stripe_standin)
    client = Client(enforce_csrf_checks=True)
    assert client.get(WEBHOOK_PATH).status_code == 405
    response = post_event(client, *stripe_standin.delivery(stripe_standin.outbox.pop()))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_webhook_is_not_found_unless_stripe_is_the_provider(client):
    assert client.post(WEBHOOK_PATH, "{}", content_type="application/json").status_code == 404


def test_webhooks_are_recorded_during_maintenance(
    user_client, user, live_offer, stripe_standin, django_capture_on_commit_callbacks
):
    """A payment made just before a stop must not lapse with its reservation."""
    order = pending_order(user, live_offer)
    paid(user_client, order, stripe_standin)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_set(on=True, by=None, now=timezone.now())
    assert user_client.get(order.get_absolute_url()).status_code == 503
    (response,) = stripe_standin.deliver(Client())
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


# --- Late, duplicate and out-of-order payments: payment_record's rules -------------------


def test_a_payment_completed_after_the_reservation_expired_is_kept_for_a_refund(
    user_client, user, live_offer, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    # The reservation ends and the cron releases it before the supporter pays on Stripe.
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    assert orders_expire(now=timezone.now()) == 1
    assert stripe_standin.pay(session["id"])[0] == 303
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    order.refresh_from_db()
    reference = stripe_standin.sessions[session["id"]]["payment_intent"]
    assert order.status == OrderStatus.EXPIRED and not order.tickets.exists()
    # Refunded through Stripe's API at once, with the refund's own idempotency key.
    refund = order.refunds.get()
    assert (refund.payment_reference, refund.reason, refund.status) == (
        reference,
        RefundReason.LATE,
        RefundStatus.DONE,
    )
    (asked,) = [r for r in stripe_standin.requests if r["path"] == "/v1/refunds"]
    assert asked["key"] == refund.idempotency_key and asked["params"]["amount"] == "2000"
    assert stripe_standin.refunds[refund.provider_refund_id]["payment_intent"] == reference
    assert PaymentEvent.objects.get().outcome == PaymentEventOutcome.REFUND_OWED
    assert [m.subject for m in mailoutbox] == [f"[kaika] 期限後のお支払いについて ({order.code})"]
    # The return page does not say "confirming" for ever: it leads to the order, which says
    # the money was returned.
    page = user_client.get(
        reverse("purchases:order_payment_status", kwargs={"order_code": order.code}),
        follow=True,
    ).content.decode()
    assert "お支払いいただいた金額は返金いたします" in page and "2,000円を" in page
    # Stripe's own notices of that refund change nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    assert Refund.objects.get().status == RefundStatus.DONE and len(stripe_standin.refunds) == 1


def test_a_payment_after_the_deadline_is_late_even_before_the_cron(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    stripe_standin.pay(session["id"])
    stripe_standin.deliver(Client())
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and order.refunds.get().reason == RefundReason.LATE


def test_two_tabs_pressing_pay_get_one_session(user_client, user, live_offer, stripe_standin):
    order = pending_order(user, live_offer)
    first = start_payment(user_client, order, stripe_standin)
    second = user_client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    assert second.url == first["url"] and len(stripe_standin.sessions) == 1
    assert PaymentAttempt.objects.filter(order=order).count() == 1


def test_two_sessions_of_one_order_both_paid_refund_the_second_automatically(
    user_client, user, live_offer, stripe_standin, django_capture_on_commit_callbacks
):
    """kaika opens one session at a time, but a second can exist (one it lost track of):
    both paid, the order keeps the first and the second is refunded through Stripe."""
    order = pending_order(user, live_offer)
    first = start_payment(user_client, order, stripe_standin)
    PaymentAttempt.objects.filter(order=order).update(status=PaymentAttemptStatus.EXPIRED)
    second = start_payment(user_client, order, stripe_standin)
    assert first["id"] != second["id"]
    stripe_standin.pay(first["id"])
    stripe_standin.pay(second["id"])
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    order.refresh_from_db()
    references = [stripe_standin.sessions[s["id"]]["payment_intent"] for s in (first, second)]
    assert order.status == OrderStatus.PAID and order.payment_reference == references[0]
    assert order.tickets.count() == 6
    refund = order.refunds.get()
    assert (refund.payment_reference, refund.reason, refund.status) == (
        references[1],
        RefundReason.DUPLICATE,
        RefundStatus.DONE,
    )
    assert stripe_standin.payment_intents[references[1]]["amount_refunded"] == 2000
    assert stripe_standin.payment_intents[references[0]]["amount_refunded"] == 0
    outcomes = list(
        PaymentEvent.objects.filter(type="checkout.session.completed")
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [PaymentEventOutcome.PAID, PaymentEventOutcome.REFUND_OWED]


def test_events_out_of_order_issue_tickets_once_and_never_undo_a_payment(
    user_client, user, live_offer, stripe_standin
):
    """A delayed payment method: completed (unpaid), then succeeded, delivered backwards;
    then a failure notice that comes after the success."""
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    completed = stripe_standin.complete_unpaid(session["id"])
    succeeded = stripe_standin.settle(session["id"], succeeded=True)
    failed = stripe_standin.settle(session["id"], succeeded=False)
    stripe_standin.outbox.clear()
    client = Client()
    for event in (succeeded, completed, failed, succeeded):
        assert post_event(client, *stripe_standin.delivery(event)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6
    outcomes = dict(PaymentEvent.objects.values_list("type", "outcome"))
    assert outcomes == {
        "checkout.session.async_payment_succeeded": PaymentEventOutcome.PAID,
        "checkout.session.completed": PaymentEventOutcome.RECORDED,
        "checkout.session.async_payment_failed": PaymentEventOutcome.UNCHANGED,
    }


def test_a_delayed_payment_that_fails_keeps_the_order_for_another_payment(
    user_client, user, live_offer, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    stripe_standin.complete_unpaid(session["id"])
    stripe_standin.deliver(Client())
    # Completed, the money still to come: no second checkout meanwhile.
    page = user_client.get(order.get_absolute_url()).content.decode()
    assert "お支払いを確認しています" in page and "お支払いへ進む" not in page
    pay_url = reverse("purchases:order_pay", kwargs={"order_code": order.code})
    assert "確認が済むまで" in user_client.get(pay_url, follow=True).content.decode()
    stripe_standin.settle(session["id"], succeeded=False)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 2000
    assert PaymentAttempt.objects.get().status == PaymentAttemptStatus.PAYMENT_FAILED
    assert "別のカードでお支払いください" in mailoutbox[-1].body
    # A new session for the same order, paid with another card.
    again = start_payment(user_client, order, stripe_standin)
    assert again["id"] != session["id"]
    stripe_standin.pay(again["id"])
    stripe_standin.deliver(Client())
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6


def test_a_refund_made_in_stripes_dashboard_is_recorded_and_staff_told(
    user_client,
    user,
    live_offer,
    stripe_standin,
    staff_user,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    order = pending_order(user, live_offer)
    session = paid(user_client, order, stripe_standin)
    stripe_standin.deliver(Client())
    mailoutbox.clear()
    stripe_standin.refund(session["id"], amount=1000)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    event = PaymentEvent.objects.get(type="charge.refunded")
    assert (event.order, event.amount, event.outcome) == (order, 1000, PaymentEventOutcome.REFUND)
    refund = Refund.objects.get()
    assert (refund.reason, refund.status, refund.amount) == (
        RefundReason.PROVIDER,
        RefundStatus.DONE,
        1000,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # staff decide in kaika whether to cancel it
    assert [(m.subject, m.to) for m in mailoutbox] == [
        (
            f"[kaika] 決済代行の管理画面で返金されました ({order.payment_reference})",
            [staff_user.email],
        )
    ]
    assert "チケットも有効です" in mailoutbox[0].body


def test_events_that_are_not_kaikas_are_stored_and_ignored(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = paid(user_client, order, stripe_standin)
    event = stripe_standin.outbox.pop()
    other = json.loads(json.dumps(event))
    other["id"] = "evt_payment_link"
    other["data"]["object"]["metadata"] = {}  # a payment link on the same account
    unknown = dict(event, id="evt_customer", type="customer.created")
    for each in (other, unknown):
        assert post_event(Client(), *stripe_standin.delivery(each)).status_code == 200
    assert dict(PaymentEvent.objects.values_list("event_id", "note")) == {
        "evt_payment_link": "not_ours",
        "evt_customer": "unhandled_type",
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert session["client_reference_id"] == order.code


def test_staff_see_the_notices_in_admin_read_only_and_nothing_personal(
    user_client, user, live_offer, stripe_standin, staff_user
):
    staff_client = Client()
    login_staff(staff_client, staff_user)
    order = pending_order(user, live_offer)
    paid(user_client, order, stripe_standin)
    payload = json.dumps(stripe_standin.outbox[0])
    assert "payer@example.jp" in payload and "YAMADA HANAKO" in payload  # Stripe sends them
    stripe_standin.deliver(Client())
    event = PaymentEvent.objects.get()
    pages = [
        staff_client.get(reverse("admin:purchases_paymentevent_changelist")),
        staff_client.get(reverse("admin:purchases_paymentevent_change", args=[event.pk])),
        staff_client.get(reverse("admin:purchases_order_change", args=[order.pk])),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200 and event.event_id in html
        assert "payer@example.jp" not in html and "YAMADA" not in html
    assert staff_client.get(reverse("admin:purchases_paymentevent_add")).status_code == 403
    change = reverse("admin:purchases_paymentevent_change", args=[event.pk])
    assert staff_client.post(change, {"note": "edited"}).status_code == 403
    delete = reverse("admin:purchases_paymentevent_delete", args=[event.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.note == ""


# --- When Stripe cannot be reached ---------------------------------------------------------


def test_an_api_timeout_leaves_the_order_payable_with_a_clear_message(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    # The first try and the library's one retry (same idempotency key) both time out.
    stripe_standin.fail_next("timeout", "timeout")
    url = reverse("purchases:order_pay", kwargs={"order_code": order.code})
    response = user_client.get(url, follow=True)
    assert response.redirect_chain[0][0] == order.get_absolute_url()
    html = response.content.decode()
    assert "決済サービスにつながりませんでした" in html and "お支払いへ進む" in html
    order.refresh_from_db()
    assert order.is_payable_at(timezone.now())
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.status, attempt.error) == (PaymentAttemptStatus.FAILED, "connection")
    keys = {r["key"] for r in stripe_standin.requests}
    assert keys == {attempt.idempotency_key}
    # Pressed again once Stripe answers: a new attempt, a new key.
    assert user_client.get(url).status_code == 302
    assert PaymentAttempt.objects.filter(order=order, status=PaymentAttemptStatus.OPEN).exists()


def test_a_timed_out_call_retried_with_its_key_makes_one_session(
    user_client, user, live_offer, stripe_standin
):
    """Stripe carried out the first call but its answer was lost: the retry with the same
    idempotency key gets that same session, not a second one."""
    order = pending_order(user, live_offer)
    stripe_standin.fail_next("timeout")
    session = start_payment(user_client, order, stripe_standin)
    assert len(stripe_standin.sessions) == 1 and len(stripe_standin.requests) == 2
    assert PaymentAttempt.objects.get(order=order).checkout_id == session["id"]


@pytest.mark.parametrize(
    ("fault", "message", "error"),
    [
        ("429", "決済サービスが混み合っています", "rate_limit"),
        ("500", "決済サービスにつながりませんでした", "api_error"),
    ],
)
def test_stripe_errors_leave_the_order_payable_with_a_clear_message(
    user_client, user, live_offer, stripe_standin, fault, message, error
):
    order = pending_order(user, live_offer)
    # A 500 is saved under the key by Stripe: the library's retry gets it again.
    stripe_standin.fail_next(fault, fault)
    url = reverse("purchases:order_pay", kwargs={"order_code": order.code})
    response = user_client.get(url, follow=True)
    assert message in response.content.decode()
    assert PaymentAttempt.objects.get(order=order).error == error
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_the_stand_in_refuses_an_idempotency_key_reused_with_other_parameters(
    user, live_offer, stripe_standin
):
    client = StripeGateway().client
    params = {
        "mode": "payment",
        "success_url": "http://testserver/ok",
        "line_items": [
            {
                "price_data": {
                    "currency": "jpy",
                    "unit_amount": 1000,
                    "product_data": {"name": "x"},
                },
                "quantity": 1,
            }
        ],
    }
    options = {"idempotency_key": "same-key"}
    first = client.v1.checkout.sessions.create(params=params, options=options)
    assert client.v1.checkout.sessions.create(params=params, options=options).id == first.id
    params["line_items"][0]["quantity"] = 2
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=params, options=options)
    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter"):
        client.v1.checkout.sessions.create(params={**params, "payment_method_typo": ["card"]})


# --- The session's lifetime and the reservation's ----------------------------------------


def test_a_session_lives_the_least_stripe_allows_or_as_long_as_the_reservation(
    user_client, user, live_offer, stripe_standin, settings
):
    order = pending_order(user, live_offer)
    before = int(time.time())
    session = start_payment(user_client, order, stripe_standin)
    # The reservation holds 15 minutes; Stripe takes no less than 30.
    assert before + 31 * 60 <= session["expires_at"] <= int(time.time()) + 31 * 60
    settings.KAIKA_ORDER_RESERVATION_MINUTES = 120
    longer = pending_order(user, live_offer, units=1)
    assert start_payment(user_client, longer, stripe_standin)["expires_at"] == int(
        longer.expires_at.timestamp()
    )


def test_expire_orders_ends_the_stripe_session_when_the_reservation_ends(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    call_command("expire_orders")  # the reservation still holds: nothing to end
    assert stripe_standin.sessions[session["id"]]["status"] == "open"
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    call_command("expire_orders")
    assert stripe_standin.sessions[session["id"]]["status"] == "expired"
    assert PaymentAttempt.objects.get().status == PaymentAttemptStatus.EXPIRED
    # Stripe's page no longer takes a card, and its notice is recorded.
    assert stripe_standin.pay(session["id"])[0] == 410
    (response,) = stripe_standin.deliver(Client())
    assert response.status_code == 200
    event = PaymentEvent.objects.get()
    assert (event.type, event.outcome) == ("checkout.session.expired", "recorded")
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED


def test_a_session_paid_just_before_it_is_ended_is_left_to_its_webhook(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    stripe_standin.pay(session["id"])  # paid a moment before the deadline ...
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    assert StripeGateway().checkouts_close(now=timezone.now()) == 1  # ... Stripe says so
    assert PaymentAttempt.objects.get().status == PaymentAttemptStatus.COMPLETE


def test_cancelling_an_order_ends_its_stripe_session_at_once(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    cancel = reverse("purchases:order_cancel", kwargs={"order_code": order.code})
    assert user_client.post(cancel, {"confirm": "1"}).status_code == 302
    assert stripe_standin.sessions[session["id"]]["status"] == "expired"


def test_a_stripe_outage_while_ending_sessions_is_retried_on_the_next_run(
    user_client, user, live_offer, stripe_standin
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    stripe_standin.fail_next("500", "500")
    call_command("expire_orders")
    assert PaymentAttempt.objects.get().status == PaymentAttemptStatus.OPEN
    call_command("expire_orders")
    assert stripe_standin.sessions[session["id"]]["status"] == "expired"
