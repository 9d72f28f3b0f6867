"""Staff's changes to a waiting room: saved in PostgreSQL, then pushed to Redis at once."""

import datetime

from django.db import transaction

from waitingroom.admission import room_conf
from waitingroom.models import WaitingRoom
from waitingroom.queue import RoomClosed, room_publish


def room_push(room: WaitingRoom) -> None:
    """After commit: the waiting page reads Redis only. If Redis is away now, the order
    confirmation pushes the settings on its next request (admission_check's room_sync)."""

    def push():
        try:
            room_publish(round_id=room.round_id, conf=room_conf(room))
        except RoomClosed:
            pass

    transaction.on_commit(push)


def room_pause(*, room: WaitingRoom, paused: bool, now: datetime.datetime) -> bool:
    """Pause or resume admission; False when it already was so. Waiting visitors keep their
    places either way."""
    with transaction.atomic():
        changed = (
            WaitingRoom.objects.filter(pk=room.pk)
            .exclude(paused=paused)
            .update(paused=paused, updated_at=now)
        )
        if changed:
            room.paused = paused
            room_push(room)
    return bool(changed)
