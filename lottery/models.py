"""Lottery rounds: one per projects.Round whose allocation mode is the lottery. The round's
own opening and closing (Round.opens_at / closes_at, to the second) are the application window;
after it, the draw (lottery.draw) turns applications into pending orders of the purchases app,
payable until the pass's deadline. The seed is drawn when the lottery round is created, which
must be before the window opens, and its SHA-256 is public from then on; the seed itself is
shown once the first pass is drawn. Neither can change: save() refuses, and on PostgreSQL a
trigger refuses any UPDATE of them (migration 0001).
"""

import datetime
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lottery.draw import seed_hash
from projects.models import Listing, Round
from purchases.models import Order, OrderStatus


def new_seed() -> str:
    return secrets.token_hex(32)


def new_public_id() -> str:
    # The applicant's pseudonym in the published list: random, so it says nothing about them.
    return secrets.token_hex(8)


class LotteryRound(models.Model):
    round = models.OneToOneField(
        Round, on_delete=models.PROTECT, related_name="lottery", verbose_name=_("期")
    )
    seed = models.CharField(_("乱数の種"), max_length=64, default=new_seed, editable=False)
    seed_hash = models.CharField(_("乱数の種のSHA-256"), max_length=64, editable=False)
    committed_at = models.DateTimeField(_("ハッシュの公開日時"), editable=False)
    payment_hours = models.PositiveIntegerField(
        _("お支払い期限(当選から何時間)"),
        default=72,
        help_text=_("当選(繰上当選を含む)の通知から、この時間までにお支払いがなければ無効です"),
    )
    drawn_at = models.DateTimeField(_("抽選日時"), null=True, blank=True, editable=False)
    # When a re-draw last found nothing to give: the cron looks again only at what lapses after.
    redraw_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("抽選")
        verbose_name_plural = _("抽選")
        ordering = ["-round__opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(payment_hours__gte=1), name="lottery_payment_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        return str(self.round)

    def save(self, *args, **kwargs):
        if not self.seed_hash:
            self.seed_hash = seed_hash(self.seed)
        if self.pk is not None:
            stored = LotteryRound.objects.filter(pk=self.pk).values("seed", "seed_hash").first()
            if stored and (stored["seed"], stored["seed_hash"]) != (self.seed, self.seed_hash):
                raise ValueError("A lottery's seed cannot change once its hash is published.")
        super().save(*args, **kwargs)

    @property
    def is_revealed(self) -> bool:
        return self.drawn_at is not None

    @property
    def published_seed(self) -> str | None:
        return self.seed if self.is_revealed else None


class Application(models.Model):
    """One supporter's application in one lottery round (its lines: the units wished per
    listing), editable until the window closes."""

    lottery = models.ForeignKey(
        LotteryRound, on_delete=models.PROTECT, related_name="applications", verbose_name=_("抽選")
    )
    supporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lottery_applications",
        verbose_name=_("支援者"),
    )
    public_id = models.CharField(
        _("公開ID"), max_length=16, unique=True, default=new_public_id, editable=False
    )
    created_at = models.DateTimeField(_("申込日時"))
    updated_at = models.DateTimeField(_("更新日時"))

    class Meta:
        verbose_name = pgettext_lazy("model", "抽選の申込")
        verbose_name_plural = pgettext_lazy("models", "抽選の申込")
        ordering = ["-created_at"]
        constraints = [
            # One application per person per round, whatever the requests race.
            models.UniqueConstraint(
                fields=["lottery", "supporter"], name="lottery_one_application_per_person"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class ApplicationLine(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="lines", verbose_name=_("申込")
    )
    listing = models.ForeignKey(
        Listing, on_delete=models.PROTECT, related_name="+", verbose_name=_("リターン")
    )
    units = models.PositiveIntegerField(_("希望口数"))

    class Meta:
        verbose_name = _("希望")
        verbose_name_plural = _("希望")
        ordering = ["listing_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "listing"], name="lottery_line_unique_listing"
            ),
            models.CheckConstraint(
                condition=models.Q(units__gte=1), name="lottery_line_units_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing} × {self.units}"


class DrawPass(models.Model):
    """One pass of the draw: the first (number 1) after the window, then each re-draw
    (繰上当選) of what lapsed unpaid. Its inputs are published with it, so that anyone can
    replay it: the budget and stock it shared out and the applicants it left out."""

    lottery = models.ForeignKey(
        LotteryRound, on_delete=models.PROTECT, related_name="passes", verbose_name=_("抽選")
    )
    number = models.PositiveSmallIntegerField(_("回"))
    drawn_at = models.DateTimeField(_("抽選日時"))
    payment_deadline = models.DateTimeField(_("お支払い期限"))
    budget = models.PositiveBigIntegerField(_("配分した予算(円)"))
    # {listing id: remaining units or null for no limit}
    stock = models.JSONField(_("配分した在庫"))
    # Public ids of the applicants whose earlier allotment lapsed unpaid.
    excluded = models.JSONField(_("対象外の申込"), default=list)

    class Meta:
        verbose_name = _("抽選の回")
        verbose_name_plural = _("抽選の回")
        ordering = ["lottery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["lottery", "number"], name="lottery_pass_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.lottery} #{self.number}"

    @property
    def is_redraw(self) -> bool:
        return self.number > 1


class AllotmentState(models.TextChoices):
    WON = "won", _("当選")
    WON_REDRAW = "won_redraw", _("繰上当選")
    PAID = "paid", _("支払済み")
    LAPSED = "lapsed", _("期限切れ")
    CANCELLED = "cancelled", _("取消")


class Allotment(models.Model):
    """What one pass gave one application of one listing: a pending order of purchases.

    No foreign-key constraints in the database: the draw writes these rows in the same
    transaction as the pass, the orders and the counters, from rows it has just read; the
    constraints' checks at commit were a third of a 100,000-application draw (docs/
    benchmarks.md). Django still refuses to delete what they point at (PROTECT)."""

    draw_pass = models.ForeignKey(
        DrawPass,
        on_delete=models.PROTECT,
        related_name="allotments",
        verbose_name=_("抽選の回"),
        db_constraint=False,
    )
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        related_name="allotments",
        verbose_name=_("申込"),
        db_constraint=False,
    )
    listing = models.ForeignKey(
        Listing,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("リターン"),
        db_constraint=False,
    )
    units = models.PositiveIntegerField(_("当選口数"))
    order = models.OneToOneField(
        Order,
        on_delete=models.PROTECT,
        related_name="allotment",
        verbose_name=_("支援の申込"),
        db_constraint=False,
    )

    class Meta:
        verbose_name = pgettext_lazy("model", "当選")
        verbose_name_plural = pgettext_lazy("models", "当選")
        ordering = ["draw_pass", "application_id", "listing_id"]

    def __str__(self) -> str:
        return f"{self.application} {self.listing_id} × {self.units}"

    def state_at(self, now: datetime.datetime) -> AllotmentState:
        order = self.order
        if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
            return AllotmentState.PAID
        if order.status == OrderStatus.CANCELLED:
            return AllotmentState.CANCELLED
        if order.status == OrderStatus.PENDING and now < order.expires_at:
            return AllotmentState.WON_REDRAW if self.draw_pass.is_redraw else AllotmentState.WON
        return AllotmentState.LAPSED
