"""bench/waitroom_crowd.py at a tiny scale, against the real site (live server, PostgreSQL,
Redis): 20 signed-in visitors around an opening, a listing of 5, so that the crowd client,
its setup and the check after cannot rot unseen."""

import asyncio
import json

import pytest

from bench import waitroom_crowd, waitroom_setup
from waitingroom import queue
from waitingroom.queue import Keys

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_crowd_waits_is_let_in_and_buys_no_more_than_the_stock(
    live_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(waitroom_setup, "CROWD_STOCK", 5)
    out = tmp_path / "crowd.json"
    waitroom_setup.crowd(20, 2.0, str(out))
    data = json.loads(out.read_text())
    try:
        crowd = waitroom_crowd.Crowd(data, live_server.url, seconds=12, spread=1.0)
        result = asyncio.run(crowd.run())
    finally:
        queue.client().delete(*Keys(data["round_id"]).all())

    assert result["visitors"] == 20 and result["client_errors"] == 0
    assert result["wait_200"] > 0 and result["admitted"] > 5
    # Five bought; the others let in found it sold out; nobody bought twice.
    assert result["outcomes"]["ordered"] == 5
    assert result["order_posts"] >= 5 and result["order_post_p99_ms"] > 0
    check = waitroom_setup.crowd_check(data["project_id"])
    assert check["units_in_orders"] == check["units_sold"] == check["stock"] == 5
    assert check["stock_overshoot"] == 0 and check["budget_overshoot"] == 0
    assert check["supporters_with_two_orders"] == 0 and check["counters_match_orders"]
