import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from settlements.models import SettlementRun, Statement
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(db):
    project = make_project(slug="yamaguchi")
    make_round(project)
    return project


def test_the_command_closes_the_period_for_the_staff_member_named(project):
    staff = make_user(email="closer@example.jp", is_staff=True)
    use(make_ticket(make_shop(project)), 1_000, at(datetime.date(2026, 12, 1)))
    out = StringIO()

    call_command(
        "settlement_run",
        "--project=yamaguchi",
        "--period-end=2026-12-15",
        "--staff=closer@example.jp",
        stdout=out,
    )

    run = SettlementRun.objects.get()
    assert run.created_by == staff and run.period_end == datetime.date(2026, 12, 15)
    assert Statement.objects.get(run=run).face_value == 1_000
    assert "1 statement(s)" in out.getvalue()


def test_the_command_refuses_a_non_staff_account_and_a_day_that_is_not_a_closing_day(project):
    make_user(email="supporter@example.jp")
    make_user(email="closer@example.jp", is_staff=True)

    with pytest.raises(CommandError, match="no active staff member"):
        call_command(
            "settlement_run",
            "--project=yamaguchi",
            "--period-end=2026-12-15",
            "--staff=supporter@example.jp",
        )
    with pytest.raises(CommandError, match="締め日ではありません"):
        call_command(
            "settlement_run",
            "--project=yamaguchi",
            "--period-end=2026-12-14",
            "--staff=closer@example.jp",
        )
    assert not SettlementRun.objects.exists()
