"""The public line (waitingroom.queue.queue_line): tickets without gaps, so that one number
for everyone (how many have been let in) gives each visitor their place; the line alone moves
the queue; the pre-queue's drawn order published by place name."""

import random

import pytest

from tests.waitingroom.test_queue import OPENS, ROUND, _empty_room, publish  # noqa: F401
from waitingroom import queue
from waitingroom.queue import Keys, place_name, places_part, queue_line, queue_visit

pytestmark = pytest.mark.redis


def places_by_line(visitors: dict[str, int], admitted: int) -> dict[str, int]:
    """What each visitor's page script works out: ticket - admitted + 1."""
    return {v: ticket - admitted + 1 for v, ticket in visitors.items()}


def places_in_redis() -> dict[str, int]:
    members = queue.client().zrange(Keys(ROUND).queue, 0, -1)
    return {m.decode(): i + 1 for i, m in enumerate(members)}


def test_one_number_for_everyone_gives_every_visitor_their_place():
    publish(rate=3, most=5, ttl=60)
    rng = random.Random(7)
    pre = [f"pre{i}" for i in range(40)]
    for v in pre:
        assert queue_visit(round_id=ROUND, visitor=v, now=OPENS - 100).state == "pre"
    tickets: dict[str, int] = {}
    later = iter(f"late{i}" for i in range(1000))
    now = OPENS
    # The opening, then arrivals, looks at the line, visits, and passes that lapse unused (a
    # visitor whose pass lapsed queues again with a new ticket): the arithmetic must hold
    # after every step.
    for step in range(400):
        now += rng.uniform(0.05, 2.0)
        choice = rng.random()
        if choice < 0.3:
            v = next(later)
            standing = queue_visit(round_id=ROUND, visitor=v, now=now)
            if standing.state == "waiting":
                tickets[v] = standing.ticket
        elif choice < 0.6:
            queue_line(round_id=ROUND, now=now)
        else:
            v = rng.choice(pre + list(tickets) or pre)
            standing = queue_visit(round_id=ROUND, visitor=v, now=now)
            if standing.state == "waiting":
                tickets[v] = standing.ticket
                assert standing.position == standing.ticket - line_admitted(now) + 1
        line = queue_line(round_id=ROUND, now=now)
        expected = places_in_redis()
        # Every pre-queue member's ticket is its place in the drawn order.
        for v in pre:
            name = place_name(v)
            drawn = places_part(round_id=ROUND, part=name[:2])
            tickets.setdefault(v, drawn[name])
        worked_out = places_by_line(tickets, line.admitted)
        for v, place in expected.items():
            assert worked_out[v] == place, (step, v)
        assert line.waiting == len(expected)
    assert line.admitted >= 30  # five passes at a time, each lapsing after a minute


def line_admitted(now: float) -> int:
    return queue_line(round_id=ROUND, now=now).admitted


def test_the_line_alone_moves_the_queue_at_the_pace():
    publish(rate=4, most=1000)
    for i in range(100):
        queue_visit(round_id=ROUND, visitor=f"v{i:03d}", now=OPENS + 0.001 * i)
    start = queue_line(round_id=ROUND, now=OPENS + 1).admitted
    # Nobody visits; the front asks for a fresh copy of the line once a second.
    for second in range(2, 12):
        line = queue_line(round_id=ROUND, now=OPENS + second)
    assert line.state == "line" and line.admitted - start == 40
    assert line.waiting == 100 - line.admitted
    assert queue.client().zcard(Keys(ROUND).live) == line.admitted


def test_before_the_opening_the_line_counts_the_pre_queue_and_at_it_the_draw_is_made():
    publish()
    assert queue_line(round_id=ROUND, now=OPENS - 3600).state == "early"
    for i in range(30):
        queue_visit(round_id=ROUND, visitor=f"v{i:02d}", now=OPENS - 60)
    before = queue_line(round_id=ROUND, now=OPENS - 1)
    assert (before.state, before.pre, before.opens_at) == ("pre", 30, OPENS)
    assert places_part(round_id=ROUND, part="00") is None  # nothing drawn yet
    # Nobody reloads at the opening: the first look at the line draws the order.
    after = queue_line(round_id=ROUND, now=OPENS + 0.5)
    assert after.state == "line" and after.admitted + after.waiting == 30
    drawn = {}
    for part in {place_name(f"v{i:02d}")[:2] for i in range(30)}:
        drawn.update(places_part(round_id=ROUND, part=part))
    assert sorted(drawn.values()) == list(range(30))
    ranked = [m.decode() for m in queue.client().zrange(Keys(ROUND).queue, 0, -1)]
    popped = after.admitted
    for place, v in enumerate(ranked):
        assert drawn[place_name(v)] == popped + place
    # A later arrival's ticket follows on from the last drawn place.
    late = queue_visit(round_id=ROUND, visitor="late", now=OPENS + 1)
    assert late.ticket == 30


def test_the_line_names_nobody_and_a_paused_room_keeps_it_still():
    publish(rate=100, paused=True)
    for i in range(5):
        queue_visit(round_id=ROUND, visitor=f"secret-visitor-{i}", now=OPENS + i)
    line = queue_line(round_id=ROUND, now=OPENS + 30)
    assert (line.state, line.admitted, line.waiting, line.paused) == ("line", 0, 5, True)
    assert "secret-visitor" not in repr(line)


def test_place_names_do_not_give_the_visitor_away():
    name = place_name("token-of-the-visitor")
    assert len(name) == 16 and "token" not in name
    assert name == place_name("token-of-the-visitor") != place_name("token-of-another")
