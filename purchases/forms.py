import re
import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from kaika.forms import RejectControlCharactersMixin
from projects.models import MAX_UNITS_PER_ORDER

TICKET_CODE_RE = re.compile(r"T-[23456789A-HJKMNP-Z]{28}")


class OrderForm(RejectControlCharactersMixin, forms.Form):
    """What the shop page sends (GET) and the confirmation page posts back. Ids are only
    pointers: the service re-reads every row and checks that they belong together."""

    listing = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    round = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
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
    code = forms.CharField(
        label=_("チケット番号またはQRコードのURL"),
        max_length=300,
        help_text=_("QRコードを読み取ったURLをそのまま貼り付けても使えます。"),
    )
    amount = forms.IntegerField(
        label=_("利用額(円)"),
        min_value=1,
        max_value=10_000_000,
        error_messages={"invalid": _("利用額は1円以上の整数で入力してください。")},
    )
    # One per redemption screen shown: sent twice, it takes the amount once.
    idempotency_key = forms.CharField(
        max_length=64, min_length=16, required=False, widget=forms.HiddenInput
    )

    def clean_code(self):
        # Typed codes are often lower case or spaced; a scanned QR gives the ticket's URL.
        text = re.sub(r"\s", "", self.cleaned_data["code"]).upper()
        match = TICKET_CODE_RE.search(text)
        if match is None:
            raise forms.ValidationError(_("チケット番号が読み取れません。"))
        return match.group(0)
