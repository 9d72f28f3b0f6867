from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class SupportersConfig(AppConfig):
    name = "supporters"
    verbose_name = _("支援者")

    def ready(self) -> None:
        from allauth.core.internal import ratelimit

        # allauth's wait for its rate-limit lock is a module constant, not a setting; why kaika
        # waits longer than allauth's second: kaika/settings.py.
        ratelimit.CACHE_LOCK_WAIT_TIMEOUT = settings.KAIKA_RATE_LIMIT_LOCK_WAIT
