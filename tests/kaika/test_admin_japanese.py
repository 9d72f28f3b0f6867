"""Admin speaks Japanese: every label, column, filter and empty choice staff read, on every
model's list, add and change page (with a row of each kind to show)."""

import html
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from inquiries.services import inquiry_reply
from purchases.models import Order, PaymentAttempt, Refund, RefundReason, Ticket
from purchases.services import PaymentResult, payment_record, wallet_redeem
from tests.inquiries.test_mypage import make_inquiry
from tests.purchases.helpers import DURING, buy, make_offer

pytestmark = pytest.mark.django_db
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Names, not English words: what staff read as they are.
ALLOWED = {"ID", "URL", "TOTP", "QR", "kaika", "JSON", "Stripe", "IP", "CSV", "TOP"}


def labels(page: str) -> list[str]:
    """What admin writes as a label, a column, a filter's title or an empty choice."""
    found = []
    filters = "".join(re.findall(r'<nav id="changelist-filter".*?</nav>', page, flags=re.S))
    for pattern, where in (
        (r"<label\b[^>]*>(.*?)</label>", page),
        (r'<th\b[^>]*scope="col"[^>]*>(.*?)</th>', page),
        (r'data-filter-title="([^"]*)"', page),
        (r"<summary\b[^>]*>(.*?)</summary>", page),
        (r"<a\b[^>]*>(.*?)</a>", filters),
        (r'<option value="">(.*?)</option>', page),
        # Fieldset and inline headings; an inline row's own name (a code) is data.
        (r'<h2\b[^>]*class="[^"]*heading[^"]*"[^>]*>(.*?)</h2>', page),
        (r"<h3\b[^>]*>\s*<b>(.*?)</b>", page),
    ):
        for text in re.findall(pattern, where, flags=re.S):
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
            text = " ".join(text.split()).strip(" :")
            if text:
                found.append(text)
    return found


def english(text: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z-]+", text)
    return not JAPANESE.search(text) and any(w not in ALLOWED for w in words)


def test_the_reader_sees_the_english_that_staff_saw():
    # Negative control: these are what admin showed before (a column "SHOP" is "Shop" in
    # upper case by CSS); if the reader missed them, the walk below would prove nothing.
    page = (
        '<th scope="col" class="column-shop"><div class="text"><a href="?o=3">Shop</a></div></th>'
        '<label for="id_key">Idempotency key:</label><option value="">- Select an option -</option>'
        '<th scope="col"><div class="text"><span>店舗</span></div></th>'
    )
    assert [t for t in labels(page) if english(t)] == [
        "Idempotency key",
        "Shop",
        "- Select an option -",
    ]


@pytest.fixture
def a_row_of_each_kind(staff_user, settings):
    # The worker's queue as in production, for a row of it to show.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    offer = make_offer()
    order = buy(offer, staff_user, units=2)
    PaymentAttempt.objects.create(
        order=order, provider="sandbox", idempotency_key="attempt-key-000001", created_at=DURING
    )
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_admin", order.amount, True, DURING),
        now=DURING,
    )
    ticket = Ticket.objects.filter(order=order).first()
    wallet_redeem(
        shop=offer.shop,
        code=ticket.code,
        amount=100,
        operator=None,
        now=DURING.replace(year=2031, month=10, day=1),
        idempotency_key="till-form-key-00001",
    )
    Refund.objects.create(
        order=order,
        provider="sandbox",
        payment_reference="sbx_other",
        amount=order.amount,
        reason=RefundReason.DUPLICATE,
        idempotency_key="refund-key-0000001",
        created_at=DURING,
    )
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="kaika.tasks.send_email",
        backend_name="default",
        run_after=timezone.now(),
        exception_class_path="",
        traceback="",
    )
    inquiry = make_inquiry(None)
    inquiry_reply(inquiry=inquiry, author=staff_user, body="回答", now=timezone.now())
    return Order.objects.get(pk=order.pk)


def admin_pages(request):
    """Each model's list, its add form (where adding is allowed) and its first row's page."""
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield reverse(f"{prefix}_changelist")
        if model_admin.has_add_permission(request):
            yield reverse(f"{prefix}_add")
        first = model.objects.order_by("pk").first()
        if first is not None:
            yield reverse(f"{prefix}_change", args=[first.pk])


def test_every_label_in_admin_is_japanese(staff_client, staff_user, a_row_of_each_kind, rf):
    request = rf.get("/admin/")
    request.user = staff_user
    found = {}
    for url in admin_pages(request):
        response = staff_client.get(url, follow=True)
        assert response.status_code == 200, url
        for text in labels(response.content.decode()):
            if english(text):
                found.setdefault(text, url)
    assert found == {}, "\n".join(f"{k!r} on {v}" for k, v in found.items())


def test_each_of_the_site_s_own_apps_is_headed_in_japanese_in_admin():
    """The admin index and its sidebar head each app's models with its name ("PROJECTS" and
    "PURCHASES" were English: no verbose_name)."""
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings

    in_admin = {model._meta.app_label for model in admin.site._registry}
    ours = [
        a
        for a in apps.get_app_configs()
        if Path(a.path).parent == Path(settings.BASE_DIR) and a.label in in_admin
    ]
    assert {a.label for a in ours} >= {"projects", "purchases", "settlements"}
    assert [a.label for a in ours if not JAPANESE.search(str(a.verbose_name))] == []
