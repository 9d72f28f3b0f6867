"""Codes entered at the same instant, on real PostgreSQL: a code goes to exactly one account,
and an account gets at most one code of a project.

KAIKA_DEBUG_PAUSE_AFTER_CHECKS holds every racer between its checks (unused? none held yet?)
and its write, so only the conditional UPDATE and the partial unique constraint can keep the
rules. Each race has its negative control: with that UPDATE made unconditional, or that
constraint dropped, the same race must break the rule, which proves the race is really run.
"""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone

from residents import services
from residents.models import ResidentCode
from residents.services import resident_code_redeem
from tests.concurrency import race
from tests.conftest import make_user
from tests.projects.factories import make_project
from tests.residents.helpers import import_codes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 10


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.05
    settings.KAIKA_RESIDENT_CODE_RATE_LIMITS = {"account": (1000, 3600), "ip": (1000, 3600)}


def enter(user, typed: str):
    return resident_code_redeem(
        supporter=user, typed=typed, client_ip="192.0.2.1", now=timezone.now()
    )


def one_code_many_accounts() -> tuple[list, list]:
    project = make_project(residents_only=True)
    import_codes(project, "RACE-ONE-CODE")
    households = [make_user(email=f"household{i}@example.jp") for i in range(RACERS)]
    return race(RACERS, lambda i: enter(households[i], "RACEONECODE")), households


def test_one_code_entered_by_ten_accounts_at_once_goes_to_exactly_one():
    outcomes, _ = one_code_many_accounts()
    winners = [o for o in outcomes if isinstance(o, ResidentCode)]
    assert len(winners) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["used"] * (RACERS - 1)
    assert ResidentCode.objects.get().used_by == winners[0].used_by


def test_negative_control_with_an_unconditional_update_the_code_goes_to_several(monkeypatch):
    def claim_whatever(code_id, supporter_id, now):
        return bool(
            ResidentCode.objects.filter(pk=code_id).update(used_by_id=supporter_id, used_at=now)
        )

    monkeypatch.setattr(services, "_claim", claim_whatever)
    outcomes, _ = one_code_many_accounts()
    winners = [o for o in outcomes if isinstance(o, ResidentCode)]
    assert len(winners) > 1, "one winner without the condition: the race was not run"


def one_account_many_codes() -> list:
    project = make_project(residents_only=True)
    typed = [f"RACE-CODE-{i:04d}" for i in range(RACERS)]
    import_codes(project, *typed)
    household = make_user(email="one-household@example.jp")
    return race(RACERS, lambda i: enter(household, typed[i]))


@contextmanager
def one_per_account_dropped():
    (constraint,) = [
        c for c in ResidentCode._meta.constraints if c.name.endswith("one_per_account_and_project")
    ]
    with connection.schema_editor() as editor:
        editor.remove_constraint(ResidentCode, constraint)
    try:
        yield
    finally:
        ResidentCode.objects.update(used_by=None, used_at=None)
        with connection.schema_editor() as editor:
            editor.add_constraint(ResidentCode, constraint)


def test_one_account_entering_ten_codes_of_a_project_at_once_holds_exactly_one():
    outcomes = one_account_many_codes()
    assert len([o for o in outcomes if isinstance(o, ResidentCode)]) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_held"] * (RACERS - 1)
    assert ResidentCode.objects.filter(used_by__isnull=False).count() == 1


def test_negative_control_without_the_constraint_the_account_holds_several():
    with one_per_account_dropped():
        one_account_many_codes()
        held = ResidentCode.objects.filter(used_by__isnull=False).count()
    assert held > 1, "one code held without the constraint: the race was not run"
