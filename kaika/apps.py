from django.apps import AppConfig


class KaikaConfig(AppConfig):
    name = "kaika"

    def ready(self) -> None:
        from kaika import checks  # noqa: F401 (registers the deploy checks)
