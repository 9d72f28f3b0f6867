"""A round's waiting room: how fast visitors are let in to buy when it opens first come."""

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Round


class WaitingRoom(models.Model):
    round = models.OneToOneField(
        Round, on_delete=models.CASCADE, related_name="waiting_room", verbose_name=_("期")
    )
    enabled = models.BooleanField(
        _("待合室を使う"),
        default=True,
        help_text=_("オフにすると、この期の購入画面には待たずに進めます"),
    )
    opens_before_minutes = models.PositiveSmallIntegerField(
        _("開室(募集開始の何分前)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("この時刻から募集開始までに来た人は、開始の瞬間に抽選で順番が決まります"),
    )
    admit_per_second = models.PositiveSmallIntegerField(
        _("入場のペース(人/秒)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("計測した注文の処理能力の75%を目安にします(運用手順書を参照)"),
    )
    max_concurrent = models.PositiveIntegerField(
        _("同時に購入手続き中の人数の上限"),
        default=200,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    pass_ttl_seconds = models.PositiveIntegerField(
        _("入場券の有効時間(秒)"),
        default=600,
        validators=[MinValueValidator(60), MaxValueValidator(3600)],
        help_text=_("入場した人がこの時間内に注文しなければ、順番は次の人に回ります"),
    )
    paused = models.BooleanField(
        _("入場を一時停止"), default=False, help_text=_("待っている人の順番はそのまま保たれます")
    )
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("待合室")
        verbose_name_plural = _("待合室")
        ordering = ["-round__opens_at"]

    def __str__(self) -> str:
        return str(self.round)

    def clean(self) -> None:
        # A lottery round sells nothing first come: its supply is drawn (lottery app).
        if self.round_id and self.round.is_lottery:
            raise ValidationError(
                {"round": _("抽選の期には待合室を設けられません(先着順の期だけです)。")}
            )

    @property
    def window_starts_at(self) -> datetime.datetime:
        return self.round.opens_at - datetime.timedelta(minutes=self.opens_before_minutes)

    @property
    def accepts_visitors_now(self) -> bool:
        """For the public shop page's template (which has no `now` to pass)."""
        return self.applies_at(timezone.now())

    def applies_at(self, now: datetime.datetime) -> bool:
        """Buying in the round goes through the room from its opening until the round ends."""
        return self.enabled and self.window_starts_at <= now < self.round.closes_at
