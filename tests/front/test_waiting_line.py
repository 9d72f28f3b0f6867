"""The waiting room's public line through the real nginx (issue 23): every waiting browser
reads it every few seconds, signed in or not, and nginx answers them from one copy a second;
the app makes that copy. The waiting page beside it is never kept."""

import os
import secrets
import time
from collections import Counter

import pytest

from canary.walk import FROM_CACHE, request
from tests.front.stack import fronts
from tests.projects.factories import make_project, make_round, make_shop
from waitingroom import queue
from waitingroom.admission import room_sync
from waitingroom.models import WaitingRoom
from waitingroom.queue import Keys

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
]


def test_the_front_answers_the_waiting_crowd_from_one_copy_of_the_line_a_second(tmp_path, settings):
    round_ = make_round(make_project(), number=1)
    listing = make_shop(round_.project).listings.get()
    # The stack's key prefix (tests/front/stack.py), so that this process and the app share
    # the room in Redis.
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"kaika-live-{os.getpid()}"},
    }
    room = WaitingRoom.objects.create(round=round_, admit_per_second=1, max_concurrent=1)
    room_sync(room)
    rid = round_.pk
    for i in range(30):
        queue.queue_visit(round_id=rid, visitor=f"other{i}", now=time.time())
    line = f"/rounds/{rid}/waiting/line/"
    try:
        with fronts(tmp_path, nodes=1, kaika_2021=False) as stack:
            statuses: Counter = Counter()
            bodies = set()
            started = time.monotonic()
            for i in range(400):
                # Signed-in browsers (a session cookie, which elsewhere means "never a stored
                # page"), anonymous ones, and one that tries to get past the copy.
                jar = {settings.SESSION_COOKIE_NAME: secrets.token_hex(16)} if i % 2 else {}
                path = line if i % 5 else f"{line}?nocache={i}"
                response = request(stack.port, "GET", path, jar)
                assert response.status == 200, response.body[:300]
                assert not response.cookies()
                statuses[response.header("X-Cache-Status")] += 1
                bodies.add(response.body)
            elapsed = time.monotonic() - started
            made = stack.nodes[0].count("GET", line)
            # One copy a second reaches the app (plus the first, and one being refreshed).
            assert 1 <= made <= elapsed + 2, (made, elapsed, statuses)
            assert sum(statuses[s] for s in FROM_CACHE) >= 400 - made, statuses
            # Each copy lets the head in at the pace: the line moved while nobody reloaded.
            assert len(bodies) <= made
            assert '"state": "line"' in next(iter(bodies))

            # The waiting page itself is never stored: two visitors, two tickets.
            wait = f"/rounds/{rid}/waiting/?listing={listing.pk}&units=1"
            pages = [
                request(stack.port, "GET", wait, {settings.SESSION_COOKIE_NAME: f"s{i}" * 16})
                for i in range(2)
            ]
            for page in pages:
                assert page.header("X-Cache-Status") not in FROM_CACHE
                assert "no-store" in page.header("Cache-Control")
            assert pages[0].body != pages[1].body
    finally:
        queue.client().delete(*Keys(rid).all())
