"""Exposure records for the allauth flows, whose views are not ours to edit, the tripwire's
viewer cookie for every login and logout, whichever view did it, and the authenticator code
typed to set up two-factor login counted as this session's code (ops.middleware).

Signals because allauth and django.contrib.auth cannot import ops; kaika's own views call
exposure_record directly. The failed-login echo is recorded in
supporters.adapters.AccountAdapter.authentication_failed.
"""

from allauth.account.internal.flows.login import record_authentication
from allauth.account.signals import user_logged_in, user_signed_up
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from ops.exposure import exposure_record
from ops.models import ExposureAction
from ops.tripwire import viewer_marker


@receiver(user_logged_in, dispatch_uid="ops_exposure_login")
def record_login(sender, request, user, **kwargs):
    exposure_record(request, subject=user, action=ExposureAction.LOGIN_COMPLETED)


@receiver(user_signed_up, dispatch_uid="ops_exposure_signup")
def record_signup(sender, request, user, **kwargs):
    exposure_record(request, subject=user, action=ExposureAction.SIGNUP)


# Django's own signals, sent by django.contrib.auth.login/logout: every way in (password,
# two-factor, email confirmation, the admin's login) and out, whichever view calls them. The
# response does not exist yet; ViewerCookieMiddleware sets the cookie on it.
@receiver(auth_signals.user_logged_in, dispatch_uid="ops_viewer_login")
def viewer_logged_in(sender, request, user, **kwargs):
    if request is not None:
        request.kaika_viewer_cookie = viewer_marker(user.pk)


@receiver(auth_signals.user_logged_out, dispatch_uid="ops_viewer_logout")
def viewer_logged_out(sender, request, user, **kwargs):
    if request is not None:
        request.kaika_viewer_cookie = ""


# Setting up the authenticator takes the password again and a code from the new authenticator:
# the session has given what admin asks for (StaffTwoFactorMiddleware), recorded as allauth
# records a code typed at login, so that admin does not ask for a second code at once.
@receiver(authenticator_added, dispatch_uid="ops_totp_activated_counts_as_code")
def totp_activated(sender, request, user, authenticator, **kwargs):
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
