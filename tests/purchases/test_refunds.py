"""Refunds through the provider and reconciliation with its record: staff refunds in admin,
a second or late payment sent back by itself, a refund Stripe fails (retried, or recorded by
hand), Stripe out of reach, and `payments_reconcile` finding and mending each kind of
mismatch. Stripe is the stand-in on loopback (tests/stripe_standin.py), driven by the real
`stripe` package; the sandbox's refunds go through the same calls."""

import datetime
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from purchases.models import (
    Order,
    OrderStatus,
    Refund,
    RefundReason,
    RefundStatus,
    TicketStatus,
)
from purchases.services import PaymentResult, orders_expire, payment_record
from tests.conftest import login_staff
from tests.purchases.helpers import order_via_confirmation
from tests.purchases.test_stripe import pending_order, start_payment
from tests.stripe_standin import CARD_REFUND_FAILS, CARD_SUCCEEDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(staff_user):
    """Staff in their own browser, beside the supporter's user_client."""
    client = Client()
    login_staff(client, staff_user)
    return client


def stripe_paid(user_client, user, offer, standin, capture, card=CARD_SUCCEEDS) -> Order:
    order = pending_order(user, offer)
    session = start_payment(user_client, order, standin)
    assert standin.pay(session["id"], card=card)[0] == 303
    with capture(execute=True):
        standin.deliver(Client())
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def refund_in_admin(staff, order, capture, reason="店舗の閉店のため"):
    url = reverse("admin:purchases_order_changelist")
    chosen = {"action": "refund_orders", "_selected_action": [order.pk]}
    with capture(execute=True):
        return staff.post(url, {**chosen, "apply": "1", "reason": reason})


def reconcile(since=None) -> str:
    out = StringIO()
    day = since or timezone.localdate()
    call_command("payments_reconcile", since=day.isoformat(), stdout=out)
    return out.getvalue()


# --- Staff refunds -------------------------------------------------------------------------


def test_a_staff_refund_in_admin_refunds_through_stripe_releases_the_budget_voids_tickets(
    user_client,
    user,
    live_offer,
    stripe_standin,
    staff,
    staff_user,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    order = stripe_paid(user_client, user, live_offer, stripe_standin, capture)
    assert refund_in_admin(staff, order, capture).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert set(order.tickets.values_list("status", flat=True)) == {TicketStatus.VOID}
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 0
    refund = order.refunds.get()
    assert (refund.reason, refund.status, refund.amount, refund.requested_by) == (
        RefundReason.CANCELLED,
        RefundStatus.DONE,
        2000,
        staff_user,
    )
    (asked,) = [r for r in stripe_standin.requests if r["path"] == "/v1/refunds"]
    assert asked["key"] == refund.idempotency_key
    assert asked["params"]["payment_intent"] == order.payment_reference
    assert stripe_standin.refunds[refund.provider_refund_id]["status"] == "succeeded"
    # Stripe's notices of the refund it made for kaika change nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    assert Refund.objects.count() == 1 and Refund.objects.get().status == RefundStatus.DONE
    # The supporter sees the refund; staff see it in the refunds view.
    page = user_client.get(order.get_absolute_url()).content.decode()
    assert "2,000円を" in page and "返金しました" in page
    listing = staff.get(reverse("admin:purchases_refund_changelist")).content.decode()
    assert order.code in listing and "返金済み" in listing


def test_a_refund_is_asked_for_once_even_when_staff_refund_twice(
    user_client, user, live_offer, stripe_standin, staff, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    order = stripe_paid(user_client, user, live_offer, stripe_standin, capture)
    refund_in_admin(staff, order, capture)
    refund_in_admin(staff, order, capture)  # already refunded: not chosen again
    assert len(stripe_standin.refunds) == 1


def test_the_sandbox_refunds_through_the_same_calls(
    user_client, user, live_offer, staff, django_capture_on_commit_callbacks
):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    to_card = user_client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    done = user_client.post(
        to_card.url, {"card_number": CARD_SUCCEEDS, "expiry": "12/30", "cvc": "123"}
    )
    user_client.get(done.url)
    order.refresh_from_db()
    refund_in_admin(staff, order, django_capture_on_commit_callbacks)
    refund = Refund.objects.get()
    assert (refund.provider, refund.status) == ("sandbox", RefundStatus.DONE)
    assert refund.provider_refund_id.startswith("sbx_re_")


# --- When a refund does not go through -----------------------------------------------------


def test_stripe_out_of_reach_leaves_a_refund_owed_and_expire_orders_sends_it_with_its_key(
    user_client, user, live_offer, stripe_standin, staff, django_capture_on_commit_callbacks
):
    """The first request and the library's retry time out after Stripe made the refund: the
    refund stays owed, and the next run asks again with the same key, which is the same
    refund at Stripe (never a second)."""
    capture = django_capture_on_commit_callbacks
    order = stripe_paid(user_client, user, live_offer, stripe_standin, capture)
    stripe_standin.fail_next("timeout", "timeout")
    refund_in_admin(staff, order, capture)
    refund = Refund.objects.get()
    assert (refund.status, refund.error) == (RefundStatus.OWED, "connection")
    Refund.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    call_command("expire_orders", stdout=StringIO())
    refund.refresh_from_db()
    assert refund.status == RefundStatus.DONE and len(stripe_standin.refunds) == 1
    keys = {r["key"] for r in stripe_standin.requests if r["path"] == "/v1/refunds"}
    assert keys == {refund.idempotency_key}


def test_a_refund_that_stripe_fails_is_shown_with_its_error_retried_or_recorded_by_hand(
    user_client,
    user,
    live_offer,
    stripe_standin,
    staff,
    staff_user,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    """Stripe's test card 4000 0000 0000 5126: its refunds succeed, then fail."""
    capture = django_capture_on_commit_callbacks
    order = stripe_paid(user_client, user, live_offer, stripe_standin, capture, CARD_REFUND_FAILS)
    refund_in_admin(staff, order, capture)
    with capture(execute=True):
        stripe_standin.deliver(Client())
    assert Refund.objects.get().status == RefundStatus.DONE
    mailoutbox.clear()
    stripe_standin.fail_refunds()
    with capture(execute=True):
        stripe_standin.deliver(Client())
    refund = Refund.objects.get()
    assert (refund.status, refund.error) == (RefundStatus.FAILED, "expired_or_canceled_card")
    assert [m.subject for m in mailoutbox] == [
        f"[kaika] 返金に失敗しました ({order.payment_reference})"
    ]
    changelist = reverse("admin:purchases_refund_changelist")
    failed = staff.get(changelist, {"status__exact": "failed"}).content.decode()
    assert order.code in failed and "expired_or_canceled_card" in failed

    # Retried: a new request (a new key), since the failed one moved no money.
    first_key = refund.idempotency_key
    with capture(execute=True):
        staff.post(changelist, {"action": "retry_refunds", "_selected_action": [refund.pk]})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.DONE and refund.idempotency_key != first_key
    assert len(stripe_standin.refunds) == 2

    # It fails again: staff return the money by bank transfer and record it.
    stripe_standin.fail_refunds()
    with capture(execute=True):
        stripe_standin.deliver(Client())
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    chosen = {"action": "record_refunds_by_hand", "_selected_action": [refund.pk]}
    asked = staff.post(changelist, chosen)
    assert asked.status_code == 200 and "どのように返金したか" in asked.content.decode()
    staff.post(changelist, {**chosen, "apply": "1", "reason": "12月8日 銀行振込"})
    refund.refresh_from_db()
    assert (refund.status, refund.recorded_by_hand) == (RefundStatus.DONE, True)
    assert "12月8日 銀行振込" in refund.note and staff_user.email in refund.note
    assert (
        LogEntry.objects.filter(object_id=str(refund.pk), content_type__model="refund").count() == 2
    )
    # A late notice from Stripe does not undo what staff recorded.
    stripe_standin.fail_refunds()
    stripe_standin.deliver(Client())
    refund.refresh_from_db()
    assert refund.status == RefundStatus.DONE


def test_the_refunds_view_is_read_only(staff, user, live_offer, stripe_standin):
    refund = Refund.objects.create(
        provider="stripe",
        payment_reference="pi_x",
        amount=1000,
        reason=RefundReason.ORPHAN,
        idempotency_key="k",
        created_at=timezone.now(),
    )
    assert staff.get(reverse("admin:purchases_refund_add")).status_code == 403
    change = reverse("admin:purchases_refund_change", args=[refund.pk])
    staff.post(change, {"amount": "1", "status": "done"})
    refund.refresh_from_db()
    assert (refund.amount, refund.status) == (1000, RefundStatus.OWED)
    delete = reverse("admin:purchases_refund_delete", args=[refund.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403


# --- Reconciliation --------------------------------------------------------------------------


def test_reconcile_issues_tickets_for_a_payment_whose_webhook_was_lost(
    user_client, user, live_offer, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    with stripe_standin.lose_events():
        stripe_standin.pay(session["id"])
    page = user_client.get(order.get_absolute_url()).content.decode()
    assert "お支払いへ進む" in page  # kaika has not heard: the same open session is offered
    with django_capture_on_commit_callbacks(execute=True):
        out = reconcile()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.tickets.count() == 6
    assert "applied missed notice" in out and order.code in out and "paid" in out
    assert "ご支援ありがとうございます" in mailoutbox[-1].subject
    assert "nothing to mend" in reconcile()


def test_reconcile_refunds_a_lost_payment_whose_order_has_expired_since(
    user_client, user, live_offer, stripe_standin, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    with stripe_standin.lose_events():
        stripe_standin.pay(session["id"])
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    orders_expire(now=timezone.now())
    # The payment was made in time, but the reservation is gone: not revived, refunded.
    with django_capture_on_commit_callbacks(execute=True):
        out = reconcile()
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and not order.tickets.exists()
    refund = order.refunds.get()
    assert (refund.reason, refund.status) == (RefundReason.LATE, RefundStatus.DONE)
    assert "refund_owed" in out
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())  # the refund's own notices
    assert "nothing to mend" in reconcile()


def test_reconcile_refunds_an_orphan_payment(
    user, live_offer, stripe_standin, django_capture_on_commit_callbacks
):
    """Paid on a session of this site for an order kaika does not have (a restored
    database, a session made by hand): the money goes back."""
    metadata = {"order_code": "K-" + "Z" * 26, "kaika_site": "127.0.0.1:8000"}
    with stripe_standin.lose_events():
        session = stripe_standin.paid_session(
            order_code=metadata["order_code"], amount=3000, metadata=metadata
        )
    # Another site's payment on the same account is none of ours, and stays untouched.
    with stripe_standin.lose_events():
        other = stripe_standin.paid_session(
            order_code="K-" + "Y" * 26,
            metadata={"order_code": "K-" + "Y" * 26, "kaika_site": "staging.example.jp"},
        )
    with django_capture_on_commit_callbacks(execute=True):
        out = reconcile()
    refund = Refund.objects.get()
    assert (refund.reason, refund.status, refund.amount, refund.order) == (
        RefundReason.ORPHAN,
        RefundStatus.DONE,
        3000,
        None,
    )
    assert refund.payment_reference == session["payment_intent"]
    assert stripe_standin.payment_intents[other["payment_intent"]]["amount_refunded"] == 0
    assert "invalid_request" in out
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.deliver(Client())
    assert "nothing to mend" in reconcile()


def test_reconcile_mends_a_payment_older_than_the_events_stripe_keeps(
    user_client, user, live_offer, stripe_standin, django_capture_on_commit_callbacks
):
    order = pending_order(user, live_offer)
    session = start_payment(user_client, order, stripe_standin)
    with stripe_standin.lose_events():
        stripe_standin.pay(session["id"])
    stripe_standin.events.clear()  # past Stripe's 30 days of events: only the session is left
    with django_capture_on_commit_callbacks(execute=True):
        out = reconcile()
    assert f"mended payment {session['payment_intent']}" in out
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_reconcile_lists_a_paid_order_stripe_has_no_payment_for(user, live_offer, stripe_standin):
    order = pending_order(user, live_offer)
    payment_record(
        result=PaymentResult(
            "stripe", order.code, "pi_unknown_to_stripe", order.amount, True, timezone.now()
        ),
        now=timezone.now(),
    )
    out = reconcile()
    assert f"paid order without a payment at the provider: {order.code}" in out
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # never changed by the command


def test_reconcile_with_the_sandbox_finds_a_payment_whose_browser_never_came_back(
    user_client, user, live_offer, django_capture_on_commit_callbacks
):
    order_via_confirmation(user_client, live_offer)
    order = Order.objects.get(supporter=user)
    to_card = user_client.get(reverse("purchases:order_pay", kwargs={"order_code": order.code}))
    # Paid, and the tab closed before the redirect back.
    user_client.post(to_card.url, {"card_number": CARD_SUCCEEDS, "expiry": "12/30", "cvc": "1"})
    page = user_client.get(order.get_absolute_url()).content.decode()
    assert "お支払いを確認しています" in page and "お支払いへ進む" not in page
    with django_capture_on_commit_callbacks(execute=True):
        out = reconcile()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and "applied missed notice" in out
    assert "nothing to mend" in reconcile()


def test_reconcile_takes_a_date_only():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("payments_reconcile", since="yesterday")
