"""bench/waitroom_fairness.py at a small scale: it drives the real VISIT script directly (in
pipelines), so a change to the script's arguments must not leave it failing unseen (it did
once: a listing argument was added and the bench stopped admitting anyone)."""

import pytest

from bench import waitroom_fairness

pytestmark = pytest.mark.redis


def test_the_fairness_bench_runs_the_real_script_and_finds_it_fair():
    result = waitroom_fairness.simulate(3000)
    assert result["admitted"] == result["visitors"] == 3000
    assert result["pre_queue"] > 0 and result["after_opening"] > 0
    # The pre-queue's order owes nothing to arrival or client speed; later, first in first out.
    assert abs(result["rho_pre_arrival"]) < 0.2 and abs(result["rho_pre_client_speed"]) < 0.2
    assert result["post_fifo"] and result["pre_before_post"]
