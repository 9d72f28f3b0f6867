from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitingroomConfig(AppConfig):
    name = "waitingroom"
    verbose_name = _("待合室")

    def ready(self) -> None:
        from waitingroom import signals  # noqa: F401 (connects the receivers)
