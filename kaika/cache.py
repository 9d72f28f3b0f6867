"""Which responses a shared cache may keep: only views marked here, and only when they are safe.

Everything else is private and non-storable (see kaika.middleware.PrivateByDefaultMiddleware).
"""

from collections.abc import Callable
from functools import wraps

PUBLIC_ATTR = "kaika_public_max_age"


def public_page(*, max_age: int) -> Callable:
    """Mark a view as deliberately public: the same page for everyone, cacheable `max_age` s.

    Such a view must not touch the session, `request.user`, messages or a CSRF token. If it
    does, the middleware sends the response private and logs an error (raises when strict).
    """
    if max_age < 0:
        raise ValueError("max_age must be >= 0")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        setattr(wrapped, PUBLIC_ATTR, max_age)
        return wrapped

    return decorator


def public_max_age(view: Callable) -> int | None:
    # Class-based views expose the decorated function through `view_class` / `as_view()`.
    return getattr(view, PUBLIC_ATTR, None)
