"""The site's URLs plus what a browser test needs and the site must not have: uploaded photos
served without DEBUG, and views that end in 400, 403 and 500 so those pages can be looked at."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path, re_path
from django.views.static import serve

from kaika.urls import urlpatterns as site_urlpatterns


def media(request, path):
    # MEDIA_ROOT is read per request: tests point it at a temporary directory.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


def bad_request(request):
    raise SuspiciousOperation("browser test")


def forbidden(request):
    raise PermissionDenied


def server_error(request):
    raise RuntimeError("browser test")


urlpatterns = [
    re_path(r"^media/(?P<path>.+)$", media),
    path("e2e/400/", bad_request),
    path("e2e/403/", forbidden),
    path("e2e/500/", server_error),
    *site_urlpatterns,
]
