from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LotteryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lottery"
    verbose_name = _("抽選")

    def ready(self) -> None:
        from kaika import data_rights
        from lottery import data_rights as part

        data_rights.register(self.label, export=part.export, erase=part.erase)
