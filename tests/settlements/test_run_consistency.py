"""The run writes its use lines in one INSERT ... SELECT after summing them per shop: a use
recorded between the two must not leave a statement whose total differs from its lines."""

import datetime

import pytest
from django.utils import timezone

from settlements import services
from settlements.models import SettlementRun, Statement, StatementLine
from settlements.services import SettlementError, settlement_run
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


def test_a_use_recorded_while_the_run_is_made_refuses_the_run_and_saves_nothing(
    project, staff, monkeypatch
):
    shop = make_shop(project)
    use(make_ticket(shop), 1_000, at(D(2026, 12, 1)))
    original = services._insert_use_lines

    def with_a_use_meanwhile(run, uses):
        use(make_ticket(shop), 700, at(D(2026, 12, 2)))
        return original(run, uses)

    monkeypatch.setattr(services, "_insert_use_lines", with_a_use_meanwhile)

    with pytest.raises(SettlementError) as refused:
        settlement_run(project=project, period_end=D(2026, 12, 15), staff=staff, now=NOW)

    assert refused.value.code == "changed_meanwhile"
    assert "もう一度作成してください" in refused.value.message
    assert not SettlementRun.objects.exists() and not StatementLine.objects.exists()


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
