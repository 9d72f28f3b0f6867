"""The floor for per-user pages: a view that does nothing but go through the same gunicorn,
the same middleware stack (session, CSRF, auth, CSP, private-by-default) and reads who the
visitor is. Routed only by bench/urls.py, the root URLconf where KAIKA_BENCH is on."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@login_required
@require_safe
def bare(request):
    # request.user is loaded (session read + one user query), as on every per-user page;
    # no template, no other query.
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain")
