from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = _("支援とチケット")

    def ready(self) -> None:
        from kaika import data_rights
        from purchases import (
            checks,  # noqa: F401 (registers the deploy checks)
            local_expiry,
            reserve,  # noqa: F401 (registers the database check)
            services,
            tasks,
        )
        from purchases import data_rights as part

        data_rights.register(self.label, export=part.export, forfeits=part.forfeits)
        services.refund_dispatch = tasks.refund_send.enqueue
        if local_expiry.should_run():
            local_expiry.start()
