"""Projects, rounds (期), shops and what shops offer supporters (リターン).

The figures shown to the public and to operators (amount raised, supporters, units sold,
tickets issued and used) are counter fields on these rows. This app only reads them; the
purchases app fills them, inside the same transaction as the order, with conditional
`UPDATE ... SET x = x + n` statements (never read-add-save). Until purchases exist they are 0.
Counters rather than aggregates over orders because the 9:00 rush reads them on every page
view, and because the caps (budget, stock) are enforced on these same rows.

Two kinds: `amount_raised` and `units_sold` count reservations too (pending orders), because
they are the caps; the public sees only what was paid (`amount_paid`, `supporters_count`),
so that unpaid or expired reservations never swell a shop's figures.
"""

import dataclasses
import datetime
import math
import unicodedata

import jaconv
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# No real application comes near this; a bigger number is a typo or an attack.
MAX_UNITS_PER_ORDER = 1000


def search_key(text: str) -> str:
    """The form in which shop names are stored for search and in which queries are compared:
    NFKC (half-width kana and full-width Latin folded), hiragana as katakana, lower case.
    So `やまぐち`, `ﾔﾏｸﾞﾁ` and `ヤマグチ` all find the same shop."""
    return jaconv.hira2kata(unicodedata.normalize("NFKC", text)).lower().strip()


class UnusedValue(models.TextChoices):
    """What becomes of paid value left on tickets when their usage period ends.

    "Refunded on request" is handled by staff for now: My page links the supporter to the
    contact form, and staff refund by hand. Not a service yet, because Refund is one per
    payment (purchases.services.refund_owe), so a partial refund of a payment needs its own
    record, and the paid share of unused face value (the premium excluded) needs a rounding
    rule the programme has to set."""

    FORFEITED = "forfeited", _("失効(返金なし)")
    REFUNDED_ON_REQUEST = "refunded_on_request", _("お申し出により返金")


class Project(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    slug = models.SlugField(_("スラッグ"), unique=True)
    description = models.TextField(_("説明"), blank=True)
    unit_price = models.PositiveIntegerField(_("1口の金額(円)"), default=1000)
    premium_rate = models.PositiveSmallIntegerField(
        _("プレミアム率(%)"), default=50, help_text=_("50なら支援額の150%分のチケット")
    )
    max_per_application = models.PositiveIntegerField(_("1回の申込上限(円)"), default=20_000)
    max_per_person_per_round = models.PositiveIntegerField(
        _("1人1期あたりの上限(円)"), default=100_000
    )
    total_budget = models.PositiveBigIntegerField(
        _("総予算(円)"), help_text=_("累計の支援額がこれに達すると、期の途中でも募集を終えます")
    )
    ticket_denomination = models.PositiveIntegerField(_("チケット1枚の額面(円)"), default=500)
    electronic_tickets = models.BooleanField(_("電子チケット"), default=True)
    paper_tickets = models.BooleanField(_("紙チケット"), default=False)
    is_published = models.BooleanField(_("公開"), default=True)
    # The residents app holds the codes; purchases refuses an order without one.
    residents_only = models.BooleanField(
        _("対象地域にお住まいの方のみ"),
        default=False,
        help_text=_(
            "オンにすると、各世帯に郵送した参加コードをマイページで登録した方だけが申し込めます"
            "(コードは「参加コード」の画面から取り込みます)"
        ),
    )
    unused_value = models.CharField(
        _("利用期間終了後の未使用分"),
        max_length=24,
        choices=UnusedValue.choices,
        default=UnusedValue.FORFEITED,
        help_text=_("支援者に、申込前の画面・プロジェクトのページ・利用規約で示します"),
    )
    # Counters filled by the purchases app (see the module docstring); 0 until then.
    amount_raised = models.PositiveBigIntegerField(
        _("支援総額(お支払い待ちを含む・円)"), default=0, editable=False
    )
    amount_paid = models.PositiveBigIntegerField(
        _("お支払い済みの支援額(円)"), default=0, editable=False
    )
    supporters_count = models.PositiveIntegerField(_("支援者数"), default=0, editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("プロジェクト")
        verbose_name_plural = _("プロジェクト")
        ordering = ["-created_at"]
        constraints = [
            # Every price is a multiple of the unit, every face value of the denomination.
            models.CheckConstraint(
                condition=Q(unit_price__gte=1, ticket_denomination__gte=1),
                name="project_unit_and_denomination_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:project_detail", kwargs={"slug": self.slug})

    def clean(self):
        super().clean()
        if self.unit_price and self.ticket_denomination:
            try:
                self.validate_unit_price(self.unit_price)
            except ValidationError as error:
                raise ValidationError({"unit_price": error}) from None

    def validate_unit_price(self, price: int, *, premium_applies: bool = True) -> None:
        """A price per unit (1口) by this project's rules, or ValidationError: a multiple of the
        project's unit, no more than one application's maximum, and worth tickets that split
        into whole tickets of the denomination (never a 351円券 beside the 500円 ones)."""
        unit, most = self.unit_price, self.max_per_application
        if price < unit or price % unit:
            raise ValidationError(
                _("1口の金額は%(unit)s円の倍数にしてください。"),
                code="not_a_multiple_of_the_unit",
                params={"unit": f"{unit:,}"},
            )
        if price > most:
            raise ValidationError(
                _("1口の金額は、1回のお申込の上限(%(max)s円)以下にしてください。"),
                code="over_application_max",
                params={"max": f"{most:,}"},
            )
        multiplier = self.premium_multiplier_percent if premium_applies else 100
        if price * multiplier % (100 * self.ticket_denomination):
            raise ValidationError(
                _(
                    "この金額では、チケットの額面%(value)s円が%(denomination)s円券で割り切れ"
                    "ません。%(denomination)s円券で割り切れる金額にしてください。"
                ),
                code="denomination_remainder",
                params={
                    "value": f"{price * multiplier // 100:,}",
                    "denomination": f"{self.ticket_denomination:,}",
                },
            )

    @property
    def premium_multiplier_percent(self) -> int:
        return 100 + self.premium_rate

    def tickets_value(self, amount: int) -> int:
        """The face value of the tickets a supporter receives for `amount` yen of support."""
        return amount * (100 + self.premium_rate) // 100

    @property
    def budget_remaining(self) -> int:
        return max(self.total_budget - self.amount_raised, 0)

    @property
    def is_budget_exhausted(self) -> bool:
        return self.amount_raised >= self.total_budget

    @property
    def progress_percent(self) -> int:
        """How much of the budget paid support has used (the public's figure)."""
        if not self.total_budget:
            return 0
        return min(math.floor(self.amount_paid * 100 / self.total_budget), 100)


class RoundStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("募集開始前")
    OPEN = "open", _("募集中")
    CLOSED = "closed", _("募集終了")
    SUSPENDED = "suspended", _("一時停止中")


class AllocationMode(models.TextChoices):
    """How a round's supply goes to supporters: first come at the opening second, or a
    verifiable lottery among the applications made in the window (the lottery app)."""

    FIRST_COME = "first_come", _("先着順")
    LOTTERY = "lottery", _("抽選")


# Refused in the round's form and by projects.services.round_allocation_mode_set alike.
ALLOCATION_MODE_FIXED = _(
    "この期は募集開始後か、すでに申込・抽選の設定があるため、配分方式(先着順/抽選)は"
    "変更できません。"
)


class RoundQuerySet(models.QuerySet):
    def open_at(self, now: datetime.datetime):
        return self.filter(opens_at__lte=now, closes_at__gt=now, suspended=False)

    def mode_fixed_at(self, now: datetime.datetime):
        """Rounds whose allocation mode may no longer change at `now`: opened (orders and
        applications come only after that), or holding an order or a lottery whatever their
        dates say now (staff may have moved the opening later). The apps above name those
        relations (purchases' orders, the lottery app's lottery): read by name, not imported."""
        return self.filter(
            Q(opens_at__lte=now) | Q(orders__isnull=False) | Q(lottery__isnull=False)
        ).distinct()

    def scheduled_at(self, now: datetime.datetime):
        return self.filter(opens_at__gt=now)

    def current_at(self, now: datetime.datetime):
        """The round a visitor cares about at `now`: the one running (open or suspended),
        else the next to open, else the last one. Ordered so that `.first()` picks it."""
        return self.annotate(
            _rank=models.Case(
                models.When(opens_at__lte=now, closes_at__gt=now, then=0),
                models.When(opens_at__gt=now, then=1),
                default=2,
            )
        ).order_by(
            "_rank",
            # Among past rounds the latest first; running and coming ones by opening time.
            models.Case(
                models.When(closes_at__lte=now, then=models.F("opens_at")), default=None
            ).desc(nulls_last=True),
            "opens_at",
            "pk",
        )


class Round(models.Model):
    """A round (期) of supporter recruitment, then a later ticket usage period.

    Its status follows the clock (`status_at(now)`); a staff suspension overrides it, e.g.
    to halt recruitment at once as in 2021.
    """

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("プロジェクト")
    )
    number = models.PositiveSmallIntegerField(_("期"))
    shop_applications_close_at = models.DateTimeField(
        _("参加店舗の申込締切"),
        help_text=_("この日時までに申し込んだ店舗が、この期から参加します"),
    )
    opens_at = models.DateTimeField(_("募集開始"))
    closes_at = models.DateTimeField(_("募集終了"))
    usage_starts_on = models.DateField(_("チケット利用開始日"))
    usage_ends_on = models.DateField(_("チケット利用終了日"))
    allocation_mode = models.CharField(
        _("配分方式"),
        max_length=16,
        choices=AllocationMode.choices,
        default=AllocationMode.FIRST_COME,
        help_text=_(
            "抽選なら、募集開始〜募集終了が申込の受付期間になり、終了後に抽選します"
            "(先着順の申込はできません)"
        ),
    )
    suspended = models.BooleanField(_("一時停止"), default=False)
    suspension_reason = models.TextField(_("一時停止の理由"), blank=True)
    suspended_at = models.DateTimeField(_("一時停止日時"), null=True, blank=True)
    # Counters filled by the purchases app; 0 until then.
    amount_raised = models.PositiveBigIntegerField(
        _("支援総額(お支払い待ちを含む・円)"), default=0, editable=False
    )
    amount_paid = models.PositiveBigIntegerField(
        _("お支払い済みの支援額(円)"), default=0, editable=False
    )
    supporters_count = models.PositiveIntegerField(_("支援者数"), default=0, editable=False)

    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("期")
        verbose_name_plural = _("期")
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="round_unique_number"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="round_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=Q(usage_ends_on__gte=models.F("usage_starts_on")),
                name="round_usage_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["opens_at", "closes_at"])]

    def __str__(self) -> str:
        return f"{self.project} {self.label}"

    def get_absolute_url(self) -> str:
        return reverse(
            "projects:round_detail", kwargs={"slug": self.project.slug, "number": self.number}
        )

    def clean(self):
        super().clean()
        # The form's check at the clock's time; round_allocation_mode_set re-checks under a lock.
        if self.pk is not None and self.allocation_mode_fixed(timezone.now()):
            raise ValidationError({"allocation_mode": ALLOCATION_MODE_FIXED})

    def allocation_mode_fixed(self, now: datetime.datetime) -> bool:
        """This copy's allocation mode differs from the stored one, which may not change."""
        stored = Round.objects.filter(pk=self.pk)
        return (
            stored.exclude(allocation_mode=self.allocation_mode).exists()
            and stored.mode_fixed_at(now).exists()
        )

    @property
    def label(self) -> str:
        return _("第%(number)s期") % {"number": self.number}

    def status_at(self, now: datetime.datetime) -> RoundStatus:
        if self.suspended:
            return RoundStatus.SUSPENDED
        if now < self.opens_at:
            return RoundStatus.SCHEDULED
        if now < self.closes_at:
            return RoundStatus.OPEN
        return RoundStatus.CLOSED

    @property
    def is_lottery(self) -> bool:
        return self.allocation_mode == AllocationMode.LOTTERY

    def is_open_at(self, now: datetime.datetime) -> bool:
        return self.status_at(now) == RoundStatus.OPEN

    def next_change_at(self, now: datetime.datetime) -> datetime.datetime | None:
        """When the clock next changes this round's status (opening, then closing)."""
        if now < self.opens_at:
            return self.opens_at
        if now < self.closes_at:
            return self.closes_at
        return None


class Category(models.TextChoices):
    RESTAURANT = "restaurant", _("飲食店")
    CAFE = "cafe", _("カフェ・喫茶")
    BAR = "bar", _("居酒屋・バー")
    FOOD = "food", _("食品・お土産")
    RETAIL = "retail", _("小売・雑貨")
    BEAUTY = "beauty", _("美容・理容")
    LODGING = "lodging", _("宿泊")
    LEISURE = "leisure", _("レジャー・体験")
    SERVICE = "service", _("生活サービス")
    OTHER = "other", _("その他")


class Municipality(models.TextChoices):
    """The 19 municipalities of Yamaguchi Prefecture, where the programme runs."""

    SHIMONOSEKI = "shimonoseki", _("下関市")
    UBE = "ube", _("宇部市")
    YAMAGUCHI = "yamaguchi", _("山口市")
    HAGI = "hagi", _("萩市")
    HOFU = "hofu", _("防府市")
    KUDAMATSU = "kudamatsu", _("下松市")
    IWAKUNI = "iwakuni", _("岩国市")
    HIKARI = "hikari", _("光市")
    NAGATO = "nagato", _("長門市")
    YANAI = "yanai", _("柳井市")
    MINE = "mine", _("美祢市")
    SHUNAN = "shunan", _("周南市")
    SANYO_ONODA = "sanyo_onoda", _("山陽小野田市")
    SUO_OSHIMA = "suo_oshima", _("周防大島町")
    WAKI = "waki", _("和木町")
    KAMINOSEKI = "kaminoseki", _("上関町")
    TABUSE = "tabuse", _("田布施町")
    HIRAO = "hirao", _("平生町")
    ABU = "abu", _("阿武町")


class ShopStatus(models.TextChoices):
    APPLIED = "applied", _("審査中")
    APPROVED = "approved", _("承認済み")
    REJECTED = "rejected", _("却下")
    # Taken out of the programme by staff (closed, found not to qualify).
    WITHDRAWN = "withdrawn", _("参加取消")


class ShopQuerySet(models.QuerySet):
    def listed(self):
        """Shops the public sees: approved by the office after checking the business."""
        return self.filter(status=ShopStatus.APPROVED)

    def operated_by(self, user):
        """The shops `user` operates. Every operator view looks shops up through this, so an
        id belonging to another shop is a 404, never someone else's data."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(operators=user)

    def search(self, query: str):
        """Name or kana containing `query`, compared in `search_key` form. On PostgreSQL the
        LIKE is served by a pg_trgm GIN index (migration 0002); SQLite scans."""
        key = search_key(query)
        if not key:
            return self
        return self.filter(search_text__contains=key)


def shop_photo_path(instance, filename: str) -> str:
    # The stored name never comes from the uploader (the form renames it too).
    return f"shops/{filename}"


# The shop page and the shop list show both on every view (kaika/choices.py says why).
class Shop(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="shops", verbose_name=_("プロジェクト")
    )
    name = models.CharField(_("店舗名"), max_length=100)
    name_kana = models.CharField(_("店舗名(カナ)"), max_length=200)
    category = models.CharField(_("業種"), max_length=20, choices=Category.choices)
    municipality = models.CharField(_("市町"), max_length=20, choices=Municipality.choices)
    address = models.CharField(_("住所"), max_length=200)
    phone = models.CharField(_("電話番号"), max_length=20)
    opening_hours = models.CharField(_("営業時間"), max_length=200, blank=True)
    description = models.TextField(_("お店の紹介"), blank=True)
    photo = models.ImageField(_("写真"), upload_to=shop_photo_path, blank=True)
    website = models.URLField(_("ウェブサイト"), blank=True)
    representative_name = models.CharField(_("代表者名"), max_length=100)
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="operated_shops",
        verbose_name=_("運営者"),
        blank=True,
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shop_applications",
        verbose_name=_("申請者"),
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=ShopStatus.choices, default=ShopStatus.APPLIED
    )
    applied_at = models.DateTimeField(_("申請日時"))
    reviewed_at = models.DateTimeField(_("審査日時"), null=True, blank=True)
    staff_notes = models.TextField(
        _("事務局メモ(非公開)"),
        blank=True,
        help_text=_("営業実態の確認結果など。申請者には見えません"),
    )
    review_comment = models.TextField(
        _("申請者への連絡事項"), blank=True, help_text=_("承認・却下のメールに記載されます")
    )
    # Lower-cased katakana form of name and kana (see search_key), kept in step by save().
    search_text = models.TextField(editable=False, default="")
    rounds = models.ManyToManyField(
        Round, through="ShopRound", related_name="shops", verbose_name=_("参加する期")
    )

    objects = ShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("店舗")
        verbose_name_plural = _("店舗")
        ordering = ["name_kana", "pk"]
        indexes = [
            models.Index(fields=["status", "name_kana"]),
            models.Index(fields=["status", "category"]),
            models.Index(fields=["status", "municipality"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_text = f"{search_key(self.name)}\n{search_key(self.name_kana)}"
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"name", "name_kana"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("projects:shop_detail", kwargs={"shop_id": self.pk})

    @property
    def is_listed(self) -> bool:
        return self.status == ShopStatus.APPROVED


class ShopRound(models.Model):
    """A shop's participation in a round, with its figures for that round (counters filled
    by the purchases app, 0 until then)."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="participations", verbose_name=_("店舗")
    )
    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="participations", verbose_name=_("期")
    )
    joined_at = models.DateTimeField(_("参加日時"))
    supporters_count = models.PositiveIntegerField(_("支援者数"), default=0, editable=False)
    units_sold = models.PositiveIntegerField(_("口数"), default=0, editable=False)
    amount_raised = models.PositiveBigIntegerField(_("支援額(円)"), default=0, editable=False)
    amount_paid = models.PositiveBigIntegerField(
        _("お支払い済みの支援額(円)"), default=0, editable=False
    )
    tickets_issued_amount = models.PositiveBigIntegerField(
        _("発行チケット額(円)"), default=0, editable=False
    )
    tickets_used_amount = models.PositiveBigIntegerField(
        _("利用済みチケット額(円)"), default=0, editable=False
    )

    class Meta:
        verbose_name = _("店舗の参加期")
        verbose_name_plural = _("店舗の参加期")
        ordering = ["round__number"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "round"], name="shopround_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.shop} {self.round.label}"


class ListingReview(models.TextChoices):
    """Where a listing stands with the office: only an approved one is ever on sale."""

    DRAFT = "draft", _("下書き")
    PENDING = "pending", _("審査待ち")
    APPROVED = "approved", _("承認済み")
    REJECTED = "rejected", _("差し戻し")


# A change to these sends an approved listing back to the office (services.listing_update).
LISTING_REVIEWED_FIELDS = ("unit_price", "premium_applies")


@dataclasses.dataclass(frozen=True)
class UnitCap:
    """One limit on the units of a single application: the most units it leaves (below 1
    when none), and how purchases.services.PurchaseError names it when exceeded."""

    code: str
    most: int
    params: dict


class ListingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def offered_in(self, round_: Round):
        """Listings on sale in `round_`: approved by the office, active, and tied to it or to
        no round (offered in every round the shop takes part in, like the standard listing).
        The one rule of what is sold: the shop page and order_terms ask here (and
        purchases/sql/order_reserve.sql repeats it for the 9:00 path)."""
        return (
            self.active()
            .filter(review_status=ListingReview.APPROVED)
            .filter(Q(rounds=round_) | Q(rounds__isnull=True))
            .distinct()
            .order_by("-is_standard", "pk")
        )


class Listing(models.Model):
    """What a shop offers supporters (リターン). Every approved shop has the standard
    premium-ticket listing (is_standard); operators may add limited ones."""

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="listings", verbose_name=_("店舗")
    )
    title = models.CharField(_("タイトル"), max_length=100)
    description = models.TextField(_("説明"), blank=True)
    photo = models.ImageField(_("写真"), upload_to="listings/", blank=True)
    unit_price = models.PositiveIntegerField(_("1口の金額(円)"), default=1000)
    premium_applies = models.BooleanField(_("プレミアム対象"), default=True)
    stock_limit = models.PositiveIntegerField(
        _("販売上限数"), null=True, blank=True, help_text=_("空欄なら上限なし")
    )
    per_person_limit = models.PositiveIntegerField(
        _("1人あたりの上限数"), null=True, blank=True, help_text=_("空欄なら上限なし")
    )
    rounds = models.ManyToManyField(
        Round,
        related_name="listings",
        blank=True,
        verbose_name=_("販売する期"),
        help_text=_("選ばなければ、店舗が参加するすべての期で販売します"),
    )
    is_active = models.BooleanField(_("販売中"), default=True)
    is_standard = models.BooleanField(_("標準プレミアム券"), default=False, editable=False)
    # Changed only by the services (the operator submits, staff approve or send back).
    review_status = models.CharField(
        _("審査"),
        max_length=16,
        choices=ListingReview.choices,
        default=ListingReview.DRAFT,
        editable=False,
    )
    review_comment = models.TextField(
        _("事務局からの連絡事項"), blank=True, help_text=_("差し戻しの理由など。店舗に届きます")
    )
    submitted_at = models.DateTimeField(_("審査の申請日時"), null=True, blank=True, editable=False)
    reviewed_at = models.DateTimeField(_("審査日時"), null=True, blank=True, editable=False)
    # Filled by the purchases app with `UPDATE ... SET units_sold = units_sold + n WHERE
    # stock_limit IS NULL OR units_sold + n <= stock_limit`; 0 until then.
    units_sold = models.PositiveIntegerField(_("販売済み口数"), default=0, editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        verbose_name = _("リターン")
        verbose_name_plural = _("リターン")
        ordering = ["shop", "-is_standard", "pk"]
        constraints = [
            # The last line of defence: no edit and no sale can leave more sold than stocked.
            models.CheckConstraint(
                condition=Q(stock_limit__isnull=True) | Q(stock_limit__gte=models.F("units_sold")),
                name="listing_stock_not_below_sold",
            ),
            models.UniqueConstraint(
                fields=["shop"], condition=Q(is_standard=True), name="listing_one_standard_per_shop"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=1), name="listing_unit_price_positive"
            ),
            # The operator is always told why a listing was sent back.
            models.CheckConstraint(
                condition=~Q(review_status=ListingReview.REJECTED) | ~Q(review_comment=""),
                name="listing_rejection_has_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop} / {self.title}"

    def clean(self):
        super().clean()
        if self.shop_id is not None and self.unit_price:
            try:
                self.shop.project.validate_unit_price(
                    self.unit_price, premium_applies=self.premium_applies
                )
            except ValidationError as error:
                raise ValidationError({"unit_price": error}) from None

    @property
    def is_on_sale(self) -> bool:
        return self.is_active and self.review_status == ListingReview.APPROVED

    @property
    def remaining_stock(self) -> int | None:
        if self.stock_limit is None:
            return None
        return max(self.stock_limit - self.units_sold, 0)

    @property
    def is_sold_out(self) -> bool:
        return self.stock_limit is not None and self.units_sold >= self.stock_limit

    @property
    def has_sales(self) -> bool:
        return self.units_sold > 0

    def tickets_value(self, amount: int) -> int:
        """The face value of the tickets for `amount` yen of this listing: with the project's
        premium where it applies (Project.tickets_value), else the amount itself."""
        return self.shop.project.tickets_value(amount) if self.premium_applies else amount

    @property
    def unit_tickets_value(self) -> int:
        """The tickets for one unit: a whole number of yen for any listing on sale (clean()),
        so n units give n times this, as the shop page's running total counts."""
        return self.tickets_value(self.unit_price)

    def unit_caps(self, *, held_units: int = 0, held_amount: int = 0) -> list[UnitCap]:
        """Every cap on one application of this listing, in the order an order is checked
        (purchases.services.order_check, and order_reserve.sql on PostgreSQL), given what the
        supporter holds already: `held_units` of this listing and `held_amount` yen in the
        round, paid or pending until their deadline. The budget and stock are as last read
        (the reservation's conditional UPDATEs have the last word). Needs `shop.project`."""
        project, price = self.shop.project, self.unit_price
        caps = [
            UnitCap(
                "over_application_max",
                project.max_per_application // price,
                {"max": project.max_per_application},
            )
        ]
        if self.per_person_limit is not None:
            caps.append(
                UnitCap(
                    "over_listing_person_limit",
                    self.per_person_limit - held_units,
                    {"limit": self.per_person_limit, "held": held_units},
                )
            )
        caps.append(
            UnitCap(
                "over_person_round_max",
                (project.max_per_person_per_round - held_amount) // price,
                {"max": project.max_per_person_per_round, "held": held_amount},
            )
        )
        caps.append(UnitCap("budget_exhausted", project.budget_remaining // price, {}))
        if self.remaining_stock is not None:
            caps.append(UnitCap("sold_out", self.remaining_stock, {}))
        return caps

    def units_max(self, *, held_units: int = 0, held_amount: int = 0) -> int:
        """The most units one application may take now (0: none): every cap of unit_caps.
        Without what a supporter holds, the same for everyone (the public shop page's)."""
        caps = self.unit_caps(held_units=held_units, held_amount=held_amount)
        return max(0, min([MAX_UNITS_PER_ORDER, *(cap.most for cap in caps)]))

    # The standard listing's words are the site's, not the operator's: they follow the reader's
    # language (the stored title and description are in Japanese, written at approval time).
    @property
    def display_title(self) -> str:
        return gettext("プレミアム付きチケット") if self.is_standard else self.title

    @property
    def display_description(self) -> str:
        if not self.is_standard:
            return self.description
        project = self.shop.project
        return gettext("1口%(price)s円のご支援で、%(value)s円分のチケットをお届けします。") % {
            "price": f"{self.unit_price:,}",
            "value": f"{project.tickets_value(self.unit_price):,}",
        }
