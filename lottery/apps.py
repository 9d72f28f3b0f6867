from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LotteryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lottery"
    verbose_name = _("抽選")
