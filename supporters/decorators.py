from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _


def profile_required(view):
    """Logged in and with a complete profile (name, kana, address, phone, ...), else sent to
    the profile form, which comes back here once it is saved."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.has_complete_profile:
            messages.info(request, _("ご支援の前に、会員情報をすべてご入力ください。"))
            return redirect(f"{_profile_edit_url()}?next={request.get_full_path()}")
        return view(request, *args, **kwargs)

    return wrapped


def _profile_edit_url() -> str:
    from django.urls import reverse

    return reverse("supporters:profile_edit")
