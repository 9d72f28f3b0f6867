"""Through the views: the confirmation sends a visitor to wait, the waiting page admits them
with a pass, the pass buys once; forged, expired, replayed and borrowed passes are refused;
without Redis admission closes; the waiting page is private, personal-data free and reads no
database; the till and the tickets never wait."""

import datetime
import re
import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from purchases.models import Order
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.purchases.helpers import form_fields
from waitingroom import queue
from waitingroom.admission import pass_cookie_name, pass_make
from waitingroom.models import WaitingRoom
from waitingroom.queue import Keys

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def room(db):
    """A round open now (the views use the real clock) with its waiting room in force."""
    project = make_project()
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    room = WaitingRoom.objects.create(round=round_, admit_per_second=50, max_concurrent=100)
    yield {"room": room, "round": round_, "shop": shop, "listing": shop.listings.get()}
    queue.client().delete(*Keys(round_.pk).all())


def confirm_url(room, units=1) -> str:
    query = f"listing={room['listing'].pk}&round={room['round'].pk}&units={units}"
    return f"{reverse('purchases:order_confirm')}?{query}"


def wait_url(room, units=1) -> str:
    url = reverse("waitingroom:wait", kwargs={"round_id": room["round"].pk})
    return f"{url}?listing={room['listing'].pk}&units={units}"


def admitted(client, room, units=1):
    """Sent to wait, let in (nobody ahead), sent back with a pass: the confirmation page."""
    to_wait = client.get(confirm_url(room, units))
    assert to_wait.status_code == 302 and to_wait.url == wait_url(room, units)
    back = client.get(to_wait.url)
    assert back.status_code == 302 and back.url == confirm_url(room, units), back.content[:300]
    assert pass_cookie_name(room["round"].pk) in back.cookies
    page = client.get(back.url)
    assert page.status_code == 200
    return page


def post_order(client, page, **changes):
    return client.post(
        reverse("purchases:order_confirm"), {**form_fields(page.content.decode()), **changes}
    )


def test_a_visitor_waits_is_admitted_and_buys_once(user_client, user, room):
    page = admitted(user_client, room)
    response = post_order(user_client, page)
    assert response.status_code == 302 and "/pay/" in response.url
    assert Order.objects.filter(supporter=user).count() == 1
    # The same form again (a double click) is the same order, not a refusal.
    again = post_order(user_client, page)
    assert again.status_code == 302 and again.url == response.url
    # The pass is spent: a second order with it is sent back to wait.
    replay = post_order(user_client, page, idempotency_key="another-order-0001")
    assert replay.status_code == 302 and replay.url == wait_url(room)
    assert Order.objects.filter(supporter=user).count() == 1


def test_a_refused_order_gives_the_pass_back(user_client, user, room):
    page = admitted(user_client, room)
    response = post_order(user_client, page, units="99")  # more than one may buy
    assert response.status_code == 200 and "form" in response.content.decode()
    assert not Order.objects.exists()
    response = post_order(user_client, page)
    assert response.status_code == 302 and "/pay/" in response.url


def test_without_a_pass_the_order_post_is_sent_to_wait(user_client, room):
    data = {
        "listing": room["listing"].pk,
        "round": room["round"].pk,
        "units": 1,
        "idempotency_key": "no-pass-key-0000001",
    }
    response = user_client.post(reverse("purchases:order_confirm"), data)
    assert response.status_code == 302 and response.url == wait_url(room)
    assert not Order.objects.exists()


def test_a_forged_pass_is_refused(user_client, room):
    page = admitted(user_client, room)
    name = pass_cookie_name(room["round"].pk)
    value = user_client.cookies[name].value
    data, rest = value.split(":", 1)
    user_client.cookies[name] = data[:-2] + ("AA" if not data.endswith("AA") else "BB") + ":" + rest
    response = post_order(user_client, page)
    assert response.status_code == 302 and response.url == wait_url(room)
    # A pass signed with another key (made up, not issued here).
    forged = signing.dumps(
        {"r": room["round"].pk, "v": "x", "s": "y"}, key="not-our-secret", salt="waitingroom.pass"
    )
    user_client.cookies[name] = forged
    assert post_order(user_client, page).url == wait_url(room)
    assert not Order.objects.exists()


def test_an_expired_pass_is_refused(user_client, room, monkeypatch):
    page = admitted(user_client, room)
    name = pass_cookie_name(room["round"].pk)
    visitor = signing.loads(user_client.cookies[name].value, salt="waitingroom.pass")["v"]
    issued = time.time() - room["room"].pass_ttl_seconds - 5
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    old = pass_make(
        round_id=room["round"].pk, visitor=visitor, session_key=user_client.session.session_key
    )
    monkeypatch.undo()
    user_client.cookies[name] = old
    response = post_order(user_client, page)
    assert response.status_code == 302 and response.url == wait_url(room)
    assert not Order.objects.exists()


def test_another_session_s_pass_is_refused(user_client, room):
    page = admitted(user_client, room)
    name = pass_cookie_name(room["round"].pk)
    other = Client()
    other.force_login(make_user())
    other.cookies[name] = user_client.cookies[name].value
    response = post_order(other, page)
    assert response.status_code == 302 and response.url == wait_url(room)
    assert not Order.objects.exists()
    # A pass for another round is no pass for this one either.
    user_client.cookies[pass_cookie_name(room["round"].pk + 1)] = user_client.cookies[name].value
    del user_client.cookies[name]
    assert post_order(user_client, page).url == wait_url(room)


def test_redis_down_closes_admission_with_a_clear_message(user_client, room, settings):
    page = admitted(user_client, room)
    settings.WAITINGROOM_REDIS_URL = "redis://127.0.0.1:1/0"
    response = post_order(user_client, page)
    assert response.status_code == 302 and response.url == wait_url(room)
    assert not Order.objects.exists()
    assert user_client.get(confirm_url(room)).url == wait_url(room)  # never open to everyone
    closed = user_client.get(wait_url(room))
    assert closed.status_code == 503 and closed["Retry-After"]
    assert "購入の受付を一時的に止めています" in closed.content.decode()
    assert pass_cookie_name(room["round"].pk) not in closed.cookies


def test_a_disabled_or_absent_room_asks_for_nothing(user_client, user, room):
    WaitingRoom.objects.filter(pk=room["room"].pk).update(enabled=False)
    assert user_client.get(confirm_url(room)).status_code == 200
    WaitingRoom.objects.all().delete()
    assert user_client.get(confirm_url(room)).status_code == 200


def test_the_waiting_page_reads_no_database_writes_no_session_and_shows_nobody(
    user_client, user, room, django_assert_num_queries
):
    # Ahead in the queue: a hundred others, let in at one a second.
    WaitingRoom.objects.filter(pk=room["room"].pk).update(admit_per_second=1, max_concurrent=1)
    user_client.get(confirm_url(room))  # the room's settings go to Redis
    for i in range(100):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"other{i}", now=time.time())
    with django_assert_num_queries(0):
        response = user_client.get(wait_url(room))
    html = response.content.decode()
    assert response.status_code == 200
    assert "番目" in html and "待ち時間の目安" in html
    assert re.search(r'data-refresh="(2[5-9]|30)"', html)  # 101 s away: a quarter of it
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control
    assert response["CDN-Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    for personal in (user.email, user.family_name, user.given_name, user.phone, user.city):
        assert personal not in html
    # The same visitor again keeps their place (one signed visitor cookie, set once).
    again = user_client.get(wait_url(room))
    assert not again.cookies
    assert re.search(r"(\d+)</span> 番目", again.content.decode()).group(1) == re.search(
        r"(\d+)</span> 番目", html
    ).group(1)


def test_the_waiting_page_refreshes_with_jitter(user_client, room):
    WaitingRoom.objects.filter(pk=room["room"].pk).update(admit_per_second=1, max_concurrent=1)
    user_client.get(confirm_url(room))
    for i in range(5):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"other{i}", now=time.time())
    seen = {
        re.search(
            r'data-refresh="(\d+)"',
            user_client.get(wait_url(room)).content.decode(),
        ).group(1)
        for _ in range(30)
    }
    assert len(seen) > 1


@pytest.mark.parametrize(
    ("ahead", "fewest", "most"),
    [(5, 5, 10), (100, 25, 30), (1_000, 60, 65)],  # 6 s, 101 s and 1,001 s away at 1 a second
)
def test_the_further_back_the_less_often_the_page_comes_back(
    user_client, room, ahead, fewest, most
):
    WaitingRoom.objects.filter(pk=room["room"].pk).update(admit_per_second=1, max_concurrent=1)
    user_client.get(confirm_url(room))
    for i in range(ahead):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"other{i}", now=time.time())
    html = user_client.get(wait_url(room)).content.decode()
    assert fewest <= int(re.search(r'data-refresh="(\d+)"', html).group(1)) <= most


@pytest.mark.parametrize(
    "query",
    [
        "",
        "listing=abc&units=1",
        "listing=1&units=0",
        "listing=1&units=-1",
        "listing=1&units=100000",
        "listing=99999999999&units=1",
        "listing=１&units=1",
        "listing=1&units=1e3",
    ],
)
def test_bad_input_on_the_waiting_page_is_a_plain_400(user_client, room, query):
    url = reverse("waitingroom:wait", kwargs={"round_id": room["round"].pk})
    response = user_client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert "お店のページから購入をやり直してください" in response.content.decode()
    assert not response.cookies


def test_the_waiting_page_refuses_posts_and_sends_strangers_to_sign_in(client, room):
    assert client.post(wait_url(room)).status_code == 405
    response = client.get(wait_url(room))
    assert response.status_code == 200 and "ログイン" in response.content.decode()
    assert not response.cookies


def test_before_the_opening_visitors_wait_in_the_pre_queue(user_client, room):
    opens = timezone.now() + datetime.timedelta(minutes=10)
    type(room["round"]).objects.filter(pk=room["round"].pk).update(opens_at=opens)
    to_wait = user_client.get(confirm_url(room))
    assert to_wait.status_code == 302 and to_wait.url == wait_url(room)
    page = user_client.get(to_wait.url)
    html = page.content.decode()
    assert page.status_code == 200 and 'data-state="pre"' in html
    assert "抽選" in html
    assert queue.client().scard(Keys(room["round"].pk).pre) == 1


def test_the_till_and_the_tickets_never_wait(room, user):
    """The queue paused and crowded, and Redis gone for the queue: the shop's till and the
    supporter's tickets are answered as ever."""
    from purchases.services import PaymentResult, order_create, payment_record

    WaitingRoom.objects.filter(pk=room["room"].pk).update(paused=True)
    for i in range(500):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"crowd{i}", now=time.time())
    now = timezone.now()
    order = order_create(
        supporter=user,
        listing_id=room["listing"].pk,
        round_id=room["round"].pk,
        units=1,
        idempotency_key="till-order-0001",
        now=now,
    )
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_till", order.amount, True, now), now=now
    )
    ticket = order.tickets.first()
    supporter = Client()
    supporter.force_login(user)
    operator = make_user()
    room["shop"].operators.add(operator)
    till = Client()
    till.force_login(operator)
    till_url = reverse("purchases:manage_redeem", kwargs={"shop_id": room["shop"].pk})
    for redis_url in (None, "redis://127.0.0.1:1/0"):
        if redis_url:
            from django.test import override_settings

            override = override_settings(WAITINGROOM_REDIS_URL=redis_url)
            override.enable()
        try:
            assert supporter.get(reverse("purchases:ticket_list")).status_code == 200
            assert supporter.get(ticket.get_absolute_url()).status_code == 200
            assert till.get(till_url).status_code == 200
            answer = till.post(till_url, {"code": ticket.code, "amount": "100"})
            assert answer.status_code == 200 and "waiting" not in answer.get("Location", "")
        finally:
            if redis_url:
                override.disable()


def test_before_the_opening_the_shop_page_leads_to_the_pre_queue_only_with_a_room(client, room):
    """The public page offers its form before the opening only while a waiting room is open."""
    form = 'action="{}"'.format(reverse("purchases:order_confirm"))
    opens = timezone.now() + datetime.timedelta(minutes=10)
    type(room["round"]).objects.filter(pk=room["round"].pk).update(opens_at=opens)
    assert form in client.get(room["shop"].get_absolute_url()).content.decode()
    WaitingRoom.objects.filter(pk=room["room"].pk).update(opens_before_minutes=5)
    assert form not in client.get(room["shop"].get_absolute_url()).content.decode()
    WaitingRoom.objects.all().delete()
    assert form not in client.get(room["shop"].get_absolute_url()).content.decode()
