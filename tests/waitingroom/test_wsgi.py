"""The waiting room's own pool (waitingroom/wsgi.py): the same page as through the site, with
the same private and security headers, from Redis alone; every other request goes to the
site."""

import contextlib
import re
import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from tests.waitingroom.test_views import confirm_url, room, wait_url  # noqa: F401 (fixture)
from waitingroom import queue, wsgi
from waitingroom.admission import pass_cookie_name, room_sync
from waitingroom.models import WaitingRoom

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@contextlib.contextmanager
def connection_kept():
    """As Django's test client does: the test's transaction is not closed between requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(path: str, *, cookies: dict, method: str = "GET", app=wsgi.application):
    """The pool's WSGI application called as gunicorn calls it."""
    factory = getattr(RequestFactory(), method.lower())
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    environ = factory(path, HTTP_COOKIE=cookie, HTTP_HOST="testserver").environ
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), headers

    with connection_kept():
        response = app(environ, start_response)
        body = b"".join(response)
        response.close()
    headers: dict[str, list[str]] = {}
    for name, value in seen["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return seen["status"], headers, body.decode()


def queue_ahead(room, n=100):  # noqa: F811
    WaitingRoom.objects.filter(pk=room["room"].pk).update(admit_per_second=1, max_concurrent=1)
    room_sync(WaitingRoom.objects.select_related("round").get(pk=room["room"].pk))
    for i in range(n):
        queue.queue_visit(round_id=room["round"].pk, visitor=f"other{i}", now=time.time())


def test_the_pool_answers_the_page_as_the_site_does_from_redis_alone(
    user_client,
    user,
    room,  # noqa: F811 (the fixture)
    django_assert_num_queries,
):
    user_client.get(confirm_url(room))  # the room's settings go to Redis
    queue_ahead(room)
    session = user_client.cookies[settings.SESSION_COOKIE_NAME].value
    sessions = Session.objects.count()
    with django_assert_num_queries(0):
        status, headers, html = call(wait_url(room), cookies={"sessionid": session})
    assert status == 200
    assert "番目" in html and "待ち時間の目安" in html
    assert re.search(r'data-refresh="(2[5-9]|30)"', html)  # 101 s away: a quarter of it
    cache_control = headers["cache-control"][0]
    assert "private" in cache_control and "no-store" in cache_control
    assert headers["cdn-cache-control"] == ["no-store"]
    # The headers every page of the site carries.
    site = user_client.get(wait_url(room))
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert headers[name.lower()] == [site[name]]
    assert headers["content-language"] == ["ja"]
    # One cookie only, the signed visitor id: no session, no CSRF token, nobody's data.
    cookies = [c.split("=", 1)[0] for c in headers.get("set-cookie", [])]
    assert cookies == ["kaika_wr"]
    assert Session.objects.count() == sessions
    for personal in (user.email, user.family_name, user.given_name, user.phone, user.city):
        assert personal not in html
    # The visitor keeps their place through the pool as through the site.
    visitor = headers["set-cookie"][0].split(";")[0].split("=", 1)[1]
    position = re.search(r"(\d+)</span> 番目", html).group(1)
    cookies = {"sessionid": session, "kaika_wr": visitor}
    _, again, html = call(wait_url(room), cookies=cookies)
    # Not a new visitor (no cookie); ahead of them only fewer (one a second is let in).
    assert "set-cookie" not in again
    assert int(re.search(r"(\d+)</span> 番目", html).group(1)) <= int(position)


def test_the_pool_admits_with_a_pass_the_confirmation_accepts(user_client, room):  # noqa: F811
    user_client.get(confirm_url(room))
    session = user_client.cookies[settings.SESSION_COOKIE_NAME].value
    status, headers, _ = call(wait_url(room), cookies={"sessionid": session})
    assert status == 302 and headers["location"] == [confirm_url(room)]
    name = pass_cookie_name(room["round"].pk)
    sent = {c.split("=", 1)[0]: c.split(";")[0].split("=", 1)[1] for c in headers["set-cookie"]}
    user_client.cookies[name] = sent[name]
    assert user_client.get(confirm_url(room)).status_code == 200


def test_the_english_page_and_everything_else(user_client, room):  # noqa: F811
    user_client.get(confirm_url(room))
    queue_ahead(room, 3)
    session = user_client.cookies[settings.SESSION_COOKIE_NAME].value
    status, headers, html = call("/en" + wait_url(room), cookies={"sessionid": session})
    assert status == 200 and headers["content-language"] == ["en"]
    assert '<html lang="en">' in html
    # A bad query string is the page's own 400; not signed in, the page says to sign in.
    assert call(wait_url(room).split("?")[0] + "?listing=x", cookies={})[0] == 400
    assert "sign_in" in call(wait_url(room), cookies={})[2]
    # Anything else is the whole site's: a POST here (its CSRF check), a page, an unknown path.
    assert call(wait_url(room), cookies={}, method="POST")[0] == 403
    assert call("/", cookies={})[0] == 200
    assert call("/rounds/1/waiting/x/", cookies={})[0] == 404


def test_a_host_the_site_refuses_the_pool_refuses(room):  # noqa: F811
    environ = RequestFactory().get(wait_url(room), HTTP_HOST="evil.example").environ
    seen = {}
    with connection_kept():
        wsgi.application(environ, lambda status, headers, exc_info=None: seen.update(s=status))
    assert seen["s"].startswith("400")
