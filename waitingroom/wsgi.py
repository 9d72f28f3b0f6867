"""The waiting room's own process pool: `gunicorn -c deploy/gunicorn.conf.py waitingroom.wsgi`.

At 9:00 the waiting page is most of the traffic. Through the site's whole middleware stack
(locale resolution over every URL, CSRF, auth, messages, allauth, two-factor, ...) it cost
about 1 ms of Python before the view ran; none of that applies to a page that reads Redis
alone and touches no session, user or form. Here it passes only the middlewares that shape
every response (settings.WAITINGROOM_MIDDLEWARE: private by default, security headers, the
session cookie's validity, frame and content-security policies, maintenance), in the site's
order, and is the same view (waitingroom.urls). Any other path is handed to the whole site,
so a request sent here by mistake is still answered correctly.

nginx sends the waiting page to this pool (deploy/nginx.conf.template), run apart from the
app's pool and at a lower CPU priority (deploy/serve.py): the wave cannot take the threads or
the cores of the till, the tickets and the order pages.
"""

import os
import re

from django.conf import settings
from django.core import signals
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver, set_script_prefix
from django.utils import translation
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")

# The page's path in each language (i18n_patterns without a prefix for Japanese), and the
# public line's and drawn order's under it.
WAITING_PATH = re.compile(
    r"^/(?:(?P<language>en)/)?(?P<path>rounds/[0-9]{1,10}/waiting/(?:line/(?:[0-9a-f]{2}/)?)?)$"
)


class WaitingPageHandler(WSGIHandler):
    """WSGIHandler with the waiting page's short middleware list and no URL resolution over
    the whole site: its language comes from the path, its view from waitingroom.urls."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._resolver = get_resolver("waitingroom.urls")
        handler = convert_exception_to_response(self._view)
        for path in reversed(settings.WAITINGROOM_MIDDLEWARE):
            middleware = import_string(path)(handler)
            # As Django's handler does: process_view is how a public view (the line) is known.
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler

    def _view(self, request):
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it on the site
        found = WAITING_PATH.match(request.path_info)
        language = found["language"] or settings.LANGUAGE_CODE
        match = self._resolver.resolve("/" + found["path"])
        with translation.override(language):
            for process_view in self._view_middleware:
                response = process_view(request, match.func, match.args, match.kwargs)
                if response is not None:
                    return response
            response = match.func(request, *match.args, **match.kwargs)
        response.headers.setdefault("Content-Language", language)
        return response

    def __call__(self, environ, start_response):
        set_script_prefix(get_script_name(environ))
        # The same signals as the site (request_finished is sent when the response closes).
        signals.request_started.send(sender=self.__class__, environ=environ)
        request = WSGIRequest(environ)
        response = self._middleware_chain(request)
        response._handler_class = self.__class__
        status = f"{response.status_code} {response.reason_phrase}"
        headers = [
            *response.items(),
            *(("Set-Cookie", c.OutputString()) for c in response.cookies.values()),
        ]
        start_response(status, headers)
        return response


site = get_wsgi_application()
waiting_page = WaitingPageHandler()


def application(environ, start_response):
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and WAITING_PATH.match(
        environ.get("PATH_INFO", "")
    ):
        return waiting_page(environ, start_response)
    return site(environ, start_response)
