"""Private by default: the lesson of 2021 written as middleware.

Every response is made private and non-storable (`never_cache`) unless its view was marked
with `kaika.cache.public_page` *and* the response is provably the same for everyone: a GET or
HEAD answered 200, with no cookie set, no `Vary: Cookie`, and no session, user, message or
CSRF token touched while it was made. A page marked public that breaks one of these rules is
sent private, and the mistake is logged (raised under DEBUG and in tests).
"""

import logging
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.cache import add_never_cache_headers, has_vary_header, patch_cache_control

from kaika.cache import browser_max_age, public_max_age, shared_max_age_setting

logger = logging.getLogger("kaika.cache")

# Headers that let a proxy or CDN override the origin's Cache-Control. kaika never emits them
# (the 2021 cache kept pages regardless of what the application said); private responses get
# an explicit `CDN-Cache-Control: no-store` on top of `Cache-Control`.
OVERRIDING_HEADERS = ("X-Accel-Expires", "Surrogate-Control", "CDN-Cache-Control")


class PublicPageError(ImproperlyConfigured):
    pass


def personal_state_touched(request, response) -> list[str]:
    """Why this response is not the same for every visitor (empty when it is)."""
    reasons = []
    if response.cookies:
        reasons.append(f"sets cookies {sorted(response.cookies)}")
    if has_vary_header(response, "Cookie"):
        reasons.append("varies on Cookie")
    session = getattr(request, "session", None)
    if session is not None and session.accessed:
        reasons.append("touched the session (request.user, messages or login state)")
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        reasons.append("used a CSRF token")
    return reasons


def drop_vary_accept_language(response) -> None:
    """The language of a page comes from its URL (/ is Japanese, /en/ English: i18n_patterns
    without a default prefix), never from Accept-Language; LocaleMiddleware still adds
    `Vary: Accept-Language`, which would split a shared cache by every browser's header."""
    vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip()]
    kept = [v for v in vary if v.lower() != "accept-language"]
    if kept:
        response["Vary"] = ", ".join(kept)
    else:
        response.headers.pop("Vary", None)


class PrivateByDefaultMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.kaika_public_max_age = None
        request.kaika_shared_max_age_setting = None
        request.kaika_browser_max_age = None
        response = self.get_response(request)
        for header in OVERRIDING_HEADERS:
            response.headers.pop(header, None)

        max_age = request.kaika_public_max_age
        if max_age is not None and self.may_be_public(request, response):
            # Shared caches (the nginx microcache, a CDN) keep a public page only briefly, so
            # a staff suspension, a sold-out listing or the 9:00 opening shows within about a
            # second everywhere, while a browser may keep its own copy for max_age. Shop
            # pages are kept longer (KAIKA_SHOP_PAGE_SHARED_MAX_AGE, settings.py says why)
            # and not by browsers; a view's expire_public_copy_at caps every lifetime at the
            # round's next scheduled change.
            shared = min(max_age, getattr(settings, request.kaika_shared_max_age_setting))
            browser = max_age
            if request.kaika_browser_max_age is not None:
                browser = min(max_age, request.kaika_browser_max_age)
            patch_cache_control(response, public=True, max_age=browser, s_maxage=shared)
            drop_vary_accept_language(response)
            return response

        add_never_cache_headers(response)
        response.headers["CDN-Cache-Control"] = "no-store"
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.kaika_public_max_age = public_max_age(view_func)
        request.kaika_shared_max_age_setting = shared_max_age_setting(view_func)
        request.kaika_browser_max_age = browser_max_age(view_func)

    def may_be_public(self, request, response) -> bool:
        # Quietly private: these are legitimate outcomes of a public view, not mistakes.
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return False
        cache_control = response.get("Cache-Control", "")
        if "private" in cache_control or "no-store" in cache_control:
            return False

        reasons = personal_state_touched(request, response)
        if not reasons:
            return True
        message = f"Public page {request.path} was sent private: it " + "; ".join(reasons)
        logger.error(message)
        if settings.KAIKA_STRICT_PUBLIC_PAGES:
            raise PublicPageError(message)
        return False


class InvalidSessionCookieMiddleware:
    """A session cookie that cannot name a session (`sessionid=x`) counts as no cookie.
    Django's SessionMiddleware would otherwise delete it on every page, public ones too, and a
    public page that sets a cookie must be sent private: one such browser made every public
    page private for itself and an error in the log per request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, request):
        name = settings.SESSION_COOKIE_NAME
        key = request.COOKIES.get(name)
        # The store's own check: a key it would not look up is no session.
        if key is not None and self.store(key).session_key is None:
            del request.COOKIES[name]
        return self.get_response(request)
