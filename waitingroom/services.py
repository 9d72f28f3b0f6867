"""Staff's changes to a waiting room: saved in PostgreSQL, then pushed to Redis at once."""

import datetime
import logging

from django.db import transaction

from waitingroom.admission import room_conf
from waitingroom.models import WaitingRoom
from waitingroom.queue import RoomClosed, gone_clear, room_publish

logger = logging.getLogger(__name__)


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


def gone_forget(
    *,
    listing_id: int | None = None,
    ended: bool = False,
    project_id: int | None = None,
    round_id: int | None = None,
) -> None:
    """After commit: units of a listing (`listing_id`) or budget (`ended`) came back, or may
    have (an order released; staff raised a stock, a budget, a closing time), so the waiting
    rooms of the round (`round_id`), else of the project (`project_id`), else of the listing's
    project take those notices down. A refusal puts them back if still true."""

    def forget():
        rooms = WaitingRoom.objects.all()
        if round_id is not None:
            rooms = rooms.filter(round_id=round_id)
        elif project_id is not None:
            rooms = rooms.filter(round__project_id=project_id)
        else:
            rooms = rooms.filter(round__project__shops__listings=listing_id)
        round_ids = list(rooms.values_list("round_id", flat=True))
        try:
            gone_clear(round_ids=round_ids, listing_id=listing_id, ended=ended)
        except RoomClosed:
            # The notice stays up a while longer; it never keeps anyone from buying.
            logger.warning("waiting rooms %s: could not take notices down", round_ids)

    transaction.on_commit(forget)
