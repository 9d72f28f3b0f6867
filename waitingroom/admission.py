"""The passes of the waiting room, and the check the order confirmation makes.

A pass is signed (django.core.signing, timestamped), names its round, its visitor and a digest
of the session it was given to, and is good for the room's pass_ttl_seconds; the visitor's
slot in Redis makes it single-use (spent when an order is posted). PostgreSQL's caps stay the
final arbiter: a pass only lets its holder try.
"""

import dataclasses
import datetime
import logging
from urllib.parse import urlencode

from django.core import signing
from django.urls import reverse

from projects.models import Listing, Project
from waitingroom.models import WaitingRoom
from waitingroom.queue import (
    RoomClosed,
    gone_mark,
    pass_alive,
    pass_refund,
    pass_spend,
    room_publish,
    room_published_version,
    session_digest,
)

PASS_SALT = "waitingroom.pass"  # noqa: S105 (a signing salt, not a secret)
VISITOR_SALT = "waitingroom.visitor"
VISITOR_COOKIE = "kaika_wr"

logger = logging.getLogger(__name__)


def pass_cookie_name(round_id: int) -> str:
    return f"kaika_wr_pass_{round_id}"


def pass_make(*, round_id: int, visitor: str, session_key: str) -> str:
    return signing.dumps(
        {"r": round_id, "v": visitor, "s": session_digest(session_key)}, salt=PASS_SALT
    )


def pass_read(value: str, *, round_id: int, session_key: str | None, max_age: int) -> str | None:
    """The visitor a genuine, unexpired pass of this round and session names, else None."""
    if not value or not session_key:
        return None
    try:
        data = signing.loads(value, salt=PASS_SALT, max_age=max_age)
    except signing.BadSignature:  # forged, altered, or older than max_age
        return None
    if not isinstance(data, dict) or data.get("r") != round_id:
        return None
    if data.get("s") != session_digest(session_key) or not isinstance(data.get("v"), str):
        return None
    return data["v"]


def room_conf(room: WaitingRoom) -> dict[str, str]:
    conf = {
        "enabled": "1" if room.enabled else "0",
        "window": repr(room.window_starts_at.timestamp()),
        "opens": repr(room.round.opens_at.timestamp()),
        "rate": str(room.admit_per_second),
        "max": str(room.max_concurrent),
        "ttl": str(room.pass_ttl_seconds),
        "paused": "1" if room.paused else "0",
        # The waiting page leads back to the project's page (it reads no database).
        "project": room.round.project.slug,
    }
    # The version tells a stale copy in Redis (the round's opening moved, Redis restarted).
    conf["version"] = "|".join(conf[k] for k in sorted(conf))
    return conf


def room_sync(room: WaitingRoom) -> None:
    """Put the room's settings where the waiting page reads them, unless they are there."""
    conf = room_conf(room)
    if room_published_version(round_id=room.round_id) != conf["version"]:
        room_publish(round_id=room.round_id, conf=conf)


def wait_url(*, round_id: int, listing_id: int, units: int) -> str:
    query = urlencode({"listing": listing_id, "units": units})
    return f"{reverse('waitingroom:wait', kwargs={'round_id': round_id})}?{query}"


@dataclasses.dataclass
class Admission:
    """What the order confirmation may do: go on (wait_url None) or send the visitor to wait.
    A pass spent for a refused order is given back with refund()."""

    wait_url: str | None = None
    round_id: int | None = None
    visitor: str | None = None
    spent_with: str | None = None
    expires_at: float = 0.0

    def refund(self) -> None:
        if self.spent_with is None:
            return
        try:
            pass_refund(
                round_id=self.round_id,
                visitor=self.visitor,
                key=self.spent_with,
                expires_at=self.expires_at,
            )
        except RoomClosed:
            pass  # the pass is lost with Redis; the visitor queues again

    def refused(self, *, code: str, listing: Listing, project: Project) -> None:
        """The order this pass was spent for was refused (`code`, a PurchaseError's), the
        listing and project as read after it. What is gone for everyone is told to the
        waiting crowd; the pass is given back unless the round can sell nothing more (then
        its slot goes to the next visitor instead of idling for the pass's lifetime)."""
        if self.spent_with is None:
            return
        # Gone only when nothing at all is left: "not enough for these units" is not gone.
        # Every listing costs at least the project's unit price (Project.validate_unit_price).
        ended = code == "round_closed" or (
            code == "budget_exhausted" and project.budget_remaining < project.unit_price
        )
        sold_out = code == "sold_out" and listing.is_sold_out
        if ended or sold_out:
            try:
                gone_mark(round_id=self.round_id, listing_id=None if ended else listing.pk)
            except RoomClosed:
                # A notice only: the order page answers all the same.
                logger.warning("waiting room %s: could not mark %s", self.round_id, code)
        if not ended:
            self.refund()  # the visitor may try other units, or another listing


def admission_check(
    request,
    *,
    round_id: int | None,
    listing_id: int,
    units: int,
    spend_key: str | None,
    now: datetime.datetime,
) -> Admission:
    """Open when the round has no waiting room in force; else a live pass of this session is
    needed, and spent now when `spend_key` (the order's idempotency key) is given."""
    if round_id is None:
        return Admission()
    room = WaitingRoom.objects.select_related("round__project").filter(round_id=round_id).first()
    if room is None or not room.applies_at(now):
        return Admission()
    waiting = Admission(wait_url=wait_url(round_id=round_id, listing_id=listing_id, units=units))
    session_key = request.session.session_key
    visitor = pass_read(
        request.COOKIES.get(pass_cookie_name(round_id), ""),
        round_id=round_id,
        session_key=session_key,
        max_age=room.pass_ttl_seconds,
    )
    clock = now.timestamp()
    try:
        room_sync(room)
        if visitor is None:
            return waiting
        if spend_key is None:
            alive = pass_alive(round_id=round_id, visitor=visitor, now=clock)
            return Admission() if alive else waiting
        if not pass_spend(
            round_id=round_id,
            visitor=visitor,
            key=spend_key,
            ttl=room.pass_ttl_seconds,
            now=clock,
        ):
            return waiting
    except RoomClosed:
        # Never open to everyone: the waiting page says admission is closed for now.
        return waiting
    return Admission(
        round_id=round_id,
        visitor=visitor,
        spent_with=spend_key,
        # Given back, the slot lives at most a pass's lifetime again; the signed pass itself
        # still expires pass_ttl_seconds after it was issued.
        expires_at=clock + room.pass_ttl_seconds,
    )
