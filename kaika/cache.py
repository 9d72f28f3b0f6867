"""Which responses a shared cache may keep: only views marked here, and only when they are safe.

Everything else is private and non-storable (see kaika.middleware.PrivateByDefaultMiddleware).
"""

from collections.abc import Callable
from functools import wraps

PUBLIC_ATTR = "kaika_public_max_age"
SHARED_ATTR = "kaika_shared_max_age_setting"
BROWSER_ATTR = "kaika_browser_max_age"


def public_page(
    *,
    max_age: int,
    shared_max_age_setting: str = "KAIKA_SHARED_CACHE_MAX_AGE",
    browser_max_age: int | None = None,
) -> Callable:
    """Mark a view as deliberately public: the same page for everyone, cacheable `max_age` s.

    Such a view must not touch the session, `request.user`, messages or a CSRF token. If it
    does, the middleware sends the response private and logs an error (raises when strict).

    A shared cache (the nginx microcache, a CDN) keeps it for the number of seconds in the
    setting `shared_max_age_setting` (read on every response, so tests can override it), never
    longer than `max_age`: one second for every public page unless a view names another.

    Browsers keep it `max_age` seconds, or `browser_max_age` when given. A view whose shared
    copy lives long gives 0 here: nginx sends no `Age` header, so a browser would otherwise
    count its own max-age from the moment it got an already old copy.
    """
    if max_age < 0 or (browser_max_age is not None and browser_max_age < 0):
        raise ValueError("max_age must be >= 0")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        setattr(wrapped, PUBLIC_ATTR, max_age)
        setattr(wrapped, SHARED_ATTR, shared_max_age_setting)
        setattr(wrapped, BROWSER_ATTR, browser_max_age)
        return wrapped

    return decorator


def public_max_age(view: Callable) -> int | None:
    # Class-based views expose the decorated function through `view_class` / `as_view()`.
    return getattr(view, PUBLIC_ATTR, None)


def shared_max_age_setting(view: Callable) -> str | None:
    return getattr(view, SHARED_ATTR, None)


def browser_max_age(view: Callable) -> int | None:
    return getattr(view, BROWSER_ATTR, None)
