"""A card number or security code never reaches our database, logs or emails.

A supporter buys through the sandbox card page, or through Stripe Checkout (the stand-in's
hosted page and its signed webhooks); then every row of every table (every model,
third-party ones included: sessions, task queue, allauth) is dumped as text and searched,
with the captured log records and the emails. The scanner's own negative control plants the
number in a row and a log line and must find both.
"""

import json
import logging

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from inquiries.models import Inquiry
from purchases.models import Order, OrderStatus, PaymentEvent
from tests.purchases.helpers import order_via_confirmation
from tests.stripe_standin import CARD_DECLINED

pytestmark = pytest.mark.django_db
CARD = "4242424242424242"
CARD_TYPED = "4242 4242 4242 4242"
CVC = "7319"


def database_dump() -> str:
    rows = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._base_manager.values():
            rows.append(f"{model._meta.label} {row!r}")
    return "\n".join(rows)


def found_card(text: str) -> bool:
    digits_only = "".join(c for c in text if c.isdigit() or c == "\n")
    return CARD in text or CARD_TYPED in text or CARD in digits_only.replace("\n", " ")


def test_buying_with_the_sandbox_leaves_no_card_data_anywhere(
    user_client, user, live_offer, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        order_via_confirmation(user_client, live_offer)
        order = Order.objects.get(supporter=user)
        sandbox = user_client.get(
            reverse("purchases:order_pay", kwargs={"order_code": order.code})
        ).url
        back = user_client.post(sandbox, {"card_number": CARD_TYPED, "expiry": "12/30", "cvc": CVC})
        user_client.get(back.url)
        # A mistyped card is not kept either (nor echoed).
        user_client.post(sandbox, {"card_number": "4242 4242 4242 4241", "cvc": CVC})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # the purchase really went through the card page
    assert mailoutbox, "the confirmation email is part of what is scanned"
    dump = database_dump()
    assert Order._meta.label in dump and order.code in dump
    assert not found_card(dump)
    assert "424242424241" not in dump
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert not found_card(logs) and CVC not in logs
    for message in mailoutbox:
        assert not found_card(f"{message.subject}\n{message.body}") and CVC not in message.body
    assert CARD not in back.url


def test_buying_through_stripe_leaves_no_card_or_payer_data_anywhere(
    user_client,
    user,
    live_offer,
    stripe_standin,
    caplog,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)  # the stripe library's own debug lines included
    with django_capture_on_commit_callbacks(execute=True):
        order_via_confirmation(user_client, live_offer)
        order = Order.objects.get(supporter=user)
        checkout = user_client.get(
            reverse("purchases:order_pay", kwargs={"order_code": order.code})
        ).url
        assert checkout.startswith(stripe_standin.url)
        session_id = checkout.rsplit("/", 1)[-1]
        # Typed on Stripe's page: a declined card, then one that goes through.
        assert stripe_standin.pay(session_id, card=CARD_DECLINED)[0] == 200
        status, back = stripe_standin.pay(session_id, card=CARD)
        assert status == 303
        user_client.get(back)
        # Stripe's notice carries the payer's email and name (collected on its page).
        payload = json.dumps(stripe_standin.outbox)
        assert "payer@example.jp" in payload and "YAMADA HANAKO" in payload
        stripe_standin.deliver(Client())
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert mailoutbox, "the confirmation email is part of what is scanned"
    dump = database_dump()
    assert PaymentEvent._meta.label in dump and order.code in dump
    assert not found_card(dump) and CARD_DECLINED not in dump
    # Only what a payment needs is kept from Stripe's notice: not the payer's details.
    assert "payer@example.jp" not in dump and "YAMADA" not in dump
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert "Request to Stripe api" in logs  # the library's lines were captured
    assert not found_card(logs) and CARD_DECLINED not in logs and "payer@example.jp" not in logs
    for message in mailoutbox:
        assert not found_card(f"{message.subject}\n{message.body}")
    # And kaika told Stripe nothing about the supporter but the order.
    sent = json.dumps([r["params"] for r in stripe_standin.requests], ensure_ascii=False)
    assert user.email not in sent and user.family_name not in sent and user.phone not in sent


def test_negative_control_the_scanner_finds_a_planted_card_number(user, caplog):
    Inquiry.objects.create(
        reference="Q-PLANTED2",
        user=user,
        name="x",
        email=user.email,
        category="backing",
        subject="s",
        body=f"my card is {CARD_TYPED}",
        created_at="2031-01-01T00:00:00+09:00",
    )
    assert found_card(database_dump())
    caplog.set_level(logging.INFO)
    logging.getLogger("kaika.test").info("posted %s", {"card_number": CARD})
    logs = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert found_card(logs)
