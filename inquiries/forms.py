import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from inquiries.models import Category
from kaika.forms import RejectControlCharactersMixin
from purchases.models import Order

HONEYPOT_FIELD = "website"


class HoneypotInput(forms.TextInput):
    """A text box people never see (moved off screen by the `hp-field` CSS class: the CSP
    forbids inline styles). Bots fill every box. Its value is never sent back, so a browser
    that autofilled it does not trip it again on the next try."""

    def format_value(self, value):
        return None


def _required(message):
    return {"required": message}


class OrderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, order):
        return f"{order.code} {order.shop.name} ({order.amount:,}円)"


class InquiryForm(RejectControlCharactersMixin, forms.Form):
    name = forms.CharField(
        label=_("お名前"),
        max_length=100,
        error_messages=_required(_("お名前を入力してください。")),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        help_text=_("受付確認と回答をこのアドレスにお送りします。"),
        error_messages={
            "required": _("メールアドレスを入力してください。"),
            "invalid": _("メールアドレスの形式が正しくありません(例: hanako@example.jp)。"),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    category = forms.ChoiceField(
        label=_("お問い合わせの種類"),
        choices=[("", _("選択してください")), *Category.choices],
        error_messages={
            "required": _("お問い合わせの種類を選択してください。"),
            "invalid_choice": _("お問い合わせの種類を一覧から選択してください。"),
        },
    )
    # A logged-in sender with orders also gets `order`, a choice among their own (see
    # __init__). There is no free-text order number: nothing typed could be checked to exist
    # and to be the sender's, so a signed-out sender names no order.
    subject = forms.CharField(
        label=_("件名"),
        max_length=100,
        error_messages=_required(_("件名を入力してください。")),
    )
    body = forms.CharField(
        label=_("お問い合わせ内容"),
        max_length=4000,
        help_text=_("4,000文字以内でご記入ください。"),
        error_messages=_required(_("お問い合わせ内容を入力してください。")),
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    website = forms.CharField(
        label=_("この欄は空欄のままにしてください"),
        required=False,
        widget=HoneypotInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    # One per form shown: sent twice (a double click), it finds the first inquiry.
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(24)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.is_authenticated:
            orders = (
                Order.objects.filter(supporter=user)
                .select_related("shop")
                .order_by("-created_at")[:50]
            )
            if orders:
                # Only this sender's own orders can be chosen: another person's order id in
                # the POST is an invalid choice, never a link to their order.
                self.fields["order"] = OrderChoiceField(
                    queryset=Order.objects.filter(pk__in=[o.pk for o in orders]).select_related(
                        "shop"
                    ),
                    required=False,
                    label=_("ご支援の申込(任意)"),
                    empty_label=_("選択しない"),
                    help_text=_("ご支援・チケットについてのお問い合わせは、申込を選んでください。"),
                )
                self.order_fields(["name", "email", "category", "order"])
        for field in self.fields.values():
            # No `maxlength` in the page: a browser silently cuts a pasted text at the limit
            # (and counts an emoji as two). The server says how long it is instead, and keeps
            # every character for the visitor to shorten.
            field.widget.attrs.pop("maxlength", None)

    def clean(self):
        cleaned = super().clean()
        if self.cleaned_data.get(HONEYPOT_FIELD):
            # Said plainly but without naming the trap; nothing is saved or sent.
            raise forms.ValidationError(
                _(
                    "送信できませんでした。お手数ですが、内容をご確認のうえ、もう一度お送りください。"
                ),
                code="honeypot",
            )
        return cleaned

    def clean_idempotency_key(self):
        # Anything but a key this site could have made counts as none (see the view).
        key = self.cleaned_data["idempotency_key"]
        return key if 16 <= len(key) <= 64 else ""

    def visible_fields_without_honeypot(self):
        return [field for field in self.visible_fields() if field.name != HONEYPOT_FIELD]

    @property
    def honeypot(self):
        return self[HONEYPOT_FIELD]

    def inquiry_data(self) -> dict:
        data = {
            name: self.cleaned_data[name]
            for name in ("name", "email", "category", "subject", "body")
        }
        data["order"] = self.cleaned_data.get("order")
        # A POST without the form's key (a script, a page from before keys) is sent once as
        # it is: a fresh key can match no earlier sending.
        data["idempotency_key"] = self.cleaned_data["idempotency_key"] or self.new_key()
        return data
