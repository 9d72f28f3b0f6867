from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("参加コード(対象地域にお住まいの方)")

    def ready(self) -> None:
        from kaika import data_rights
        from residents import data_rights as part

        data_rights.register(self.label, export=part.export, erase=part.erase)
