"""Settling with shops (精算): where each shop is paid.

A changed payee account is the classic payout fraud, so every registration and change of a
shop's account is recorded (masked), emailed to its operators, and holds its payouts until
staff confirm the details they were shown (`PayeeAccount.objects.payable()`).
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Shop

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
