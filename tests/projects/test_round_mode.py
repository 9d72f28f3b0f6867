"""A round's allocation mode (first come / lottery) is fixed once anything depends on it: once
the round opened, once it holds an order or a lottery (applications need both). The round's
form, the service and admin refuse alike, with one sentence."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from projects.models import ALLOCATION_MODE_FIXED, AllocationMode, Round
from projects.services import CatalogError, round_allocation_mode_set
from tests.conftest import make_user
from tests.lottery.helpers import BEFORE, apply, make_lottery_offer, people
from tests.lottery.helpers import DURING as LOTTERY_DURING
from tests.projects.factories import make_project, make_round
from tests.projects.test_round_admin_message import change_data
from tests.purchases.helpers import DURING, buy, make_offer

pytestmark = pytest.mark.django_db
LATER = datetime.timedelta(days=3650)


def scheduled():
    round_ = make_round(make_project(), state="scheduled")
    return round_, round_.opens_at - datetime.timedelta(hours=1)


def opened():
    round_ = make_round(make_project())  # opened a day ago
    return round_, timezone.now()


def with_a_lottery():
    offer = make_lottery_offer()
    return offer.round, BEFORE


def with_applications():
    offer = make_lottery_offer()
    apply(offer, people(1)[0], {offer.standard: 1}, now=LOTTERY_DURING)
    return offer.round, LOTTERY_DURING


def with_orders_and_the_opening_moved_later():
    offer = make_offer()
    buy(offer, make_user())
    Round.objects.filter(pk=offer.round.pk).update(
        opens_at=models.F("opens_at") + LATER, closes_at=models.F("closes_at") + LATER
    )
    offer.round.refresh_from_db()
    return offer.round, DURING


def other(mode):
    return AllocationMode.FIRST_COME if mode == AllocationMode.LOTTERY else AllocationMode.LOTTERY


FIXED = [opened, with_a_lottery, with_applications, with_orders_and_the_opening_moved_later]


@pytest.mark.parametrize("case", FIXED)
def test_the_service_and_the_form_refuse_the_switch_with_one_sentence(case):
    round_, now = case()
    stored = round_.allocation_mode
    with pytest.raises(CatalogError) as refused:
        round_allocation_mode_set(round_=round_, mode=other(stored), now=now)
    assert refused.value.code == "allocation_mode_fixed"
    assert refused.value.message == str(ALLOCATION_MODE_FIXED)
    assert Round.objects.get(pk=round_.pk).allocation_mode == stored
    round_.allocation_mode = other(stored)
    assert round_.allocation_mode_fixed(now)
    with pytest.raises(ValidationError) as invalid:
        round_.full_clean()  # at the clock's time: opened, or holding an order or a lottery
    assert invalid.value.message_dict["allocation_mode"] == [str(ALLOCATION_MODE_FIXED)]


def test_a_round_not_yet_open_with_nothing_in_it_switches_both_ways():
    round_, now = scheduled()
    round_allocation_mode_set(round_=round_, mode=AllocationMode.LOTTERY, now=now)
    assert Round.objects.get(pk=round_.pk).is_lottery
    round_allocation_mode_set(round_=round_, mode=AllocationMode.FIRST_COME, now=now)
    assert not Round.objects.get(pk=round_.pk).is_lottery
    round_.allocation_mode = AllocationMode.LOTTERY
    round_.full_clean()


def test_an_unchanged_mode_is_never_refused():
    round_, now = opened()
    round_allocation_mode_set(round_=round_, mode=round_.allocation_mode, now=now)
    round_.full_clean()


def post(staff_client, round_, **changes):
    url = reverse("admin:projects_round_change", args=[round_.pk])
    return staff_client.post(url, change_data(round_, **changes), follow=True)


def test_admin_shows_the_sentence_on_the_mode_and_saves_nothing(staff_client):
    round_ = make_round(make_project())  # open now
    response = post(staff_client, round_, allocation_mode="lottery", usage_ends_on="2099-12-31")
    assert response.redirect_chain == []
    assert str(ALLOCATION_MODE_FIXED) in response.content.decode()
    stored = Round.objects.get(pk=round_.pk)
    assert stored.allocation_mode == AllocationMode.FIRST_COME
    assert stored.usage_ends_on == round_.usage_ends_on


def test_admin_switches_a_round_not_yet_open(staff_client):
    round_ = make_round(make_project(), state="scheduled")
    response = post(staff_client, round_, allocation_mode="lottery")
    assert response.redirect_chain
    assert Round.objects.get(pk=round_.pk).is_lottery


def test_admin_re_checks_under_the_lock_and_keeps_the_mode_if_the_round_changed_since(
    staff_client, monkeypatch
):
    # The form's check passed (as if the round opened between it and the save): the service's
    # locked re-check refuses, the rest of the form is saved and staff are told.
    monkeypatch.setattr(Round, "clean", models.Model.clean)
    round_ = make_round(make_project())
    response = post(staff_client, round_, allocation_mode="lottery", usage_ends_on="2099-12-31")
    assert response.redirect_chain
    assert str(ALLOCATION_MODE_FIXED) in response.content.decode()
    stored = Round.objects.get(pk=round_.pk)
    assert stored.allocation_mode == AllocationMode.FIRST_COME
    assert stored.usage_ends_on == datetime.date(2099, 12, 31)
