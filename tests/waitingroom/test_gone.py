"""What is gone, told to the waiting crowd: a listing found sold out, a round that can sell
nothing more. Marked by the order confirmation when an order with a pass is refused, taken
down on commit by whatever gives units or budget back; shown by the public line and the
waiting page. A notice only: PostgreSQL still decides every order."""

import datetime
import json
import logging
import re
import time

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation

from projects.models import Listing, Project
from purchases.models import Order
from purchases.services import order_cancel, order_create, order_expire
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round
from tests.waitingroom.test_queue import OPENS, ROUND, _empty_room, publish  # noqa: F401
from tests.waitingroom.test_views import (  # noqa: F401 (fixture)
    admitted,
    confirm_url,
    post_order,
    room,
    wait_url,
)
from waitingroom import queue
from waitingroom.models import WaitingRoom
from waitingroom.queue import Keys, gone_clear, gone_mark, queue_line, queue_visit

pytestmark = pytest.mark.redis

OTHER = ROUND + 1


@pytest.fixture
def other_round():
    yield OTHER
    queue.client().delete(*Keys(OTHER).all())


# --- In Redis ------------------------------------------------------------------------------


def test_the_line_and_the_visit_report_what_is_gone_in_their_round_only(other_round):
    publish(rate=1, most=1)
    publish(rate=1, most=1, round_id=OTHER)
    for i in range(5):
        queue_visit(round_id=ROUND, visitor=f"v{i}", now=OPENS + 1, listing_id=7)
    queue_line(round_id=OTHER, now=OPENS + 1)
    line = queue_line(round_id=ROUND, now=OPENS + 1)
    assert line.state == "line" and line.sold_out == () and not line.ended
    waiting = queue_visit(round_id=ROUND, visitor="v4", now=OPENS + 1, listing_id=7)
    assert waiting.state == "waiting" and not waiting.sold_out and not waiting.ended

    gone_mark(round_id=ROUND, listing_id=12)
    gone_mark(round_id=ROUND, listing_id=7)
    line = queue_line(round_id=ROUND, now=OPENS + 1)
    assert line.sold_out == (7, 12) and not line.ended
    assert queue_visit(round_id=ROUND, visitor="v4", now=OPENS + 1, listing_id=7).sold_out
    # Another listing's visitor is not told theirs is gone.
    assert not queue_visit(round_id=ROUND, visitor="v3", now=OPENS + 1, listing_id=8).sold_out
    gone_mark(round_id=ROUND)
    line = queue_line(round_id=ROUND, now=OPENS + 1)
    assert line.ended and line.sold_out == (7, 12)
    assert queue_visit(round_id=ROUND, visitor="v3", now=OPENS + 1, listing_id=8).ended
    # The other round is told nothing.
    other = queue_line(round_id=OTHER, now=OPENS + 1)
    assert other.state == "line" and other.sold_out == () and not other.ended

    gone_clear(round_ids=[ROUND], listing_id=7)
    line = queue_line(round_id=ROUND, now=OPENS + 1)
    assert line.sold_out == (12,) and line.ended
    gone_clear(round_ids=[ROUND, OTHER], ended=True)
    line = queue_line(round_id=ROUND, now=OPENS + 1)
    assert line.sold_out == (12,) and not line.ended


def test_clean_up_deletes_what_is_gone():
    publish()
    gone_mark(round_id=ROUND, listing_id=7)
    k = Keys(ROUND)
    assert k.gone in k.all() and queue.client().exists(k.gone)
    queue.client().delete(*k.all())
    assert not queue.client().exists(k.gone)


# --- Through the order confirmation ---------------------------------------------------------


def gone_fields(room) -> set[str]:  # noqa: F811
    return {f.decode() for f in queue.client().hkeys(Keys(room["round"].pk).gone)}


def live_passes(room) -> int:  # noqa: F811
    return queue.client().zcard(Keys(room["round"].pk).live)


def line_json(client, room) -> dict:  # noqa: F811
    url = reverse("waitingroom:line", kwargs={"round_id": room["round"].pk})
    return json.loads(client.get(url).content)


@pytest.mark.django_db
def test_an_order_refused_sold_out_tells_the_crowd_and_gives_the_pass_back(
    user_client,
    room,  # noqa: F811
):
    listing = room["listing"]
    # Negative control first: two asked, one left. Not enough is not gone.
    Listing.objects.filter(pk=listing.pk).update(stock_limit=5, units_sold=4)
    page = admitted(user_client, room)
    response = post_order(user_client, page, units="2")
    assert response.context["refusal"] == "sold_out"
    assert gone_fields(room) == set() and live_passes(room) == 1
    # Now none left.
    Listing.objects.filter(pk=listing.pk).update(units_sold=5)
    response = post_order(user_client, page, units="1", idempotency_key="sold-out-order-0002")
    assert response.status_code == 200 and response.context["refusal"] == "sold_out"
    assert gone_fields(room) == {str(listing.pk)}
    assert live_passes(room) == 1  # given back: another listing of the round may be chosen
    line = line_json(user_client, room)
    assert line["sold_out"] == [listing.pk] and line["ended"] is False
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_budget_exhausted_refusal_ends_the_round_and_keeps_the_pass_spent(
    user_client,
    room,  # noqa: F811
):
    project = room["round"].project
    # Negative control: 1,000 yen left, 2,000 asked: a smaller order still fits.
    Project.objects.filter(pk=project.pk).update(amount_raised=F("total_budget") - 1000)
    page = admitted(user_client, room)
    response = post_order(user_client, page, units="2")
    assert response.context["refusal"] == "budget_exhausted"
    assert gone_fields(room) == set() and live_passes(room) == 1
    # Less than one unit left: the round can sell nothing more.
    Project.objects.filter(pk=project.pk).update(amount_raised=F("total_budget") - 999)
    response = post_order(user_client, page, units="1", idempotency_key="budget-gone-0002")
    assert response.status_code == 200 and response.context["refusal"] == "budget_exhausted"
    assert gone_fields(room) == {"ended"}
    assert live_passes(room) == 0  # the slot goes to the next visitor
    assert line_json(user_client, room)["ended"] is True


@pytest.mark.django_db
def test_redis_failing_while_marking_leaves_the_order_page_as_it_was(
    user_client,
    room,  # noqa: F811
    caplog,
):
    page = admitted(user_client, room)
    Listing.objects.filter(pk=room["listing"].pk).update(stock_limit=1, units_sold=1)
    # The mark's command fails in Redis itself (a key of the wrong type): a RedisError.
    queue.client().set(Keys(room["round"].pk).gone, "not a hash")
    with caplog.at_level(logging.WARNING, logger="waitingroom.admission"):
        response = post_order(user_client, page)
    assert response.status_code == 200 and response.context["refusal"] == "sold_out"
    assert "完売" in response.content.decode()
    assert "could not mark sold_out" in caplog.text  # the failure did happen
    assert live_passes(room) == 1


# --- Taken down by what gives back --------------------------------------------------------


@pytest.mark.django_db
def test_a_cancelled_or_expired_order_takes_the_notices_down_on_commit(
    room,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    round_id, listing = room["round"].pk, room["listing"]
    elsewhere = make_round(make_project(), number=1)
    WaitingRoom.objects.create(round=elsewhere)
    try:
        supporter = make_user(email="gives-back@example.jp")
        now = timezone.now()
        orders = [
            order_create(
                supporter=supporter,
                listing_id=listing.pk,
                round_id=round_id,
                units=1,
                idempotency_key=f"gives-back-{i:04d}",
                now=now,
            )
            for i in range(2)
        ]
        for order, give_back in zip(
            orders,
            [
                lambda o: order_cancel(order=o, supporter=supporter, now=now),
                lambda o: order_expire(order=o, now=o.expires_at + datetime.timedelta(seconds=1)),
            ],
            strict=True,
        ):
            gone_mark(round_id=round_id, listing_id=listing.pk)
            gone_mark(round_id=round_id)
            gone_mark(round_id=elsewhere.pk)
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                give_back(order)
            # Not before the commit.
            assert gone_fields(room) == {str(listing.pk), "ended"}
            for callback in callbacks:
                callback()
            assert gone_fields(room) == set()
            # Another project's round keeps its notice.
            assert queue.client().hexists(Keys(elsewhere.pk).gone, "ended")
    finally:
        queue.client().delete(*Keys(elsewhere.pk).all())


@pytest.mark.django_db
def test_staff_raising_a_stock_or_a_budget_takes_the_notice_down(
    room,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    round_id, listing = room["round"].pk, room["listing"]
    gone_mark(round_id=round_id, listing_id=listing.pk)
    gone_mark(round_id=round_id)
    listing.stock_limit = 500
    with django_capture_on_commit_callbacks(execute=True):
        listing.save()
    assert gone_fields(room) == {"ended"}
    project = room["round"].project
    project.total_budget += 1_000_000
    with django_capture_on_commit_callbacks(execute=True):
        project.save()
    assert gone_fields(room) == set()


# --- The waiting page -----------------------------------------------------------------------


def notice(html: str, name: str) -> str:
    return re.search(rf'<div data-show="{name}"[^>]*>', html).group(0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sold_out", "ended"),
    [
        ("ja", "このリターンは現在完売しています", "この期の受付は終了しました"),
        ("en", "This reward is sold out at the moment", "This round is no longer accepting"),
    ],
    ids=["ja", "en"],
)
def test_the_waiting_page_shows_the_notices_privately_and_names_nobody(
    user_client,
    user,
    room,  # noqa: F811
    language,
    sold_out,
    ended,
    django_assert_num_queries,
):
    WaitingRoom.objects.filter(pk=room["room"].pk).update(admit_per_second=1, max_concurrent=1)
    user_client.get(confirm_url(room))  # the room's settings go to Redis
    for i in range(30):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"other{i}", now=time.time())
    with translation.override(language):
        url = wait_url(room)
        project_url = reverse("projects:project_detail", kwargs={"slug": "x"}).replace(
            "/x/", f"/{room['round'].project.slug}/"
        )
    # Negative control: nothing gone, the notices are there but hidden.
    html = user_client.get(url).content.decode()
    assert " hidden" in notice(html, "sold_out") and " hidden" in notice(html, "ended")

    gone_mark(round_id=room["round"].pk, listing_id=room["listing"].pk)
    with django_assert_num_queries(0):
        response = user_client.get(url)
    html = response.content.decode()
    assert " hidden" not in notice(html, "sold_out") and " hidden" in notice(html, "ended")
    assert sold_out in html and f'href="{project_url}"' in html
    assert f'data-listing="{room["listing"].pk}"' in html
    assert re.search(r'data-position="">\d+</span>', html)  # the place is still shown
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    for personal in (user.email, user.family_name, user.given_name, user.phone, user.city):
        assert personal not in html

    gone_mark(round_id=room["round"].pk)
    html = user_client.get(url).content.decode()
    assert " hidden" not in notice(html, "ended") and ended in html


@pytest.mark.django_db
def test_the_pre_queue_page_carries_the_notice_hidden_for_its_script(user_client, room):  # noqa: F811
    opens = timezone.now() + datetime.timedelta(minutes=10)
    type(room["round"]).objects.filter(pk=room["round"].pk).update(opens_at=opens)
    user_client.get(confirm_url(room))
    html = user_client.get(wait_url(room)).content.decode()
    assert 'data-state="pre"' in html and " hidden" in notice(html, "sold_out")
    # The link back is there for when the script shows the notice after the opening.
    assert f'href="/projects/{room["round"].project.slug}/"' in html
