"""What the order page says for each state an order can be in, and that a pending order past
its deadline is released when its supporter looks at it (no cron under `make run`)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import Listing, Project, ShopRound
from purchases.models import Order, OrderStatus, RefundReason, RefundStatus
from purchases.services import (
    PaymentResult,
    order_cancel,
    order_create,
    order_expire,
    order_refund,
    payment_record,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)


def main_text(response) -> str:
    html = response.content.decode()
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def status_line(response) -> str:
    html = response.content.decode()
    match = re.search(r"<dt>状態</dt><dd><strong>(.*?)</strong></dd>", html, re.S)
    assert match, "the status line is on the page"
    return match.group(1).strip()


def new_order(user, offer, *, now=None, key="k") -> Order:
    return order_create(
        supporter=user,
        listing_id=offer["listing"].pk,
        round_id=offer["round"].pk,
        units=2,
        idempotency_key=f"order-page-{key}",
        now=now or timezone.now(),
    )


def paid(order: Order, now=None) -> Order:
    now = now or timezone.now()
    result = PaymentResult(
        provider="sandbox",
        order_code=order.code,
        reference=f"sbx_{order.code}",
        amount=order.amount,
        succeeded=True,
        at=now,
    )
    return payment_record(result=result, now=now)


def test_a_staff_refunded_order_says_it_was_cancelled_and_refunded_and_nothing_of_a_deadline(
    user_client, user, live_offer, staff_user
):
    order = paid(new_order(user, live_offer))
    order_refund(order=order, now=timezone.now(), staff=staff_user, note="閉店のため")
    assert order.refunds.get().reason == RefundReason.CANCELLED
    page = user_client.get(order.get_absolute_url())
    text = main_text(page)
    assert "事務局がこの申込を取り消しました" in text
    assert "返金" in text
    assert "期限" not in text
    assert status_line(page) == "事務局が取り消し(返金手続き中)"
    # Once the provider has sent the money back, the status says so.
    order.refunds.update(status=RefundStatus.DONE, completed_at=timezone.now())
    page = user_client.get(order.get_absolute_url())
    assert status_line(page) == "事務局が取り消し(返金済み)"
    assert "期限" not in main_text(page)


def test_the_status_line_reads_as_a_sentence_for_every_status(user_client, user, live_offer):
    now = timezone.now()
    pending = new_order(user, live_offer, key="pending")
    paid_order = paid(new_order(user, live_offer, key="paid"))
    expired = new_order(user, live_offer, now=now - 20 * MINUTE, key="expired")
    order_expire(order=expired, now=now)
    cancelled = order_cancel(
        order=new_order(user, live_offer, key="cancelled"), supporter=user, now=now
    )
    failed = new_order(user, live_offer, key="failed")  # only old rows are "failed"
    Order.objects.filter(pk=failed.pk).update(status=OrderStatus.FAILED)
    lines = {
        order.code: status_line(user_client.get(order.get_absolute_url()))
        for order in (pending, paid_order, expired, cancelled, failed)
    }
    assert lines == {
        pending.code: "お支払い待ち",
        paid_order.code: "お支払い済み",
        expired.code: "無効(お支払い期限切れ)",
        cancelled.code: "お支払い前に取り消し済み",
        failed.code: "決済できませんでした",
    }
    cancelled_text = main_text(user_client.get(cancelled.get_absolute_url()))
    assert "取り消されました" in cancelled_text and "期限" not in cancelled_text


def test_only_a_payment_after_the_deadline_is_called_late(user_client, user, live_offer):
    order = new_order(user, live_offer, now=timezone.now() - 20 * MINUTE)
    late = paid(order)  # its reservation had ended: refunded as late
    assert late.status == OrderStatus.EXPIRED
    text = main_text(user_client.get(order.get_absolute_url()))
    assert "お支払いの期限後に決済が行われたため" in text
    assert "確保していた口数は解放しました" not in text  # one notice, the refund's


def test_a_pending_order_past_its_deadline_is_released_when_its_page_is_read(
    user_client, user, live_offer
):
    """Under `make run` no cron expires orders: at 10:08 the order due at 10:07 must not say
    お支払い待ち, and what it held must go back."""
    created = timezone.now() - 16 * MINUTE
    order = new_order(user, live_offer, now=created)
    assert order.expires_at < timezone.now()
    page = user_client.get(order.get_absolute_url())
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    text = main_text(page)
    deadline = timezone.localtime(order.expires_at)
    # The page writes the hour without a leading zero (0:17 after midnight, Django's "G:i").
    assert f"{deadline.hour}:{deadline:%M}" in text
    assert "を過ぎたため、この申込は無効になりました。確保していた口数は解放しました。" in text
    assert "お支払いへ進む" not in text
    assert status_line(page) == "無効(お支払い期限切れ)"
    shop_round = ShopRound.objects.get(shop=live_offer["shop"], round=live_offer["round"])
    assert shop_round.units_sold == 0 and shop_round.amount_raised == 0
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 0
    assert Listing.objects.get(pk=live_offer["listing"].pk).units_sold == 0
    # Read again: nothing more is released.
    user_client.get(order.get_absolute_url())
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == 0


def test_the_order_list_releases_the_viewers_own_due_orders_only(user_client, user, live_offer):
    past = timezone.now() - 16 * MINUTE
    mine = new_order(user, live_offer, now=past, key="mine")
    someone = make_user()
    theirs = new_order(someone, live_offer, now=past, key="theirs")
    current = new_order(user, live_offer, key="current")
    html = user_client.get(reverse("purchases:order_list")).content.decode()
    statuses = dict(Order.objects.values_list("code", "status"))
    assert statuses[mine.code] == OrderStatus.EXPIRED
    assert statuses[theirs.code] == OrderStatus.PENDING  # another's, left to the cron
    assert statuses[current.code] == OrderStatus.PENDING
    assert "期限切れ" in html and "お支払い待ち" in html


def test_runserver_under_debug_releases_due_reservations_by_itself(
    settings, monkeypatch, user, live_offer
):
    """`make run` sets up no cron: its serving process sweeps (purchases.local_expiry)."""
    from purchases import local_expiry

    settings.DEBUG = True
    monkeypatch.delenv("RUN_MAIN", raising=False)
    assert not local_expiry.should_run()  # the tests, migrate, gunicorn, the worker
    monkeypatch.setenv("RUN_MAIN", "true")
    assert local_expiry.should_run()  # runserver's serving process
    settings.DEBUG = False
    assert not local_expiry.should_run()

    due = new_order(user, live_offer, now=timezone.now() - 16 * MINUTE, key="due")
    current = new_order(user, live_offer, key="current")
    assert local_expiry.sweep() == 1
    due.refresh_from_db()
    current.refresh_from_db()
    assert (due.status, current.status) == (OrderStatus.EXPIRED, OrderStatus.PENDING)
    assert Project.objects.get(pk=live_offer["project"].pk).amount_raised == current.amount
