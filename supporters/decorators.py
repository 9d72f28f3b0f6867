from functools import wraps
from urllib.parse import urlencode

from allauth.account.utils import has_verified_email
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
            return redirect(f"{_profile_edit_url()}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapped


def verified_email_required(view):
    """Logged in with a verified email address, else sent to the email page to verify one."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not has_verified_email(request.user):
            messages.info(request, _("ご支援の前に、メールアドレスの確認を済ませてください。"))
            return redirect("account_email")
        return view(request, *args, **kwargs)

    return wrapped


def _profile_edit_url() -> str:
    from django.urls import reverse

    return reverse("supporters:profile_edit")
