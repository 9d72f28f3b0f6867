from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = _("運用と事故対応")

    def ready(self) -> None:
        from ops import signals  # noqa: F401 (records logins, failed logins and signups)
