"""The waiting page: answered from Redis alone (no PostgreSQL, no session read or write) and
private. It admits, shows the position and an estimated wait, and refreshes itself."""

import secrets
import time
import urllib.parse

from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from waitingroom.admission import (
    VISITOR_COOKIE,
    VISITOR_SALT,
    pass_cookie_name,
    pass_make,
)
from waitingroom.queue import RoomClosed, queue_visit

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
        standing = queue_visit(round_id=round_id, visitor=visitor, now=time.time())
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
            {"standing": standing, "minutes": minutes, "confirm": confirm},
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
