"""Deploy checks Django's own do not cover."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks.mail import NON_PRODUCTION_EMAIL_BACKENDS
from django.core.mail.backends import console, dummy, locmem
from django.utils.module_loading import import_string


@register(Tags.mail, deploy=True)
def check_mail_backend_is_not_a_development_one(app_configs, **kwargs):
    """Django's mail.E001 knows its own development backends by name only; kaika's readable
    console backend (MAIL_BACKEND=console, for `make serve`) is a subclass it would miss."""
    path = settings.MAILERS.get("default", {}).get("BACKEND", "")
    if not path or path in NON_PRODUCTION_EMAIL_BACKENDS:
        return []  # nothing to inspect, or already reported by mail.E001
    development = (console.EmailBackend, dummy.EmailBackend, locmem.EmailBackend)
    if not issubclass(import_string(path), development):
        return []
    return [
        Error(
            f"MAILERS['default'] uses {path}, a development backend: emails would not be sent.",
            hint="Set SMTP_HOST (and leave MAIL_BACKEND unset or 'smtp') in production.",
            id="kaika.E001",
        )
    ]
