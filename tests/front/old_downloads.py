"""TEST-ONLY URLconf (tests/front/settings_old_downloads.py): the site's URLs, plus the
personal-data download built three ways that a cache keyed on the URL alone, storing POST
answers and ignoring every header (the KAIKA-style front), hands to the next person:

- a GET of one URL for everyone (the download as it was before kaika/downloads.py);
- a POST, CSRF-checked, to one URL for everyone ("POST only");
- a one-time link minted by the server, bound to the session: a POST answered by a redirect to
  a random token URL that only that session may follow once.
"""

import inspect
import secrets

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kaika.urls import handler500  # noqa: F401
from kaika.urls import urlpatterns as site_urlpatterns
from supporters.views import data_export

# The download itself, without kaika.downloads.private_download around it: as it was.
export = never_cache(login_required(inspect.unwrap(data_export)))


@never_cache
@login_required
@require_POST
def link_mint(request):
    token = secrets.token_hex(16)
    request.session["old_download_link"] = token
    return redirect("old_download_link", token=token)


@never_cache
@login_required
def link_follow(request, token: str):
    if request.session.pop("old_download_link", None) != token:
        raise Http404
    return export(request)


urlpatterns = [
    path("old/data/export.json", export),
    path("old/data/export/", require_POST(export)),
    path("old/data/link/", link_mint),
    path("old/data/link/<str:token>/", link_follow, name="old_download_link"),
    *site_urlpatterns,
]
