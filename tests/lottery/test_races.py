"""One application per person, whatever the requests race: two saves of the same supporter
released together, each held between its checks and its writes by the debug hook, on real
PostgreSQL. The supporter's row lock serialises them; the negative control (the lock taken
out) must end in the unique constraint's error, which proves the race is really run."""

import pytest
from django.db import IntegrityError

from lottery import services
from lottery.models import Application
from tests.concurrency import race
from tests.lottery.helpers import DURING, make_lottery_offer, people

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 4


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.2


def saves_race(offer, person) -> list:
    return race(
        RACERS,
        lambda i: (
            services.application_save(
                lottery=offer.lottery,
                supporter=person,
                wishes={offer.standard.pk: i + 1},
                now=DURING,
            ).pk
        ),
        expect=(IntegrityError,),
    )


def test_simultaneous_saves_of_one_person_make_one_application_and_no_error():
    offer = make_lottery_offer()
    (person,) = people(1, "racer")
    outcomes = saves_race(offer, person)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    application = Application.objects.get(supporter=person)
    assert application.lines.count() == 1


def test_negative_control_without_the_lock_the_race_hits_the_constraint(monkeypatch):
    monkeypatch.setattr(services, "_lock_supporter", lambda user_id: None)
    offer = make_lottery_offer()
    (person,) = people(1, "unlocked")
    outcomes = saves_race(offer, person)
    assert any(isinstance(o, IntegrityError) for o in outcomes), (
        "the unlocked race did not collide: the test cannot see races"
    )
    assert Application.objects.filter(supporter=person).count() == 1
