"""The run reads the period's uses once (services.PERIOD_USES) and takes both the statements'
totals and their lines from that: a use recorded while the run is made cannot leave a
statement whose total differs from its lines; it waits for the next period."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from settlements import services
from settlements.models import Statement, StatementLine
from settlements.services import settlement_run
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

pytestmark = pytest.mark.django_db

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))


@pytest.fixture
def project(db):
    project = make_project()
    make_round(project)
    return project


@pytest.fixture
def staff(db):
    return make_user(email="consistency-staff@example.jp", is_staff=True)


UNTIL = timezone.make_aware(datetime.datetime(2026, 12, 16))


def _with_a_use_meanwhile(monkeypatch, shop, *, read_again: bool):
    """A use recorded between the run's reading of the uses and its writing of the lines;
    with `read_again`, the lines come from a second reading of the live uses instead (the
    design this replaced: the negative control)."""
    original = services._insert_use_lines

    def insert(run):
        use(make_ticket(shop), 700, at(D(2026, 12, 2)))
        if read_again:
            uses_sql, params = services._period_use_values(
                shop.project, UNTIL
            ).query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f'TRUNCATE "{services.PERIOD_USES}"')
                cursor.execute(f'INSERT INTO "{services.PERIOD_USES}" {uses_sql}', params)
        return original(run)

    monkeypatch.setattr(services, "_insert_use_lines", insert)


def test_a_use_recorded_while_the_run_is_made_waits_for_the_next_period(
    project, staff, monkeypatch
):
    shop = make_shop(project)
    use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    _with_a_use_meanwhile(monkeypatch, shop, read_again=False)

    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=staff, now=NOW)

    statement = Statement.objects.get(run=run)
    assert statement.face_value == sum(line.face_value for line in statement.lines.all())
    assert statement.face_value == 1_000
    monkeypatch.undo()
    later = settlement_run(project=project, period_end=D(2026, 12, 31), staff=staff, now=NOW)
    assert Statement.objects.get(run=later).face_value == 700
    assert StatementLine.objects.filter(ticket_use__isnull=False).count() == 2


def test_negative_control_lines_read_again_disagree_with_the_totals(project, staff, monkeypatch):
    shop = make_shop(project)
    use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    _with_a_use_meanwhile(monkeypatch, shop, read_again=True)

    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=staff, now=NOW)

    statement = Statement.objects.get(run=run)
    assert statement.face_value == 1_000
    assert sum(line.face_value for line in statement.lines.all()) == 1_700


def test_without_a_use_meanwhile_the_same_run_goes_through_with_totals_equal_to_its_lines(
    project, staff
):
    # The control of the test above: the same data, nothing in between.
    shop = make_shop(project)
    use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    use(make_ticket(shop), 700, at(D(2026, 12, 2)))

    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=staff, now=NOW)

    statement = Statement.objects.get(run=run)
    lines = list(statement.lines.all())
    assert statement.face_value == sum(line.face_value for line in lines) == 1_700
    assert statement.supporter_part == sum(line.supporter_part for line in lines)
