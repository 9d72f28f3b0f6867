"""A first-come opening in Chromium (issue 23): a supporter waits in the pre-queue just before
the opening, is placed by the shuffle at the opening, admitted at the room's pace and buys;
meanwhile the shop's till redeems a ticket without waiting for anything; a visitor still
waiting is told when what they wait for has sold out."""

import datetime
import time

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import Listing
from purchases.models import Order, Redemption, Wallet
from purchases.services import PaymentResult, order_create, payment_record
from tests.conftest import make_user
from tests.e2e.conftest import check_screen
from tests.e2e.test_backing_journey import log_in
from tests.projects.factories import make_project, make_round, make_shop
from tests.waitingroom.test_views import admitted, post_order
from waitingroom import queue
from waitingroom.admission import room_sync
from waitingroom.models import WaitingRoom
from waitingroom.queue import Keys

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

OPENS_IN = 12  # seconds: "8:59" for the test


def test_wait_before_the_opening_be_admitted_in_shuffled_order_and_buy(live_server, page_for):
    now = timezone.now()
    today = timezone.localdate()
    opens = now + datetime.timedelta(seconds=OPENS_IN)
    round_ = make_round(
        make_project(),
        number=1,
        opens_at=opens,
        closes_at=opens + datetime.timedelta(days=14),
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=60),
    )
    operator = make_user(email="till-wave@example.jp")
    shop = make_shop(round_.project, operators=[operator], name="カフェかめやま")
    listing = shop.listings.get()
    WaitingRoom.objects.create(round=round_, admit_per_second=2, max_concurrent=50)
    try:
        # A ticket bought earlier (by the service, as at the opening), for the till.
        regular = make_user(email="regular@example.jp")
        bought = opens + datetime.timedelta(seconds=1)
        order = order_create(
            supporter=regular,
            listing_id=listing.pk,
            round_id=round_.pk,
            units=1,
            idempotency_key="regular-before-the-wave-01",
            now=bought,
        )
        payment_record(
            result=PaymentResult("sandbox", order.code, "sbx_reg", order.amount, True, bought),
            now=bought,
        )
        wallet = Wallet.objects.get(supporter=regular, shop=shop)

        supporter = make_user(email="early-bird@example.jp")
        page = page_for("phone")
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        log_in(page, live_server.url, supporter.email)
        # At "8:59" the shop page offers its form: it leads to the waiting room.
        page.goto(f"{live_server.url}/shops/{shop.pk}/")
        page.locator("form.order-form button[type=submit]").first.click()
        page.wait_for_url("**/waiting/**")
        assert page.locator("[data-state=pre]").is_visible()
        check_screen(page, "waiting-room-pre-queue-phone")
        # Twenty others wait too (they came earlier; it gives them no head start).
        for i in range(20):
            queue.queue_visit(round_id=round_.pk, visitor=f"other{i:02d}", now=time.time())
        assert queue.client().scard(Keys(round_.pk).pre) == 21

        # Meanwhile at the shop: the till redeems at once, queue or no queue.
        till = page_for("phone")
        log_in(till, live_server.url, operator.email)
        started = time.monotonic()
        till.goto(f"{live_server.url}/shops/manage/{shop.pk}/redeem/")
        till.fill("#id_code", wallet.code)
        till.fill("#id_amount", "500")
        till.get_by_role("button", name="確認へ進む").click()
        till.get_by_role("button", name="確定").click()
        till.wait_for_url("**/redeem/")
        assert time.monotonic() - started < 5
        assert Redemption.objects.filter(wallet=wallet, amount=500).exists()

        # The opening: just after it the page's script reads the line (which draws the order)
        # and its place; the room lets in two a second, so the supporter is through within
        # 11 s or so.
        page.wait_for_url("**/orders/confirm/**", timeout=60_000)
        admitted_at = timezone.now()
        # Meanwhile the page did not reload: its script followed the public line, learnt its
        # place from the drawn order, and reloaded once when its turn came.
        pages = [url for url in asked if "/waiting/?" in url]
        lines = [url for url in asked if url.endswith(f"/rounds/{round_.pk}/waiting/line/")]
        assert len(pages) <= 2 and lines, asked
        assert any("/waiting/line/" in url and not url.endswith("/line/") for url in asked)
        assert admitted_at >= opens
        assert queue.client().exists(Keys(round_.pk).ready)
        check_screen(page, "waiting-room-admitted-confirm-phone")
        page.click("main form[method=post] button[type=submit]")
        page.wait_for_url("**/sandbox-pay/**")
        assert Order.objects.filter(supporter=supporter, round=round_).count() == 1
    finally:
        queue.client().delete(*Keys(round_.pk).all())


def test_after_the_opening_the_page_follows_the_line_shows_a_pause_and_lets_in(
    live_server, page_for
):
    """A visitor who arrives after the opening: the place counts down and the pause shows
    without the page reloading (its script reads the public line); then it lets them in."""
    round_ = make_round(make_project(), number=1)  # open now
    listing = make_shop(round_.project).listings.get()
    room = WaitingRoom.objects.create(round=round_, admit_per_second=1, max_concurrent=1000)
    try:
        supporter = make_user(email="after-nine@example.jp")
        page = page_for("phone")
        log_in(page, live_server.url, supporter.email)
        # Twelve arrived just before this visitor.
        room_sync(room)
        for i in range(12):
            queue.queue_visit(round_id=round_.pk, visitor=f"ahead{i:02d}", now=time.time())
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(
            f"{live_server.url}/orders/confirm/?listing={listing.pk}&round={round_.pk}&units=1"
        )
        page.wait_for_url("**/waiting/**")
        first = int(page.locator("[data-position]").inner_text())
        assert first >= 10
        page.wait_for_function(
            f"() => Number(document.querySelector('[data-position]').textContent) < {first}",
            timeout=30_000,
        )
        room.paused = True
        room.save()
        room_sync(room)
        page.locator("[data-show=paused]").wait_for(state="visible", timeout=30_000)
        assert page.locator("[data-show=running]").is_hidden()
        assert len([url for url in asked if "/waiting/?" in url]) == 1  # no reload meanwhile
        check_screen(page, "waiting-room-paused-phone")
        room.paused = False
        room.save()
        room_sync(room)
        page.wait_for_url("**/orders/confirm/**", timeout=60_000)
    finally:
        queue.client().delete(*Keys(round_.pk).all())


def test_a_waiting_visitor_is_told_without_a_reload_when_their_listing_sells_out(
    live_server, page_for
):
    """Another visitor, let in first, is refused because the last unit has gone: the page of
    the one still waiting shows the sold-out notice from the public line, without a reload."""
    round_ = make_round(make_project(), number=1)  # open now
    listing = make_shop(round_.project).listings.get()
    Listing.objects.filter(pk=listing.pk).update(stock_limit=3)
    # One pass at a time: while the first visitor holds it, the second waits.
    room = WaitingRoom.objects.create(round=round_, admit_per_second=5, max_concurrent=1)
    place = {"room": room, "round": round_, "listing": listing}
    try:
        first = Client()
        first.force_login(make_user(email="first-in@example.jp"))
        confirm = admitted(first, place)

        supporter = make_user(email="still-waiting@example.jp")
        page = page_for("phone")
        log_in(page, live_server.url, supporter.email)
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(
            f"{live_server.url}/orders/confirm/?listing={listing.pk}&round={round_.pk}&units=1"
        )
        page.wait_for_url("**/waiting/**")
        assert page.locator("[data-state=waiting]").is_visible()
        assert page.locator("[data-show=sold_out]").is_hidden()

        # Meanwhile the last units go elsewhere; the first visitor's order is refused.
        Listing.objects.filter(pk=listing.pk).update(units_sold=3)
        refused = post_order(first, confirm)
        assert refused.status_code == 200 and refused.context["refusal"] == "sold_out"

        notice = page.locator("[data-show=sold_out]")
        notice.wait_for(state="visible", timeout=30_000)
        assert "完売" in notice.inner_text()
        assert (
            notice.get_by_role("link")
            .get_attribute("href")
            .endswith(f"/projects/{round_.project.slug}/")
        )
        assert page.locator("[data-show=ended]").is_hidden()
        assert page.locator("[data-position]").is_visible()  # the place is kept
        assert len([url for url in asked if "/waiting/?" in url]) == 1  # no reload meanwhile
        check_screen(page, "waiting-room-sold-out-phone")
    finally:
        queue.client().delete(*Keys(round_.pk).all())
