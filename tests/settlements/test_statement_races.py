"""Two staff checking or approving overlapping selections of statements at once, on real
PostgreSQL (tests.concurrency.race: a thread and a connection each, every racer held by
KAIKA_DEBUG_PAUSE_AFTER_CHECKS between its checks and its write). With the lock each
statement is moved by exactly one of them and the other is told why; the negative control
(the statements read without the lock) lets both past the checks, so the statements they
share are moved twice: the race is really run."""

import datetime

import pytest
from django.utils import timezone

from settlements import services
from settlements.models import Statement, StatementStatus
from settlements.services import settlement_run, statements_approve, statements_check
from tests.concurrency import race
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))
STEPS = [
    pytest.param(statements_check, StatementStatus.DRAFT, "checked_by", id="check"),
    pytest.param(statements_approve, StatementStatus.CHECKED, "approved_by", id="approve"),
]


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.3


def _read_without_lock(statements):
    return list(
        Statement.objects.filter(pk__in=[s.pk for s in statements])
        .select_related("run", "shop")
        .order_by("pk")
    )


def overlapping_race(step, before):
    """Six statements; one staff member selects the first four, the other the last four."""
    preparer = make_user(email="bulk-race-preparer@example.jp", is_staff=True)
    project = make_project()
    make_round(project)
    for _ in range(6):
        use(make_ticket(make_shop(project)), 1_000, at(D(2026, 12, 1)))
    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=preparer, now=NOW)
    run.statements.update(status=before)
    statements = list(run.statements.order_by("pk"))
    selections = [statements[:4], statements[2:]]
    staff = [make_user(email=f"bulk-racer-{i}@example.jp", is_staff=True) for i in range(2)]

    def act(i):
        moved = step(statements=selections[i], by=staff[i], now=NOW)
        return {s.pk for s in moved.done}, [error.code for _, error in moved.refused]

    return run, staff, race(2, act)


@pytest.mark.parametrize(("step", "before", "by_field"), STEPS)
def test_each_statement_of_overlapping_selections_is_moved_once(step, before, by_field):
    run, staff, ((first, refused_1), (second, refused_2)) = overlapping_race(step, before)

    assert not first & second
    assert len(first | second) == 6
    # The one who came second is told about the two it found moved already.
    assert sorted(refused_1 + refused_2) == ["wrong_status", "wrong_status"]
    rows = dict(run.statements.values_list("pk", f"{by_field}_id"))
    assert {pk for pk, by in rows.items() if by == staff[0].pk} == first
    assert {pk for pk, by in rows.items() if by == staff[1].pk} == second


@pytest.mark.parametrize(("step", "before", "by_field"), STEPS)
def test_negative_control_without_the_lock_shared_statements_move_twice(
    step, before, by_field, monkeypatch
):
    monkeypatch.setattr(services, "_lock_statements", _read_without_lock)
    _run, _staff, ((first, _refused_1), (second, _refused_2)) = overlapping_race(step, before)
    # Both racers passed the checks on the two statements they share, and both moved them
    # (two history entries, the first staff member's name overwritten).
    assert first & second
