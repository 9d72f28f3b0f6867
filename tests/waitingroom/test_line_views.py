"""The public line and the drawn order through the views and the waiting pool: the same
answer for everyone, public for a second (the drawn order a minute), no database, no cookie,
nobody's data; the waiting page gives its script the ticket or the place name."""

import datetime
import json
import re
import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_user
from tests.waitingroom.test_views import confirm_url, room, wait_url  # noqa: F401 (fixture)
from tests.waitingroom.test_wsgi import call
from waitingroom import queue
from waitingroom.models import WaitingRoom
from waitingroom.queue import Keys, place_name

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def line_url(room) -> str:  # noqa: F811
    return reverse("waitingroom:line", kwargs={"round_id": room["round"].pk})


def places_url(room, part: str) -> str:  # noqa: F811
    return reverse("waitingroom:places", kwargs={"round_id": room["round"].pk, "part": part})


def crowded(client, room, ahead: int = 20):  # noqa: F811
    WaitingRoom.objects.filter(pk=room["room"].pk).update(admit_per_second=1, max_concurrent=1)
    client.get(confirm_url(room))  # the room's settings go to Redis
    for i in range(ahead):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"other{i}", now=time.time())


def test_the_line_is_the_same_public_answer_for_everyone(
    user_client,
    user,
    room,  # noqa: F811
    django_assert_num_queries,
):
    crowded(user_client, room)
    other = Client()
    other.force_login(make_user(email="someone-else@example.jp"))
    answers = []
    for client in (user_client, other, Client()):
        with django_assert_num_queries(0):
            response = client.get(line_url(room))
        assert response.status_code == 200 and not response.cookies
        cache_control = response["Cache-Control"]
        assert "public" in cache_control and "s-maxage=1" in cache_control
        assert "Cookie" not in response.get("Vary", "")
        answers.append(json.loads(response.content))
    for answer in answers:
        assert set(answer) == {
            "state",
            "admitted",
            "waiting",
            "rate",
            "paused",
            "sold_out",
            "ended",
        }
        assert answer["state"] == "line" and answer["rate"] == 1.0
    body = json.dumps(answers)
    for personal in (user.email, user.family_name, user.phone, "other1"):
        assert personal not in body


def test_the_waiting_page_gives_its_script_the_ticket_and_the_line(user_client, room):  # noqa: F811
    crowded(user_client, room)
    url = line_url(room)
    html = user_client.get(wait_url(room)).content.decode()
    main = re.search(r"<main [^>]*>", html).group(0)
    assert f'data-line="{url}"' in main
    ticket = int(re.search(r'data-ticket="(\d+)"', main).group(1))
    line = json.loads(user_client.get(line_url(room)).content)
    position = int(re.search(r"(\d+)</span> 番目", html).group(1))
    assert ticket - line["admitted"] + 1 == position
    # The English page follows the same line (one copy per round at the front).
    english = user_client.get("/en" + wait_url(room)).content.decode()
    assert f'data-line="{url}"' in english and "/en/" not in url


def test_before_the_opening_the_page_gives_a_place_name_and_its_part(user_client, room):  # noqa: F811
    opens = timezone.now() + datetime.timedelta(minutes=10)
    type(room["round"]).objects.filter(pk=room["round"].pk).update(opens_at=opens)
    user_client.get(confirm_url(room))
    html = user_client.get(wait_url(room)).content.decode()
    name = re.search(r'data-place="([0-9a-f]{16})"', html).group(1)
    visitor = user_client.cookies["kaika_wr"].value.split(":")[0]
    assert name == place_name(visitor)
    assert f'data-places="{line_url(room)}{name[:2]}/"' in html
    assert "data-ticket" not in html
    before = user_client.get(places_url(room, name[:2]))
    assert before.status_code == 200 and json.loads(before.content) == {"places": None}
    assert "s-maxage=1," in before["Cache-Control"] + ","  # not drawn yet: a second only
    line = json.loads(user_client.get(line_url(room)).content)
    assert line["state"] == "pre" and line["pre"] == 1 and line["opens"] == opens.timestamp()


def test_after_the_draw_each_part_lists_place_names_and_tickets(user_client, room):  # noqa: F811
    rid = room["round"].pk
    queue.client().delete(*Keys(rid).all())
    user_client.get(confirm_url(room))
    conf = queue.client().hgetall(Keys(rid).conf)
    opens = float(conf[b"opens"])
    # Ten visitors wait before the opening (the clock passed in), then it is drawn.
    queue.client().hset(Keys(rid).conf, "opens", repr(time.time() + 3600))
    for i in range(10):
        queue.queue_visit(round_id=rid, visitor=f"v{i}", now=time.time())
    queue.client().hset(Keys(rid).conf, "opens", repr(opens))
    line = json.loads(Client().get(line_url(room)).content)
    assert line["state"] == "line"
    found = {}
    for part in {place_name(f"v{i}")[:2] for i in range(10)}:
        response = Client().get(places_url(room, part))
        assert response.status_code == 200 and not response.cookies
        assert "public" in response["Cache-Control"]
        assert f"s-maxage={settings.WAITINGROOM_PLACES_SHARED_MAX_AGE}" in response["Cache-Control"]
        found.update(json.loads(response.content)["places"])
    assert sorted(found.values()) == list(range(10))
    assert {place_name(f"v{i}") for i in range(10)} == set(found)


@pytest.mark.parametrize("part", ["zz", "0", "000", "AB", "g1", "%2e%2e"])
def test_a_part_that_cannot_be_is_a_404(client, room, part):  # noqa: F811
    response = client.get(f"{line_url(room)}{part}/")
    assert response.status_code == 404 and not response.cookies


def test_redis_down_the_line_says_closed_to_everyone(client, room, settings):  # noqa: F811
    settings.WAITINGROOM_REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get(line_url(room))
    assert response.status_code == 200 and json.loads(response.content) == {"state": "closed"}
    assert client.post(line_url(room)).status_code == 405


def test_the_pool_answers_the_line_public_and_the_page_private(user_client, room):  # noqa: F811
    crowded(user_client, room)
    session = user_client.cookies[settings.SESSION_COOKIE_NAME].value
    status, headers, body = call(line_url(room), cookies={"sessionid": session})
    assert status == 200 and "set-cookie" not in headers
    assert "public" in headers["cache-control"][0] and "s-maxage=1" in headers["cache-control"][0]
    assert json.loads(body)["state"] == "line"
    assert call("/en" + line_url(room), cookies={})[0] == 200
    status, headers, _ = call(wait_url(room), cookies={"sessionid": session})
    assert "private" in headers["cache-control"][0]
