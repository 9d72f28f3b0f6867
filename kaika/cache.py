"""Which responses a shared cache may keep: only views marked here, and only when they are safe.

Everything else is private and non-storable (see kaika.middleware.PrivateByDefaultMiddleware).
"""

import re
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


def public_paths() -> list[str]:
    """Every URL whose view is marked public, as anchored regular expressions of the path that
    nginx (PCRE) reads: the front looks up and stores only these, so a private page never
    waits behind its cache lock. From the URLconf itself, so a new public view is one place."""
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix: str):
        for pattern in patterns:
            part = prefix + _path_regex(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, part)
            elif public_max_age(pattern.callback) is not None:
                yield f"^/{part}$"

    return sorted(set(walk(get_resolver().url_patterns, "")))


def _path_regex(pattern) -> str:
    from django.conf import settings
    from django.urls.resolvers import LocalePrefixPattern
    from django.utils import translation

    if isinstance(pattern, LocalePrefixPattern):
        prefixes = set()
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                prefixes.add(pattern.language_prefix)
        named = "|".join(re.escape(prefix) for prefix in sorted(prefixes - {""}))
        return f"(?:{named})?" if "" in prefixes else f"(?:{named})"
    regex = pattern.regex.pattern.removeprefix("^").removesuffix(r"\Z").removesuffix("$")
    # Named groups would become nginx variables: plain groups say the same.
    return re.sub(r"\(\?P<\w+>", "(?:", regex)
