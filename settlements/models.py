"""Settling with shops (精算): where each shop is paid.

A changed payee account is the classic payout fraud, so every registration and change of a
shop's account is recorded (masked), emailed to its operators, and holds its payouts until
staff confirm the details they were shown (`PayeeAccount.objects.payable()`).
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Project, Shop
from purchases.models import TicketUse
from settlements import cycle

# 全銀's limit for a payee's name in a transfer record (半角, a voiced mark counts as one).
HOLDER_NAME_MAX_LENGTH = 30
ACCOUNT_NUMBER_LENGTH = 7
MASK = "＊＊＊"


def mask_account_number(number: str) -> str:
    """`1234567` → `＊＊＊4567`: enough for a person to recognise their account, not to
    pay into it."""
    return f"{MASK}{number[-4:]}" if number else ""


class AccountType(models.TextChoices):
    # The values are 全銀's 預金種目 codes, as a transfer record writes them.
    ORDINARY = "1", _("普通")
    CURRENT = "2", _("当座")


class HoldReason(models.TextChoices):
    REGISTERED = "registered", _("口座が登録され、事務局の確認を待っています")
    CHANGED = "changed", _("口座が変更され、事務局の確認を待っています")
    RETURNED = "returned", _("振込が組戻しになりました。口座を確認してください")


class PayeeAccountQuerySet(models.QuerySet):
    def payable(self):
        """Accounts a settlement may pay into: staff have confirmed their current details.
        The one rule the settlement run follows; a held shop's money waits for the next run."""
        return self.filter(payout_hold=False)

    def held(self):
        return self.filter(payout_hold=True)


class PayeeAccount(models.Model):
    """The bank account a shop is paid into. Written only by settlements.services, which
    records, emails and holds every change; names come from the zengin-code data."""

    shop = models.OneToOneField(
        Shop, on_delete=models.PROTECT, related_name="payee_account", verbose_name=_("店舗")
    )
    bank_code = models.CharField(
        _("金融機関コード"), max_length=4, validators=[RegexValidator(r"^[0-9]{4}\Z")]
    )
    bank_name = models.CharField(_("金融機関名"), max_length=100)
    bank_name_kana = models.CharField(_("金融機関名(半角カナ)"), max_length=100)
    branch_code = models.CharField(
        _("支店コード"), max_length=3, validators=[RegexValidator(r"^[0-9]{3}\Z")]
    )
    branch_name = models.CharField(_("支店名"), max_length=100)
    branch_name_kana = models.CharField(_("支店名(半角カナ)"), max_length=100)
    account_type = models.CharField(_("預金種目"), max_length=1, choices=AccountType.choices)
    account_number = models.CharField(
        _("口座番号"),
        max_length=ACCOUNT_NUMBER_LENGTH,
        validators=[RegexValidator(r"^[0-9]{7}\Z")],
    )
    holder_name = models.CharField(_("口座名義(半角カナ)"), max_length=HOLDER_NAME_MAX_LENGTH)
    # One more at every change: staff confirm the version they were shown, never a later one.
    version = models.PositiveIntegerField(_("版"), default=1)
    updated_at = models.DateTimeField(_("更新日時"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("更新した人"),
    )
    payout_hold = models.BooleanField(_("支払保留"), default=True)
    hold_reason = models.CharField(
        _("保留の理由"), max_length=16, choices=HoldReason.choices, blank=True
    )
    confirmed_at = models.DateTimeField(_("事務局の確認日時"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確認した職員"),
    )

    objects = PayeeAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("振込先口座")
        verbose_name_plural = _("振込先口座")
        ordering = ["shop__name_kana", "pk"]
        permissions = [("view_full_account", _("口座番号を伏せずに見る"))]
        constraints = [
            # A held account always says why; a payable one has nothing to explain.
            models.CheckConstraint(
                condition=Q(payout_hold=True, hold_reason__gt="")
                | Q(payout_hold=False, hold_reason=""),
                name="payee_hold_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop}: {describe(self.snapshot())}"

    @property
    def masked_number(self) -> str:
        return mask_account_number(self.account_number)

    @property
    def is_payable(self) -> bool:
        # The same rule as PayeeAccountQuerySet.payable(), for one account in hand.
        return not self.payout_hold

    def snapshot(self) -> dict[str, str]:
        """The details as the change log keeps them: the number masked."""
        return {
            "bank_code": self.bank_code,
            "bank_name": self.bank_name,
            "branch_code": self.branch_code,
            "branch_name": self.branch_name,
            "account_type": self.account_type,
            "account_number": self.masked_number,
            "holder_name": self.holder_name,
        }


def describe(snapshot: dict[str, str]) -> str:
    """One line for a person: `みずほ(0001) 東京営業部(001) 普通 ＊＊＊4567 ﾔﾏﾀﾞ ﾀﾛｳ`."""
    if not snapshot:
        return str(_("なし"))
    account_type = snapshot.get("account_type", "")
    label = AccountType(account_type).label if account_type in AccountType.values else ""
    return (
        f"{snapshot.get('bank_name', '')}({snapshot.get('bank_code', '')}) "
        f"{snapshot.get('branch_name', '')}({snapshot.get('branch_code', '')}) "
        f"{label} {snapshot.get('account_number', '')} {snapshot.get('holder_name', '')}"
    )


class ChangeKind(models.TextChoices):
    REGISTERED = "registered", _("登録")
    CHANGED = "changed", _("変更")
    CONFIRMED = "confirmed", _("事務局が確認")
    # Payouts held because the bank sent a transfer back (組戻し): the details are unchanged
    # but must be checked with the shop before staff confirm them again.
    RETURNED = "returned", _("組戻しのため保留")


class PayeeAccountChange(models.Model):
    """One registration, change or staff confirmation of a payee account, kept for good:
    who, when, and the details before and after with the account number masked."""

    account = models.ForeignKey(
        PayeeAccount,
        on_delete=models.PROTECT,
        related_name="changes",
        verbose_name=_("振込先口座"),
    )
    kind = models.CharField(_("種類"), max_length=16, choices=ChangeKind.choices)
    version = models.PositiveIntegerField(_("版"))
    at = models.DateTimeField(_("日時"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作した人"),
    )
    before = models.JSONField(_("変更前(口座番号は伏せ字)"), default=dict, blank=True)
    after = models.JSONField(_("変更後(口座番号は伏せ字)"), default=dict, blank=True)

    class Meta:
        verbose_name = _("振込先口座の変更履歴")
        verbose_name_plural = _("振込先口座の変更履歴")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        at = timezone.localtime(self.at)
        return f"{self.account.shop} {self.get_kind_display()} {at:%Y-%m-%d %H:%M}"

    @property
    def before_text(self) -> str:
        return describe(self.before)

    @property
    def after_text(self) -> str:
        return describe(self.after)


def validate_closing_days(value: str) -> None:
    try:
        cycle.parse_closing_days(value)
    except ValueError:
        raise ValidationError(
            _("締め日は 1〜31 の日をカンマ区切りで入力してください(31 は月末)。例: 15,31")
        ) from None


class SettlementPolicy(models.Model):
    """A project's settlement cycle. Kept here, not on Project, so that settlements depends on
    projects and never the reverse; a project without one uses the defaults below."""

    project = models.OneToOneField(
        Project,
        on_delete=models.CASCADE,
        related_name="settlement_policy",
        verbose_name=_("プロジェクト"),
    )
    closing_days = models.CharField(
        _("締め日"),
        max_length=40,
        default="15,31",
        validators=[validate_closing_days],
        help_text=_("カンマ区切り。31 は月末を表します。"),
    )
    pay_after_business_days = models.PositiveSmallIntegerField(
        _("支払日(締め日から何銀行営業日後)"),
        default=5,
        validators=[MaxValueValidator(60)],
    )
    fee_per_statement = models.PositiveIntegerField(_("手数料(明細1件あたり・円)"), default=0)
    fee_rate_bp = models.PositiveIntegerField(
        _("手数料率(ベーシスポイント、1bp=0.01%)"),
        default=0,
        validators=[MaxValueValidator(10000)],
    )

    class Meta:
        verbose_name = _("精算の設定")
        verbose_name_plural = _("精算の設定")

    def __str__(self) -> str:
        return f"{self.project}"

    @classmethod
    def for_project(cls, project: Project) -> "SettlementPolicy":
        """The project's policy, or an unsaved one with the defaults."""
        return cls.objects.filter(project=project).first() or cls(project=project)

    @property
    def closing_day_list(self) -> list[int]:
        return cycle.parse_closing_days(self.closing_days)

    @property
    def closing_days_text(self) -> str:
        """`"15,31"` as staff say it: 15日・末日."""
        return "・".join(
            str(_("末日")) if day == cycle.MONTH_END else str(_("%(day)s日") % {"day": day})
            for day in self.closing_day_list
        )

    def next_period_end(self, latest: datetime.date | None, today: datetime.date) -> datetime.date:
        """The closing day to close next: the first after the latest period's end or, before
        the first period, the first from today on."""
        return cycle.next_closing_day(
            self.closing_day_list, latest or today - datetime.timedelta(days=1)
        )

    def payment_date(self, period_end: datetime.date) -> datetime.date:
        return cycle.bank_business_days_after(period_end, self.pay_after_business_days)

    def fee_for(self, face_value: int) -> int:
        """The fee on a statement of `face_value` yen of uses (net of reversals, so a use undone
        after settlement takes its share of the rate back): a fixed amount plus a rate
        (rounded down: the shop is never charged a fraction), never more than the face value."""
        if face_value <= 0:
            return 0
        fee = self.fee_per_statement + face_value * self.fee_rate_bp // 10000
        return min(fee, face_value)


class SettlementRun(models.Model):
    """One settlement period of a project: every use up to the end of `period_end` (Japan
    time) not yet in a statement. Written only by settlements.services.settlement_run."""

    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        related_name="settlement_runs",
        verbose_name=_("プロジェクト"),
    )
    period_start = models.DateField(_("期間の開始日"), null=True, blank=True)
    period_end = models.DateField(_("締め日"))
    payment_date = models.DateField(_("支払予定日"))
    created_at = models.DateTimeField(_("作成日時"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("作成した職員"),
    )

    class Meta:
        verbose_name = _("精算期間")
        verbose_name_plural = _("精算期間")
        ordering = ["-period_end", "-pk"]
        permissions = [("download_bank_file", _("振込データをダウンロードする"))]
        constraints = [
            models.UniqueConstraint(fields=["project", "period_end"], name="run_one_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.period_end:%Y-%m-%d}締め"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("作成済み")
    CHECKED = "checked", _("確認済み")
    APPROVED = "approved", _("承認済み")
    EXPORTED = "exported", _("振込データ出力済み")
    PAID = "paid", _("支払済み")
    RETURNED = "returned", _("組戻し")


# What the shop sees of its statements: from staff's approval on (four eyes), as a
# programme's 支払通知書 is issued. A draft may still be found wrong by the checker; showing it
# would have the shop expect an amount not yet agreed.
SHOWN_TO_SHOP = (
    StatementStatus.APPROVED,
    StatementStatus.EXPORTED,
    StatementStatus.PAID,
    StatementStatus.RETURNED,
)


class StatementQuerySet(models.QuerySet):
    def shown_to_shop(self):
        return self.filter(status__in=SHOWN_TO_SHOP)

    def payable(self):
        """Statements the bank file may carry: approved, something to pay, and the shop's
        payee account confirmed (PayeeAccount.objects.payable(), the one rule)."""
        return self.filter(
            status=StatementStatus.APPROVED,
            amount_to_pay__gt=0,
            shop__payee_account__in=PayeeAccount.objects.payable(),
        )


class Statement(models.Model):
    """What one shop is paid for one period. Amounts are integer yen: face value = the
    supporters' part + the premium (net of uses undone after settlement, REVERSAL lines);
    amount to pay = face value - fee + carried (a returned transfer's amount brought back, or
    a previous statement's amount below zero taken off). Below zero, nothing is paid and the
    next run carries it."""

    run = models.ForeignKey(
        SettlementRun,
        on_delete=models.PROTECT,
        related_name="statements",
        verbose_name=_("精算期間"),
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="statements", verbose_name=_("店舗")
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    face_value = models.IntegerField(_("利用額(額面・円)"))
    supporter_part = models.IntegerField(_("うち支援者の負担分(円)"))
    premium_part = models.IntegerField(_("うちプレミアム分(円)"))
    fee = models.IntegerField(_("手数料(円)"))
    carried = models.IntegerField(_("繰越(円)"), default=0)
    amount_to_pay = models.IntegerField(_("支払額(円)"))
    checked_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確認した職員"),
    )
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("承認した職員"),
    )
    exported_at = models.DateTimeField(_("振込データ出力日時"), null=True, blank=True)
    paid_at = models.DateTimeField(_("支払日時"), null=True, blank=True)
    bank_reference = models.CharField(_("銀行の受付番号"), max_length=100, blank=True)
    returned_at = models.DateTimeField(_("組戻し日時"), null=True, blank=True)
    # The bank file that carried it: a lost file is downloaded again from this batch.
    exported_in = models.ForeignKey(
        "BankFileDownload",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
        verbose_name=_("出力した振込データ"),
    )

    objects = StatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("精算明細")
        verbose_name_plural = _("精算明細")
        ordering = ["-run__period_end", "shop__name_kana", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "shop"], name="statement_one_per_shop_and_run"),
            models.CheckConstraint(
                condition=Q(face_value=models.F("supporter_part") + models.F("premium_part")),
                name="statement_parts_sum_to_face_value",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount_to_pay=models.F("face_value") - models.F("fee") + models.F("carried")
                ),
                name="statement_amount_to_pay",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop} {self.run.period_end:%Y-%m-%d}締め"

    @property
    def shop_state(self) -> str:
        """The statement's state in the shop's terms (its operator's pages)."""
        if self.status == StatementStatus.RETURNED:
            return _("組戻し(次回の精算に繰越)")
        if self.amount_to_pay < 0:
            return _("お支払いなし(マイナス分を次回に繰越)")
        if self.amount_to_pay == 0:
            return _("お支払いなし")
        return {
            StatementStatus.APPROVED: _("お支払い予定"),
            StatementStatus.EXPORTED: _("お振込み手続き中"),
            StatementStatus.PAID: _("お支払い済み"),
        }.get(self.status, _("事務局で確認中"))


class LineKind(models.TextChoices):
    USE = "use", _("利用")
    REVERSAL = "reversal", _("利用の取消(精算後)")
    RETURNED = "returned", _("組戻しの繰越")
    # A statement that came to less than zero (reversals more than the new uses): taken off
    # this one instead of being paid, or lost.
    CARRIED = "carried", _("前回のマイナスの繰越")


class StatementLine(models.Model):
    """One ticket use (or its reversal, or a returned transfer brought back) on a statement.
    Each use is on exactly one line (the unique constraint), so never in two statements."""

    # No foreign key in the database either (its check at COMMIT, line by line, was 9 s of
    # a run of 1.4 M lines, docs/benchmarks.md): lines are written only by settlement_run,
    # into the statements it created in the same transaction (the INSERT ... SELECT joins
    # them); statements are never deleted (admin offers no delete, no code does), and the
    # ORM would still cascade. The index stays: a statement's lines.
    statement = models.ForeignKey(
        Statement,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="lines",
        verbose_name=_("精算明細"),
    )
    kind = models.CharField(_("種類"), max_length=16, choices=LineKind.choices)
    # No foreign key in the database (its per-line check at COMMIT was 12 s of a run of 1.4 M
    # lines, docs/benchmarks.md): lines are written only from uses read in the same
    # INSERT ... SELECT, uses are never deleted, and PROTECT still guards the ORM's deletes.
    # The unique index stays: each use on exactly one line.
    ticket_use = models.OneToOneField(
        TicketUse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="statement_line",
        verbose_name=_("チケットの利用"),
    )
    # A use undone after it was settled: this line takes it back (negative amounts).
    # This and returned_statement are NULL on nearly every line: one each at most (the
    # partial unique constraints below), not OneToOneFields, whose full unique indexes took
    # an entry per USE line (docs/benchmarks.md, 精算). Looked up in the singular.
    reversed_use = models.ForeignKey(
        TicketUse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="reversal_lines",
        related_query_name="reversal_line",
        verbose_name=_("取り消された利用"),
    )
    returned_statement = models.ForeignKey(
        Statement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="carried_by_lines",
        related_query_name="carried_by",
        verbose_name=_("繰り越した明細(組戻し・マイナス)"),
    )
    used_at = models.DateTimeField(_("日時"))
    face_value = models.IntegerField(_("額面(円)"))
    supporter_part = models.IntegerField(_("支援者の負担分(円)"))
    premium_part = models.IntegerField(_("プレミアム分(円)"))

    class Meta:
        verbose_name = _("精算明細の行")
        verbose_name_plural = _("精算明細の行")
        ordering = ["used_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(face_value=models.F("supporter_part") + models.F("premium_part")),
                name="line_parts_sum_to_face_value",
            ),
            models.UniqueConstraint(
                fields=["reversed_use"],
                condition=Q(reversed_use__isnull=False),
                name="line_one_per_reversed_use",
            ),
            models.UniqueConstraint(
                fields=["returned_statement"],
                condition=Q(returned_statement__isnull=False),
                name="line_one_per_carried_statement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement} {self.get_kind_display()} {self.face_value}"


class BankFileFormat(models.TextChoices):
    ZENGIN = "zengin", _("全銀協形式")
    CSV = "csv", _("CSV")


class BankFileDownload(models.Model):
    """Every bank file served, kept for good: who, when, which run, and the file's SHA-256
    (the office can tell which file the bank received)."""

    run = models.ForeignKey(
        SettlementRun,
        on_delete=models.PROTECT,
        related_name="downloads",
        verbose_name=_("精算期間"),
    )
    at = models.DateTimeField(_("日時"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ダウンロードした職員"),
    )
    format = models.CharField(_("形式"), max_length=8, choices=BankFileFormat.choices)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    count = models.PositiveIntegerField(_("件数"))
    total = models.PositiveBigIntegerField(_("合計金額(円)"))
    # A lost file fetched again: the same statements, nothing exported anew.
    redownload_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="redownloads",
        verbose_name=_("再ダウンロード元"),
    )

    class Meta:
        verbose_name = _("振込データのダウンロード記録")
        verbose_name_plural = _("振込データのダウンロード記録")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return (
            f"{self.run} {self.get_format_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
        )


class Books(Project):
    """No table of its own: the admin page of a project's books (settlements.books), here so
    that it has its place in the admin index and its own permission, `settlements.view_books`
    (what was raised, used and settled, by shop: not for every staff member)."""

    class Meta:
        proxy = True
        verbose_name = _("プログラムの帳簿")
        verbose_name_plural = _("プログラムの帳簿")
        default_permissions = ("view",)
