"""Staff switching a lottery round to first come while other staff set up its lottery, on
real PostgreSQL: both read the round under its lock (projects.services._lock_round,
lottery.services._lock_round), each held by KAIKA_DEBUG_PAUSE_AFTER_CHECKS between its checks
and its write, so one of the two is refused and no lottery is left on a first-come round. The
negative control takes both locks out: both pass their checks, and the lottery is made on a
round switched to first come, which proves the race is really run."""

import datetime

import pytest

from lottery import services as lottery_services
from lottery.models import LotteryRound
from lottery.services import lottery_create
from projects import services as projects_services
from projects.models import AllocationMode, Round
from projects.services import round_allocation_mode_set
from tests.concurrency import race
from tests.projects.factories import make_project, make_round

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.3


def switch_during_set_up():
    round_ = make_round(make_project(), state="scheduled", allocation_mode=AllocationMode.LOTTERY)
    now = round_.opens_at - datetime.timedelta(days=1)
    jobs = [
        lambda: lottery_create(round_=round_, payment_hours=72, now=now),
        lambda: round_allocation_mode_set(
            round_=Round.objects.get(pk=round_.pk), mode=AllocationMode.FIRST_COME, now=now
        ),
    ]
    outcomes = race(len(jobs), lambda i: jobs[i]())
    return outcomes, Round.objects.get(pk=round_.pk)


def test_setting_up_a_lottery_and_switching_to_first_come_at_once_one_is_refused():
    (created, switched), round_ = switch_during_set_up()
    refusals = [o for o in (created, switched) if isinstance(o, str)]
    assert refusals in (["not_lottery"], ["allocation_mode_fixed"])
    assert LotteryRound.objects.filter(round=round_).exists() == round_.is_lottery


def test_negative_control_without_the_round_locks_a_lottery_is_left_on_a_first_come_round(
    monkeypatch,
):
    def read(round_id):
        return Round.objects.get(pk=round_id)

    monkeypatch.setattr(projects_services, "_lock_round", read)
    monkeypatch.setattr(lottery_services, "_lock_round", read)
    (created, switched), round_ = switch_during_set_up()
    assert isinstance(created, LotteryRound) and isinstance(switched, Round)
    assert not round_.is_lottery  # a lottery, with its published seed, on a first-come round
