from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def health(request):
    """For load balancers: the app answers and its database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


RETRY_AFTER_SECONDS = 30


def server_error(request):
    """handler500. While PostgreSQL restarts or fails over, a lost connection (whether in a
    view or in a middleware saving the session) becomes a clean 503 in Japanese with
    Retry-After; the connection pool heals itself after. Any other error stays a 500.

    Rendered from the template file alone: the database, the session and the user are
    exactly what may be missing here.
    """
    import logging
    import sys

    from django.conf import settings
    from django.db import InterfaceError, OperationalError
    from django.http import HttpResponseServerError
    from django.template import engines

    error = sys.exc_info()[1]
    database_lost = isinstance(error, (OperationalError, InterfaceError))
    name = "503.html" if database_lost else "500.html"
    template = engines["django"].from_string(
        (settings.BASE_DIR / "templates" / name).read_text(encoding="utf-8")
    )
    body = template.render({"retry_after": RETRY_AFTER_SECONDS})
    if not database_lost:
        return HttpResponseServerError(body)
    logging.getLogger("kaika.db").warning("database unavailable: %s %s", request.path, error)
    response = HttpResponseServerError(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
