"""The queue in Redis, with the clock passed in: the pre-queue shuffled once at the opening,
first in first out after it, admission at the configured pace and concurrency, pause."""

import pytest

from tests.concurrency import race
from waitingroom import queue
from waitingroom.queue import Keys, queue_visit, room_publish

pytestmark = pytest.mark.redis

OPENS = 2_000_000_000.0  # the opening, as a Unix time
ROUND = 4242


def publish(rate=5, most=100, ttl=600, paused=False, round_id=ROUND):
    room_publish(
        round_id=round_id,
        conf={
            "enabled": "1",
            "window": repr(OPENS - 1800),
            "opens": repr(OPENS),
            "rate": str(rate),
            "max": str(most),
            "ttl": str(ttl),
            "paused": "1" if paused else "0",
            "version": "test",
        },
    )


@pytest.fixture(autouse=True)
def _empty_room():
    yield
    queue.client().delete(*Keys(ROUND).all())


def admission_order(visitors, *, start, step=0.05, rounds=2000) -> list[str]:
    """Everyone polls in turn as the clock runs; the order in which they are let in."""
    admitted, now = [], start
    waiting = list(visitors)
    for _ in range(rounds):
        if not waiting:
            break
        now += step
        for v in list(waiting):
            if queue_visit(round_id=ROUND, visitor=v, now=now).state == "admitted":
                admitted.append(v)
                waiting.remove(v)
    return admitted


def spearman(a: list[str], b: list[str]) -> float:
    rank_b = {v: i for i, v in enumerate(b)}
    n = len(a)
    d2 = sum((i - rank_b[v]) ** 2 for i, v in enumerate(a))
    return 1 - 6 * d2 / (n * (n * n - 1))


def test_before_the_window_opens_nobody_joins():
    publish()
    assert queue_visit(round_id=ROUND, visitor="a", now=OPENS - 3600).state == "early"
    assert queue.client().scard(Keys(ROUND).pre) == 0


def test_the_pre_queue_is_shuffled_at_the_opening_so_arrival_order_does_not_count():
    publish(rate=50, most=1000)
    arrivals = [f"v{i:03d}" for i in range(200)]
    for i, v in enumerate(arrivals):
        standing = queue_visit(round_id=ROUND, visitor=v, now=OPENS - 600 + i)
        assert standing.state == "pre" and standing.position == i + 1
    admitted = admission_order(arrivals, start=OPENS)
    assert sorted(admitted) == sorted(arrivals)  # everyone, once
    rho = spearman(arrivals, admitted)
    # Independent of arrival: the rank correlation of 200 is within ±0.07 one time in 1.5;
    # ±0.3 is four standard deviations (it is 1.0 for first come first served).
    assert abs(rho) < 0.3, rho
    assert admitted != arrivals


def test_a_second_shuffle_is_not_done_and_two_openings_differ():
    publish(rate=1000, most=1000)
    arrivals = [f"v{i:03d}" for i in range(50)]
    for v in arrivals:
        queue_visit(round_id=ROUND, visitor=v, now=OPENS - 10)
    assert queue.queue_shuffle(round_id=ROUND) is True
    first = [m.decode() for m in queue.client().zrange(Keys(ROUND).queue, 0, -1)]
    assert queue.queue_shuffle(round_id=ROUND) is False  # the lock: once per opening
    assert sorted(first) == sorted(arrivals)


def test_after_the_opening_later_arrivals_queue_first_in_first_out_behind_the_pre_queue():
    publish(rate=2, most=1000)
    early = [f"early{i}" for i in range(10)]
    for v in early:
        queue_visit(round_id=ROUND, visitor=v, now=OPENS - 60)
    late = [f"late{i}" for i in range(10)]
    for i, v in enumerate(late):
        standing = queue_visit(round_id=ROUND, visitor=v, now=OPENS + 0.001 * (i + 1))
        assert standing.state in ("waiting", "admitted")
    admitted = admission_order(early + late, start=OPENS + 1)
    assert set(admitted[:10]) == set(early)
    assert admitted[10:] == late


def test_admission_keeps_to_the_rate_and_the_number_of_live_passes():
    publish(rate=2, most=3)
    visitors = [f"v{i}" for i in range(10)]
    for i, v in enumerate(visitors):
        queue_visit(round_id=ROUND, visitor=v, now=OPENS + 0.001 * i)

    def admitted_at(now):
        states = [queue_visit(round_id=ROUND, visitor=v, now=now).state for v in visitors]
        return states.count("admitted")

    # The bucket starts with one second's worth (2); one second later two more tokens, but
    # only three passes may live at once.
    assert admitted_at(OPENS + 0.2) == 2
    assert admitted_at(OPENS + 1.5) == 3
    assert admitted_at(OPENS + 100) == 3
    first = {v for v in visitors if queue.client().zscore(Keys(ROUND).live, v)}
    # A pass lapses after its ttl (600 s): its slot goes to the next in line, and whoever
    # held it queues again at the back.
    assert admitted_at(OPENS + 700) == 3
    now_in = {v for v in visitors if queue.client().zscore(Keys(ROUND).live, v)}
    assert not first & now_in
    assert queue.client().zcard(Keys(ROUND).queue) == 7


def test_when_few_visitors_reload_admission_still_keeps_the_pace_but_not_more():
    publish(rate=2, most=1000)
    visitors = [f"v{i:02d}" for i in range(40)]
    for i, v in enumerate(visitors):
        queue_visit(round_id=ROUND, visitor=v, now=OPENS + 0.001 * i)
    live = Keys(ROUND).live
    assert queue.client().zcard(live) == 2
    # Only one visitor reloads, every 8 s: each reload lets in the 16 the pace allowed since.
    queue_visit(round_id=ROUND, visitor="v39", now=OPENS + 8)
    assert queue.client().zcard(live) == 2 + 16
    # After a long lull, no more than BURST_SECONDS' worth at once.
    queue_visit(round_id=ROUND, visitor="v39", now=OPENS + 300)
    assert queue.client().zcard(live) == 2 + 16 + 2 * queue.BURST_SECONDS


def test_a_paused_room_admits_nobody_and_keeps_the_places():
    publish(rate=100, most=100, paused=True)
    for i in range(5):
        queue_visit(round_id=ROUND, visitor=f"v{i}", now=OPENS + i)
    standing = queue_visit(round_id=ROUND, visitor="v3", now=OPENS + 60)
    assert standing.state == "waiting" and standing.paused and standing.position == 4
    publish(rate=100, most=100, paused=False)
    assert queue_visit(round_id=ROUND, visitor="v3", now=OPENS + 61).state == "admitted"


def test_the_estimated_wait_follows_the_position_and_the_rate():
    publish(rate=1, most=1)
    for i in range(31):
        queue_visit(round_id=ROUND, visitor=f"v{i}", now=OPENS + 0.001 * i)
    standing = queue_visit(round_id=ROUND, visitor="v30", now=OPENS + 0.1)
    assert standing.state == "waiting" and standing.position == 30
    assert standing.wait_seconds == 30


def opening_second_rush(monkeypatch) -> dict:
    """100 visitors in the pre-queue, polled by 8 processes at once in the opening second:
    each process's standings, and how many shuffles were written."""
    publish(rate=1, most=1)
    arrivals = [f"v{i:03d}" for i in range(100)]
    for v in arrivals:
        queue_visit(round_id=ROUND, visitor=v, now=OPENS - 5)
    shuffles = []
    shuffle = queue.queue_shuffle

    def counted(**kwargs):
        done = shuffle(**kwargs)
        if done:
            shuffles.append(kwargs["round_id"])
        return done

    monkeypatch.setattr(queue, "queue_shuffle", counted)

    def poll(i):
        return {
            v: queue_visit(round_id=ROUND, visitor=v, now=OPENS + 0.01).state
            for v in arrivals[i::8]
        }

    states = {v: state for chunk in race(8, poll) for v, state in chunk.items()}
    return {"arrivals": arrivals, "states": states, "shuffles": len(shuffles)}


@pytest.fixture
def shuffle_then_a_pause(settings):
    # Holds the shuffler between reading the pre-queue and writing its order: only the lock
    # keeps the other processes from shuffling too.
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.05


def test_many_processes_at_the_opening_second_shuffle_once_and_lose_nobody(
    shuffle_then_a_pause, monkeypatch
):
    rush = opening_second_rush(monkeypatch)
    arrivals, states = rush["arrivals"], rush["states"]
    assert rush["shuffles"] == 1
    r = queue.client()
    k = Keys(ROUND)
    assert r.zcard(k.queue) + r.zcard(k.live) == 100
    assert r.zcard(k.live) == 1
    assert r.scard(k.pre) == 0 and not r.exists(k.frozen)
    # Whoever came while the shuffle ran was told so; everyone is placed once it is done.
    assert set(states.values()) <= {"shuffling", "waiting", "admitted"}
    positions = {
        queue_visit(round_id=ROUND, visitor=v, now=OPENS + 0.02).position for v in arrivals
    }
    assert positions - {None} == set(range(1, 100))


def test_negative_control_without_the_shuffle_lock_several_processes_shuffle(
    shuffle_then_a_pause, monkeypatch
):
    # Proves the rush above is run at once: with the lock removed, more than one process
    # reads the frozen pre-queue and writes its own order over the others'.
    monkeypatch.setattr(queue, "_shuffle_lock", lambda r, k: True)
    rush = opening_second_rush(monkeypatch)
    assert rush["shuffles"] > 1, "one shuffle without the lock: the processes did not race"


def test_redis_unreachable_is_room_closed(settings):
    settings.WAITINGROOM_REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(queue.RoomClosed):
        queue_visit(round_id=ROUND, visitor="a", now=OPENS)
