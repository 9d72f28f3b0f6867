"""Fairness of the waiting room (issue 23), on the real queue in Redis with a simulated clock.

    python -m bench.waitroom_fairness [VISITORS]      (run by bench/waitroom.py; prints JSON)

VISITORS arrive uniformly within the 60 s around the opening, each polling at its own pace
(a fast or slow client: every 2-10 s, plus the page's 0-5 s jitter), through the same Lua
script as the waiting page. Printed: the rank correlation of admission order with arrival
order and with client speed inside the pre-queue (near 0 is fair), and whether the later
arrivals were admitted first in, first out, all behind the pre-queue.
"""

import heapq
import itertools
import json
import os
import random
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
django.setup()

from waitingroom import queue  # noqa: E402
from waitingroom.queue import VISIT, Keys, queue_shuffle, room_publish  # noqa: E402

ROUND = 900_000_001  # no real round has this id
OPENS = 2_000_000_000.0
RATE, TTL = 200, 3600


def ranks(values: list[float]) -> list[float]:
    """Average ranks (ties share the mean of their places)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2
        i = j + 1
    return result


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb)


def simulate(n: int) -> dict:
    rng = random.Random(23)  # the simulated visitors' behaviour only; the shuffle is SystemRandom
    r = queue.client()
    k = Keys(ROUND)
    r.delete(*k.all())
    room_publish(
        round_id=ROUND,
        conf={
            "enabled": "1",
            "window": repr(OPENS - 1800),
            "opens": repr(OPENS),
            "rate": str(RATE),
            "max": str(n + 1),
            "ttl": str(TTL),
            "paused": "0",
            "version": "bench",
        },
    )
    visit = r.register_script(VISIT)
    keys = k.scripts()
    arrival = {f"v{i:05d}": OPENS - 30 + 60 * rng.random() for i in range(n)}
    pace = {v: rng.uniform(2, 10) for v in arrival}
    events = [(t, v) for v, t in arrival.items()]
    heapq.heapify(events)
    admitted_seen, calls, started = set(), 0, time.monotonic()
    while events:
        batch_end = events[0][0] + 0.5
        if events[0][0] < OPENS:
            batch_end = min(batch_end, OPENS)  # the opening: the shuffle comes between
        batch = []
        while events and events[0][0] < batch_end:
            batch.append(heapq.heappop(events))
        if batch[0][0] >= OPENS and not r.exists(k.ready):
            queue_shuffle(round_id=ROUND)  # the first poll after the opening does it
        with r.pipeline(transaction=False) as pipe:
            for t, v in batch:
                visit(
                    keys=keys,
                    args=[repr(t), queue.BURST_SECONDS, v, ""],  # no listing named
                    client=pipe,
                )
            answers = pipe.execute()
        calls += len(batch)
        for (t, v), answer in zip(batch, answers, strict=True):
            state = answer[0].decode()
            if state == "admitted":
                admitted_seen.add(v)
            else:
                heapq.heappush(events, (t + pace[v] + 5 * rng.random(), v))
    seconds = time.monotonic() - started
    # When each was let in: its pass expires TTL after that (no pass lapses in this run).
    admitted_at = {m.decode(): s - TTL for m, s in r.zrange(k.live, 0, -1, withscores=True)}
    r.delete(*k.all())
    pre = [v for v in arrival if arrival[v] < OPENS]
    post = sorted((v for v in arrival if arrival[v] >= OPENS), key=arrival.get)
    post_times = [admitted_at[v] for v in post]
    return {
        "visitors": n,
        "pre_queue": len(pre),
        "after_opening": len(post),
        "admitted": len(admitted_at),
        "rate_per_s": RATE,
        "lua_calls": calls,
        "lua_calls_per_s": round(calls / seconds),
        "rho_pre_arrival": round(
            spearman([arrival[v] for v in pre], [admitted_at[v] for v in pre]), 4
        ),
        "rho_pre_client_speed": round(
            spearman([pace[v] for v in pre], [admitted_at[v] for v in pre]), 4
        ),
        "rho_post_arrival": round(spearman([arrival[v] for v in post], post_times), 4),
        "post_fifo": all(a <= b for a, b in itertools.pairwise(post_times)),
        "pre_before_post": max(admitted_at[v] for v in pre) <= min(post_times),
        "last_admitted_after_opening_s": round(max(admitted_at.values()) - OPENS, 1),
    }


if __name__ == "__main__":
    print(json.dumps(simulate(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)))
