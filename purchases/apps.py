from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "purchases"

    def ready(self):
        from purchases import reserve  # noqa: F401 (registers the database check)
