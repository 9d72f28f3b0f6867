from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiriesConfig(AppConfig):
    name = "inquiries"
    verbose_name = _("お問い合わせ")

    def ready(self) -> None:
        from inquiries import data_rights as part
        from kaika import data_rights

        data_rights.register(self.label, export=part.export, erase=part.erase)
