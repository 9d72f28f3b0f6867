"""A card number or security code never reaches our database, logs or emails.

A supporter buys through the sandbox card page; then every row of every table (every model,
third-party ones included: sessions, task queue, allauth) is dumped as text and searched,
with the captured log records and the emails. The scanner's own negative control plants the
number in a row and a log line and must find both.
"""

import logging

import pytest
from django.apps import apps
from django.urls import reverse

from inquiries.models import Inquiry
from purchases.models import Order, OrderStatus
from tests.purchases.helpers import order_via_confirmation

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
