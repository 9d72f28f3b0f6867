"""Two staff starting the same period at once, on real PostgreSQL (see
tests/purchases/test_races.py for the pattern): tests.concurrency.race's threads, each on its
own connection, every racer held by KAIKA_DEBUG_PAUSE_AFTER_CHECKS between its checks and its
writes. With the lock, one run is made and the others are refused cleanly; the negative
control (the policy read without the lock) lets every racer through the checks, so only the
database's unique constraints stop the second run: the race is really run."""

import datetime

import pytest
from django.db import IntegrityError
from django.utils import timezone

from settlements import services
from settlements.models import SettlementPolicy, SettlementRun, StatementLine
from settlements.services import settlement_run
from tests.concurrency import race
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 4
D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.3


def _read_without_lock(project):
    SettlementPolicy.objects.get_or_create(project=project)
    return SettlementPolicy.objects.get(project=project)


def period_race():
    project = make_project()
    make_round(project)
    SettlementPolicy.objects.create(project=project)
    for _ in range(3):
        shop = make_shop(project)
        use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    staff = [make_user(email=f"settle-racer-{i}@example.jp", is_staff=True) for i in range(RACERS)]
    outcomes = race(
        RACERS,
        lambda i: settlement_run(
            project=project, period_end=D(2026, 12, 15), staff=staff[i], now=NOW
        ),
        expect=(IntegrityError,),
    )
    return project, outcomes


def test_staff_starting_the_same_period_at_once_make_one_run_and_the_others_are_told():
    project, outcomes = period_race()
    runs = [o for o in outcomes if isinstance(o, SettlementRun)]
    assert len(runs) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["overlaps"] * (RACERS - 1)
    assert SettlementRun.objects.filter(project=project).count() == 1
    assert StatementLine.objects.filter(statement__run__project=project).count() == 3


def test_negative_control_without_the_lock_every_racer_passes_the_checks(monkeypatch):
    monkeypatch.setattr(services, "_lock_policy", _read_without_lock)
    project, outcomes = period_race()
    # No clean refusal: the racers all got past the overlap check at once, and only the
    # unique constraints of the tables stopped the extra runs (an error page for staff).
    assert "overlaps" not in outcomes
    assert any(isinstance(o, IntegrityError) for o in outcomes)
    assert StatementLine.objects.filter(statement__run__project=project).count() == 3
