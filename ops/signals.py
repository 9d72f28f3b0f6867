"""Exposure records for the allauth flows, whose views are not ours to edit, and the
tripwire's viewer cookie for every login and logout, whichever view did it.

Signals because allauth and django.contrib.auth cannot import ops; kaika's own views call
exposure_record directly. The failed-login echo is recorded in
supporters.adapters.AccountAdapter.authentication_failed.
"""

from allauth.account.signals import user_logged_in, user_signed_up
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
