"""The waiting page: answered from Redis alone (no PostgreSQL, no session read or write) and
private. It admits, shows the position and an estimated wait, and refreshes itself.

The page is asked for when a visitor arrives and when their turn has come. In between, its
script reads the public line (how many have been let in; the same for everyone, so the front
keeps a copy a second and answers the crowd itself) and works out the place from the ticket
number the page gave: at 9:00 the app renders a page per visitor or two, not one per reload.
"""

import secrets
import time
import urllib.parse

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language, override
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from kaika.cache import public_page
from waitingroom.admission import (
    VISITOR_COOKIE,
    VISITOR_SALT,
    pass_cookie_name,
    pass_make,
)
from waitingroom.queue import (
    PART_DIGITS,
    RoomClosed,
    place_name,
    place_part,
    places_part,
    queue_line,
    queue_visit,
)

# Seconds between refreshes: a base plus a random part, so that 20,000 browsers that arrived
# together do not come back together.
REFRESH_SECONDS = {"pre": 20, "shuffling": 2, "waiting": 5, "closed": 15, "early": 60}
REFRESH_JITTER = 5
# In the queue, the base grows with the estimated wait (a quarter of it, at most this): 20,000
# browsers every 5 to 10 s were 2,700 requests a second, most shed by nginx's busy page, and a
# visitor near the front learns they are let in only from a reload that gets through
# (docs/benchmarks.md, Waiting room).
REFRESH_WAITING_MOST = 60
MAX_UNITS = 1000


def _int(value: str | None, *, most: int) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= most else None


def _page(
    context: dict, *, status: int = 200, state: str, refresh: int | None = None
) -> HttpResponse:
    refresh = refresh if refresh is not None else REFRESH_SECONDS.get(state)
    if refresh is not None:
        refresh += secrets.randbelow(REFRESH_JITTER + 1)
    # Rendered without the request: no context processor may read the user or the session.
    html = render_to_string(
        "waitingroom/wait.html",
        {**context, "state": state, "refresh": refresh, "LANGUAGE_CODE": get_language()},
    )
    return HttpResponse(html, status=status)


@never_cache
@require_safe
def wait(request, round_id: int):
    listing_id = _int(request.GET.get("listing"), most=2**31 - 1)
    units = _int(request.GET.get("units"), most=MAX_UNITS)
    if listing_id is None or units is None:
        return _page({}, status=400, state="bad_request")
    confirm = (
        reverse("purchases:order_confirm")
        + "?"
        + urllib.parse.urlencode({"listing": listing_id, "round": round_id, "units": units})
    )
    session_key = request.session.session_key  # the cookie's value: the session is not read
    if not session_key:
        # Passes are bound to a signed-in session; the confirmation page asks to sign in first.
        return _page({"confirm": confirm}, state="sign_in")

    visitor = request.get_signed_cookie(VISITOR_COOKIE, default=None, salt=VISITOR_SALT)
    new_visitor = visitor is None
    if new_visitor:
        visitor = secrets.token_urlsafe(16)
    try:
        standing = queue_visit(
            round_id=round_id, visitor=visitor, now=time.time(), listing_id=listing_id
        )
    except RoomClosed:
        # Never open to everyone: while Redis is away nobody is admitted.
        response = _page({}, status=503, state="closed")
        response["Retry-After"] = str(REFRESH_SECONDS["closed"])
        return response

    if standing.state == "admitted":
        response = HttpResponseRedirect(confirm)
        response.set_cookie(
            pass_cookie_name(round_id),
            pass_make(round_id=round_id, visitor=visitor, session_key=session_key),
            max_age=max(1, int(standing.expires_at - time.time())),
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    elif standing.state in ("unknown", "disabled"):
        # No room in force here: the confirmation page decides (it sends back here if needed).
        response = HttpResponseRedirect(confirm)
    else:
        minutes = None
        if standing.wait_seconds is not None:
            minutes = max(1, -(-standing.wait_seconds // 60))
        refresh = None
        if standing.wait_seconds is not None:
            quarter = standing.wait_seconds // 4
            refresh = min(REFRESH_WAITING_MOST, max(REFRESH_SECONDS["waiting"], quarter))
        if standing.opens_at is not None:
            # The pre-queue comes back just after the opening, spread over the jitter: the
            # order is drawn by then, so nobody gains by coming back first.
            until = int(standing.opens_at - time.time()) + 1
            refresh = max(1, min(REFRESH_SECONDS["pre"], until))
        response = _page(
            {
                "standing": standing,
                "minutes": minutes,
                "confirm": confirm,
                "listing_id": listing_id,
                "project_url": standing.project
                and reverse("projects:project_detail", kwargs={"slug": standing.project}),
                **_line_context(round_id, visitor, standing, minutes),
            },
            state=standing.state,
            refresh=refresh,
        )
    if new_visitor:
        response.set_signed_cookie(
            VISITOR_COOKIE,
            visitor,
            salt=VISITOR_SALT,
            max_age=60 * 60 * 24,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _number(value: int | str | None, name: str):
    # The numbers the page's script rewrites carry a marker it finds them by.
    return format_html('<span data-{}="">{}</span>', name, "–" if value is None else value)


def _line_context(round_id: int, visitor: str, standing, minutes: int | None) -> dict:
    """What the page's script needs to follow the public line: its address (one per round,
    whatever the page's language), and the ticket, or in the pre-queue the place name."""
    if standing.state not in ("pre", "waiting"):
        return {}
    with override(settings.LANGUAGE_CODE):
        line = reverse("waitingroom:line", kwargs={"round_id": round_id})
    context = {
        "line_url": line,
        "ticket": standing.ticket,
        "position_html": _number(
            standing.position if standing.state == "waiting" else None, "position"
        ),
        "minutes_html": _number(minutes, "minutes"),
    }
    if standing.state == "pre":
        name = place_name(visitor)
        context["place_name"] = name
        context["places_url"] = f"{line}{place_part(name)}/"
    return context


@public_page(max_age=1)
@require_safe
def line(request, round_id: int):
    """The public line: how many have been let in and the pace, the listings found sold out
    and whether the round has ended (the same for everyone: no cookie reaches it through the
    front). Each copy made lets the head of the queue in."""
    try:
        found = queue_line(round_id=round_id, now=time.time())
    except RoomClosed:
        # Never open to everyone; the same answer for all, so the front may keep it too.
        return JsonResponse({"state": "closed"})
    data = {"state": found.state}
    if found.state == "line":
        data.update(
            admitted=found.admitted,
            waiting=found.waiting,
            rate=found.rate,
            paused=found.paused,
            sold_out=list(found.sold_out),
            ended=found.ended,
        )
    elif found.state == "pre":
        data.update(pre=found.pre, opens=found.opens_at)
    return JsonResponse(data)


@public_page(
    max_age=3600, shared_max_age_setting="WAITINGROOM_PLACES_SHARED_MAX_AGE", browser_max_age=60
)
@require_safe
def places(request, round_id: int, part: str):
    """One part of the pre-queue's drawn order, by place name: a browser fetches its own
    part once after the opening to learn its ticket. Before the draw (or without Redis) it
    says so, and that answer is kept a second only, as every public page."""
    if len(part) != PART_DIGITS or part.strip("0123456789abcdef"):
        raise Http404
    try:
        found = places_part(round_id=round_id, part=part)
    except RoomClosed:
        found = None
    if found is None:
        request.kaika_shared_max_age_setting = "KAIKA_SHARED_CACHE_MAX_AGE"
        request.kaika_browser_max_age = 1
    return JsonResponse({"places": found})
