"""Saving a round in admin says shops joined it only when shops actually did."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from projects.models import ShopRound
from projects.services import round_enrol_shops
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = pytest.mark.django_db
JOINED = "店舗がこの期に参加しました"


def change_data(round_, **changes) -> dict:
    local = {name: timezone.localtime(getattr(round_, name)) for name in ("opens_at", "closes_at")}
    local["shop_applications_close_at"] = timezone.localtime(round_.shop_applications_close_at)
    data = {
        "project": round_.project_id,
        "number": round_.number,
        "usage_starts_on": round_.usage_starts_on.isoformat(),
        "usage_ends_on": round_.usage_ends_on.isoformat(),
        "allocation_mode": round_.allocation_mode,
        "suspension_reason": "",
    }
    for name, value in local.items():
        data[f"{name}_0"] = value.date().isoformat()
        data[f"{name}_1"] = value.strftime("%H:%M:%S")
    return {**data, **changes}


def saved_messages(staff_client, round_, **changes) -> list[str]:
    url = reverse("admin:projects_round_change", args=[round_.pk])
    response = staff_client.post(url, change_data(round_, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changing_only_a_date_says_no_shop_joined(staff_client):
    project = make_project()
    round_ = make_round(project)
    for _ in range(3):
        make_shop(project)  # each joins the round as it is approved
    assert round_.participations.count() == 3

    said = saved_messages(staff_client, round_, usage_ends_on="2099-12-31")

    assert not [m for m in said if JOINED in m], said
    assert round_.participations.count() == 3


def test_a_shop_that_had_not_joined_yet_is_counted_once(staff_client):
    project = make_project()
    round_ = make_round(project)
    make_shop(project)
    missing = make_shop(project)
    ShopRound.objects.filter(shop=missing).delete()

    said = saved_messages(staff_client, round_)
    assert [m for m in said if JOINED in m] == ["1店舗がこの期に参加しました。"]
    assert round_enrol_shops(round_=round_, now=timezone.now()) == 0
