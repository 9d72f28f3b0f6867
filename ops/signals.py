"""Exposure records for the allauth flows, whose views are not ours to edit.

A signal because allauth cannot import ops; kaika's own views call exposure_record directly.
The failed-login echo is recorded in supporters.adapters.AccountAdapter.authentication_failed.
"""

from allauth.account.signals import user_logged_in, user_signed_up
from django.dispatch import receiver

from ops.exposure import exposure_record
from ops.models import ExposureAction
from ops.tripwire import set_viewer_cookie


@receiver(user_logged_in, dispatch_uid="ops_exposure_login")
def record_login(sender, request, user, **kwargs):
    exposure_record(request, subject=user, action=ExposureAction.LOGIN_COMPLETED)
    response = kwargs.get("response")
    if response is not None:
        # The tripwire's half that only a login sets (ops/tripwire.py).
        set_viewer_cookie(response, user)


@receiver(user_signed_up, dispatch_uid="ops_exposure_signup")
def record_signup(sender, request, user, **kwargs):
    exposure_record(request, subject=user, action=ExposureAction.SIGNUP)
