from functools import wraps
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
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


# The check behind every order at 9:00, written out: 0.14 ms of CPU against 0.76 ms for
# EmailAddress.objects.filter(user=..., verified=True).exists() (docs/benchmarks.md).
_VERIFIED = (
    f"SELECT 1 FROM {EmailAddress._meta.db_table} "  # noqa: S608 (the model's own table)
    "WHERE user_id = %s AND verified LIMIT 1"
)


def has_verified_email(user) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_VERIFIED, [user.pk])
        return cursor.fetchone() is not None


def _profile_edit_url() -> str:
    from django.urls import reverse

    return reverse("supporters:profile_edit")
