from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.utils.translation import gettext

from kaika.mail import send_email_on_commit
from ops.exposure import exposure_record
from ops.models import ExposureAction


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        # allauth's emails greet with the site's name; without django.contrib.sites that
        # would be the bare host name.
        site = SimpleNamespace(
            name=gettext("kaika 頑張るお店応援プロジェクト"), domain=request.get_host()
        )
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": site, **context},
        )
        # Rendered here (in the request's language), sent by the task worker after commit:
        # a slow mail server never holds a request at the 9:00 rush.
        send_email_on_commit(message)

    def authentication_failed(self, request, **credentials) -> None:
        super().authentication_failed(request, **credentials)
        # The login form is shown again with the typed email in it: in 2021 that echo reached
        # other people. Reauthentication (already logged in) echoes nothing of the kind.
        email = credentials.get("email") or ""
        if email and not request.user.is_authenticated:
            exposure_record(request, email=email, action=ExposureAction.FAILED_LOGIN_ECHO)
