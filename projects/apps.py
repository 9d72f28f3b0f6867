from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("プロジェクトと店舗")

    def ready(self) -> None:
        from kaika import data_rights
        from projects import data_rights as part

        data_rights.register(self.label, export=part.export, erase=part.erase)
