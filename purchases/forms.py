import re
import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from kaika.forms import RejectControlCharactersMixin
from projects.models import MAX_UNITS_PER_ORDER
from purchases.models import UNDO_REASON_MAX_LENGTH

# A wallet's code (the QR code on My page), or a ticket's printed before wallets existed.
MAX_ID = 2**63 - 1
TILL_CODE_RE = re.compile(r"[WT]-[23456789A-HJKMNP-Z]{28}")


class OrderForm(RejectControlCharactersMixin, forms.Form):
    """What the shop page sends (GET) and the confirmation page posts back. Ids are only
    pointers: the service re-reads every row and checks that they belong together."""

    # Bounded by the database's bigint: a larger id would reach PostgreSQL and fail there.
    listing = forms.IntegerField(min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    round = forms.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, widget=forms.HiddenInput
    )
    units = forms.IntegerField(
        label=_("口数"),
        min_value=1,
        max_value=MAX_UNITS_PER_ORDER,
        error_messages={"invalid": _("口数は1以上の整数で入力してください。")},
    )
    # One per confirmation page view: replaying or double-posting it finds the same order.
    idempotency_key = forms.CharField(
        max_length=64, min_length=16, required=False, widget=forms.HiddenInput
    )

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(24)

    def at_most(self, units: int) -> "OrderForm":
        """The units input bounded, for the browser, by what the caps allow now (the
        service checks again whatever is sent)."""
        self.fields["units"].widget.attrs["max"] = units
        return self


class RedeemForm(RejectControlCharactersMixin, forms.Form):
    """The till: the code read from the supporter's QR code (or typed) and the amount. Sent
    first to see the confirmation, then again from it with action=confirm to record the use."""

    code = forms.CharField(
        label=_("QRコードの番号"),
        max_length=300,
        help_text=_(
            "カメラで読み取るか、QRコードの下の番号を入力してください(小文字・空白も可)。"
            "読み取ったURLをそのまま貼り付けても使えます。"
        ),
    )
    amount = forms.IntegerField(
        label=_("利用額(円)"),
        min_value=1,
        max_value=10_000_000,
        error_messages={"invalid": _("利用額は1円以上の整数で入力してください。")},
    )
    # One per entry screen shown: its confirmation sent twice takes the amount once.
    idempotency_key = forms.CharField(
        max_length=64, min_length=16, required=False, widget=forms.HiddenInput
    )

    def clean_code(self):
        # Typed codes are often lower case or spaced; a scanned QR gives the till's URL.
        text = re.sub(r"\s", "", self.cleaned_data["code"]).upper()
        match = TILL_CODE_RE.search(text)
        if match is None:
            raise forms.ValidationError(_("QRコードの番号が読み取れません。"))
        return match.group(0)


class RedemptionUndoForm(RejectControlCharactersMixin, forms.Form):
    """The till's undo of a use: why (kept with the record; staff and the supporter see it)."""

    reason = forms.CharField(
        label=_("取り消しの理由"),
        max_length=UNDO_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("例: 金額の打ち間違い(1,000円を10,000円と入力)"),
        error_messages={
            "required": _("取り消しの理由を入力してください。"),
            "max_length": _("取り消しの理由は%(limit_value)d文字以内で入力してください。"),
        },
    )
