"""Site-wide maintenance: every page answers 503, except what staff need to switch it off.

Listed last in MIDDLEWARE, inside kaika.middleware.PrivateByDefaultMiddleware (so the 503 is
made private and non-storable like everything else) and inside the security, CSP and locale
middlewares (so it carries their headers and is in the URL's language). With maintenance off
it touches nothing but the cached switch: no session, no user, so public pages stay public.
"""

import datetime
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ops.switches import Maintenance, maintenance_state
from ops.tripwire import set_viewer_cookie

# Reachable by anyone during maintenance: the load balancer's health check, the login staff
# go through to reach admin (admin itself refuses non-staff), and the payment provider's
# notices (a payment made just before the stop is recorded before its reservation lapses;
# they show nothing to anyone).
ALWAYS_OPEN = {"health", "account_login", "account_logout", "mfa_authenticate", "stripe_webhook"}
# Reachable by staff only: admin, and the two-factor setup admin requires of them.
STAFF_OPEN_PREFIXES = ("mfa_", "account_reauthenticate")


def retry_after_seconds(state: Maintenance, now: datetime.datetime) -> int:
    if state.ends_at is not None and state.ends_at > now:
        return max(int((state.ends_at - now).total_seconds()), 60)
    return settings.KAIKA_MAINTENANCE_RETRY_AFTER


def is_open_during_maintenance(request) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    if match.url_name in ALWAYS_OPEN or "admin" in match.namespaces:
        return True
    if (match.url_name or "").startswith(STAFF_OPEN_PREFIXES):
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_staff)
    return False


def maintenance_response(request, state: Maintenance):
    now = timezone.now()
    response = render(
        request,
        "ops/maintenance.html",
        # Shown to everyone alike: no login state, no messages, no session.
        {"maintenance": state, "is_public_page": True},
        status=503,
    )
    response["Retry-After"] = str(retry_after_seconds(state, now))
    return response


class MaintenanceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = maintenance_state()
        if state.on and not is_open_during_maintenance(request):
            return maintenance_response(request, state)
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """Admin is reached only by staff with TOTP set up who gave its code in this session: an
    account whose password leaks must not open every supporter's data. Staff without TOTP are
    sent to set it up first; a session opened with the password alone (before the TOTP was
    set up, or before the account was made staff) is asked for the code once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if not settings.KAIKA_STAFF_MFA_REQUIRED or "admin" not in match.namespaces:
            return None
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return None
        if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            messages.warning(
                request, _("管理画面を使うには、2段階認証(認証アプリ)の設定が必要です。")
            )
            return redirect(reverse("mfa_activate_totp"))
        records = get_authentication_records(request, user)
        if any(record.get("method") == "mfa" for record in records):
            return None
        messages.info(request, _("管理画面を使うには、認証アプリのコードを入力してください。"))
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('mfa_reauthenticate')}?{query}")


class ViewerCookieMiddleware:
    """The tripwire's kaika_viewer cookie (ops/tripwire.py) on the response of a login (the
    new viewer's marker) or a logout (deleted), and on no other response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        marker = getattr(request, "kaika_viewer_cookie", None)
        if marker is not None:
            set_viewer_cookie(response, marker)
        return response
