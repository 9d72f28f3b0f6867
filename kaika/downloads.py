"""Downloads of personal data (JSON, CSV, text): a file runs no tripwire, so no shared cache may
ever hold one at a URL that someone else will ask for, whatever headers that cache ignores.

A cache that ignores every header still keys on the URL, and the 2021-style one stores POST
answers too (tests/front/nginx_kaika_2021.conf.template). So a download is a POST, with its
CSRF token, to a URL carrying a nonce the browser draws for that one click
(static/js/download.js), and the app answers each nonce once. A link minted by the server
would not do: the page or redirect that carries it lives at a URL everyone asks for.
"""

import re
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

# 128 bits from crypto.getRandomValues, as 32 lowercase hex digits.
NONCE_RE = re.compile(r"[0-9a-f]{32}")
# The form's action until the script draws a nonce. Refused: a browser without the script
# posts to one URL shared by everyone, which therefore never answers with anyone's data.
NONCE_PLACEHOLDER = "0" * 32
# Far longer than any cache has kept a copy, so one URL never answers for two people.
NONCE_MEMORY_SECONDS = 24 * 60 * 60


def download_nonce_claim(*, nonce: str, user_id: int) -> bool:
    """True the first time anyone presents this nonce, False ever after."""
    # cache.add is atomic in Redis (SET NX): two simultaneous requests cannot both win.
    return cache.add(f"kaika:download-nonce:{nonce}", user_id, NONCE_MEMORY_SECONDS)


def refused(request, reason: str, *, status: int):
    # The same page for everyone, in the layout of a public page (no messages, no name): the
    # placeholder's URL is one for everyone, so its answer must hold nothing of anyone's.
    context = {"reason": reason, "is_public_page": True}
    return render(request, "download_refused.html", context, status=status)


def private_download(view: Callable) -> Callable:
    """POST only (CSRF-checked by the middleware), signed in, under a fresh nonce: the view
    gets the request without the `nonce` URL argument."""

    @wraps(view)
    def wrapped(request, *args, nonce: str, **kwargs):
        if not NONCE_RE.fullmatch(nonce) or nonce == NONCE_PLACEHOLDER:
            return refused(request, "no_nonce", status=400)
        if not download_nonce_claim(nonce=nonce, user_id=request.user.pk):
            return refused(request, "used", status=410)
        return view(request, *args, **kwargs)

    return require_POST(never_cache(login_required(wrapped)))
