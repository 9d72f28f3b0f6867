import datetime

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kaika.forms import RejectControlCharactersMixin
from kaika.templatetags.kaika_tags import yen
from supporters import validators
from supporters.models import User

PROFILE_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "gender",
    "occupation",
    "company_name",
    "postal_code",
    "prefecture",
    "city",
    "street_address",
    "building",
    "phone",
)
OPTIONAL_PROFILE_FIELDS = {"company_name", "building"}

# Browsers fill these from the person's saved addresses; `inputmode` brings up the digit pad.
WIDGET_ATTRS = {
    "family_name": {"autocomplete": "family-name"},
    "given_name": {"autocomplete": "given-name"},
    "family_name_kana": {"autocomplete": "off", "placeholder": "ヤマダ"},
    "given_name_kana": {"autocomplete": "off", "placeholder": "ハナコ"},
    "birth_date": {"autocomplete": "bday"},
    "company_name": {"autocomplete": "organization"},
    "postal_code": {
        "autocomplete": "postal-code",
        "inputmode": "numeric",
        "placeholder": "753-0001",
        "data-postal-autofill": "1",
    },
    "prefecture": {"autocomplete": "address-level1"},
    "city": {"autocomplete": "address-level2"},
    "street_address": {"autocomplete": "address-line1"},
    "building": {"autocomplete": "address-line2"},
    "phone": {"autocomplete": "tel", "inputmode": "tel", "placeholder": "090-1234-5678"},
}


def profile_form_fields() -> dict[str, forms.Field]:
    fields = forms.fields_for_model(User, fields=PROFILE_FIELDS)
    for name, field in fields.items():
        field.required = name not in OPTIONAL_PROFILE_FIELDS
        field.widget.attrs.update(WIDGET_ATTRS.get(name, {}))
        if isinstance(field, forms.CharField):
            field.max_length = field.max_length or 200
    # The stored forms are shorter than what people type (〒753-0001, 090-1234-5678).
    fields["postal_code"].max_length = 16
    fields["postal_code"].validators = []
    fields["postal_code"].widget.attrs["maxlength"] = "16"
    fields["phone"].max_length = 24
    fields["phone"].validators = []
    fields["phone"].widget.attrs["maxlength"] = "24"
    fields["birth_date"].widget = forms.DateInput(
        attrs={"type": "date", **WIDGET_ATTRS["birth_date"]}, format="%Y-%m-%d"
    )
    fields["prefecture"].choices = [("", _("選択してください")), *fields["prefecture"].choices[1:]]
    fields["gender"].choices = [("", _("選択してください")), *fields["gender"].choices[1:]]
    fields["occupation"].choices = [
        ("", _("選択してください")),
        *fields["occupation"].choices[1:],
    ]
    return fields


class ProfileCleaningMixin:
    """Normalises what people type (full-width digits, hiragana, 〒) into the stored form."""

    def clean_family_name(self):
        return validators.normalize_name(self.cleaned_data["family_name"])

    def clean_given_name(self):
        return validators.normalize_name(self.cleaned_data["given_name"])

    def clean_family_name_kana(self):
        return validators.normalize_kana(self.cleaned_data["family_name_kana"])

    def clean_given_name_kana(self):
        return validators.normalize_kana(self.cleaned_data["given_name_kana"])

    def clean_company_name(self):
        return validators.normalize_name(self.cleaned_data.get("company_name", ""))

    def clean_postal_code(self):
        return validators.normalize_postal_code(self.cleaned_data["postal_code"])

    def clean_city(self):
        return validators.normalize_name(self.cleaned_data["city"])

    def clean_street_address(self):
        return validators.normalize_name(self.cleaned_data["street_address"])

    def clean_building(self):
        return validators.normalize_name(self.cleaned_data.get("building", ""))

    def clean_phone(self):
        return validators.normalize_phone(self.cleaned_data["phone"])

    def clean_birth_date(self) -> datetime.date:
        value = self.cleaned_data["birth_date"]
        validators.validate_birth_date(value, today=timezone.localdate())
        return value


class ProfileForm(RejectControlCharactersMixin, ProfileCleaningMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = PROFILE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(profile_form_fields())


class SignupProfileForm(RejectControlCharactersMixin, ProfileCleaningMixin, forms.Form):
    """allauth's ACCOUNT_SIGNUP_FORM_CLASS: the signup form collects the whole profile and the
    person's consent to the terms and the privacy policy."""

    # allauth's SignupForm applies this after adding its password fields.
    field_order = ["email", "password1", "password2", *PROFILE_FIELDS, "terms_agreed"]

    terms_agreed = forms.BooleanField(
        label_suffix="",
        error_messages={
            "required": _("会員登録には、利用規約とプライバシーポリシーへの同意が必要です。")
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(profile_form_fields())
        # Built per request, in its language; links in a new tab keep what was typed here.
        link = '<a href="{}" target="_blank" rel="noopener">{}</a>'
        self.fields["terms_agreed"].label = format_html(
            _("{terms}と{privacy}に同意します"),
            terms=format_html(link, reverse("projects:terms"), _("利用規約")),
            privacy=format_html(link, reverse("projects:privacy"), _("プライバシーポリシー")),
        )

    def signup(self, request, user: User) -> None:
        for name in PROFILE_FIELDS:
            setattr(user, name, self.cleaned_data.get(name) or "")
        user.birth_date = self.cleaned_data["birth_date"]
        user.terms_agreed_at = timezone.now()
        user.terms_version = settings.KAIKA_TERMS_VERSION
        user.save()


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=_("現在のパスワード"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=_(
            "退会すると、会員情報とお問い合わせの履歴が削除され、元に戻せないことを確認しました。"
        ),
    )

    def __init__(self, *args, user, forfeits=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if forfeits:
            # Asked only when something is left: the page lists it above the form.
            self.fields["give_up_balance"] = forms.BooleanField(
                label=_(
                    "チケットの残額(合計%(total)s)を使えなくなり、払い戻しも受けられないことを確認しました。"
                )
                % {"total": yen(sum(f.yen for f in forfeits))},
                error_messages={
                    "required": _("退会するには、チケットの残額を放棄することを確認してください。")
                },
            )

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("パスワードが正しくありません。"), code="password")
        return password
