from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from kaika import data_rights
        from projects import data_rights as part

        data_rights.register(self.label, export=part.export, erase=part.erase)
