"""Staff see the queue and pause, resume or change admission in admin; the waiting page
follows at once (it reads the settings from Redis)."""

import time

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from tests.projects.factories import make_project, make_round
from waitingroom import queue
from waitingroom.models import WaitingRoom
from waitingroom.queue import Keys

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def room(db):
    room = WaitingRoom.objects.create(round=make_round(make_project(), number=1))
    yield room
    queue.client().delete(*Keys(room.round_id).all())


def conf(room) -> dict[str, str]:
    return {
        k.decode(): v.decode() for k, v in queue.client().hgetall(Keys(room.round_id).conf).items()
    }


def test_staff_see_the_queue_on_the_list_and_the_room(staff_client, room):
    for i in range(3):
        queue.queue_visit(
            round_id=room.round_id, visitor=f"v{i}", now=time.time()
        )  # no conf: unknown
    changelist = staff_client.get(reverse("admin:waitingroom_waitingroom_changelist"))
    assert changelist.status_code == 200 and "順番待ち" in changelist.content.decode()
    page = staff_client.get(reverse("admin:waitingroom_waitingroom_change", args=[room.pk]))
    assert page.status_code == 200 and "入場のペース" in page.content.decode()


def test_staff_pause_and_resume_and_the_queue_follows_at_once(
    staff_client, room, django_capture_on_commit_callbacks
):
    url = reverse("admin:waitingroom_waitingroom_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {"action": "pause_rooms", ACTION_CHECKBOX_NAME: [room.pk]})
    room.refresh_from_db()
    assert room.paused and conf(room)["paused"] == "1"
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {"action": "resume_rooms", ACTION_CHECKBOX_NAME: [room.pk]})
    room.refresh_from_db()
    assert not room.paused and conf(room)["paused"] == "0"


def test_a_changed_rate_is_pushed_to_redis_and_bad_values_are_refused(
    staff_client, room, django_capture_on_commit_callbacks
):
    url = reverse("admin:waitingroom_waitingroom_change", args=[room.pk])
    data = {
        "round": room.round_id,
        "enabled": "on",
        "opens_before_minutes": "30",
        "admit_per_second": "12",
        "max_concurrent": "300",
        "pass_ttl_seconds": "600",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)
    assert response.status_code == 302
    assert conf(room)["rate"] == "12" and conf(room)["max"] == "300"
    for field, bad in [
        ("admit_per_second", "0"),
        ("admit_per_second", "abc"),
        ("max_concurrent", "-1"),
        ("pass_ttl_seconds", "5"),
        ("opens_before_minutes", "0"),
        ("opens_before_minutes", "99999"),
    ]:
        refused = staff_client.post(url, {**data, field: bad})
        assert refused.status_code == 200 and "errornote" in refused.content.decode(), field
    room.refresh_from_db()
    assert room.admit_per_second == 12


def test_a_lottery_round_gets_no_waiting_room(staff_client, db):
    lottery_round = make_round(make_project(), number=1, allocation_mode="lottery")
    response = staff_client.post(
        reverse("admin:waitingroom_waitingroom_add"),
        {
            "round": lottery_round.pk,
            "enabled": "on",
            "opens_before_minutes": "30",
            "admit_per_second": "10",
            "max_concurrent": "200",
            "pass_ttl_seconds": "600",
        },
    )
    assert response.status_code == 200
    assert "抽選の期には待合室を設けられません" in response.content.decode()
    assert not WaitingRoom.objects.exists()
