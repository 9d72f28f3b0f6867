"""Operations: the site-wide stop switch, the exposure log and the notices sent after a leak.

In 2021 the operator stopped the site by hand an hour after the leak began, learned of it from
supporters, and needed nine days to name the 1,647 people affected. These models make each of
those steps a matter of minutes.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SiteSwitch(models.Model):
    """The one row (pk=1) of switches that staff flip in admin, without a deploy.

    Every app process reads it through the shared cache with a 1-second lifetime
    (ops.switches), so a change is in force everywhere within a second.
    """

    SINGLETON_PK = 1

    maintenance = models.BooleanField(
        _("メンテナンス中(サイト全体を停止)"),
        default=False,
        help_text=_(
            "オンにすると、管理画面とヘルスチェック以外のすべてのページが"
            "メンテナンス画面(503)になります。1秒以内にすべてのサーバーに反映されます。"
        ),
    )
    message = models.TextField(
        _("メンテナンス画面に表示する説明"), blank=True, help_text=_("例: 不具合の調査のため")
    )
    ends_at = models.DateTimeField(
        _("再開予定日時"),
        null=True,
        blank=True,
        help_text=_("画面に表示し、Retry-After ヘッダーにも使います"),
    )
    changed_at = models.DateTimeField(_("最終変更日時"), null=True, editable=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("最終変更者"),
    )

    class Meta:
        verbose_name = _("停止スイッチ")
        verbose_name_plural = _("停止スイッチ")

    def __str__(self) -> str:
        return str(_("サイト全体のメンテナンス: オン") if self.maintenance else _("通常運転"))

