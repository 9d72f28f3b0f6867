import re
import unicodedata
import uuid

import jaconv
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kaika.forms import RejectControlCharactersMixin
from projects.models import Category, Listing, Municipality, Round, Shop
from projects.services import LISTING_FIELDS, SHOP_APPLICATION_FIELDS

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
KATAKANA_RE = re.compile(r"^[\u30a0-\u30ff\s0-9A-Za-z・ー&'.\-]+$")


def clean_photo(photo):
    """Accept JPEG, PNG or WebP up to 5 MB, and store it under a random name.

    Django's ImageField has already opened it with Pillow (`photo.image`) and refused what
    Pillow cannot read; the format Pillow found, not the file name or the browser's content
    type, decides what is allowed."""
    if not photo or not hasattr(photo, "image"):
        return photo  # unchanged, or cleared
    if photo.size > MAX_PHOTO_BYTES:
        raise ValidationError(_("写真は5MB以下にしてください。"), code="too_large")
    extension = PHOTO_FORMATS.get(photo.image.format)
    if extension is None:
        raise ValidationError(_("写真はJPEG、PNG、WebPのいずれかにしてください。"), code="format")
    photo.name = f"{uuid.uuid4().hex}.{extension}"
    return photo


def normalise_kana(value: str) -> str:
    value = jaconv.hira2kata(unicodedata.normalize("NFKC", value)).strip()
    if not KATAKANA_RE.match(value):
        raise ValidationError(_("カタカナで入力してください。"), code="kana")
    return value


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[\s\-‐ー−()()]", "", unicodedata.normalize("NFKC", value))
    if not re.fullmatch(r"0\d{9,10}", digits):
        raise ValidationError(_("電話番号は0から始まる10〜11桁の数字で入力してください。"))
    return digits


class ShopApplicationForm(RejectControlCharactersMixin, forms.ModelForm):
    class Meta:
        model = Shop
        fields = SHOP_APPLICATION_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        }
        help_texts = {
            "name_kana": _("例: ヤマグチショウテン(ひらがなでも入力できます)"),
            "address": _("山口県から。例: 山口県山口市亀山町1-1"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "---------"), *Category.choices]
        self.fields["municipality"].choices = [("", "---------"), *Municipality.choices]

    def clean_name_kana(self):
        return normalise_kana(self.cleaned_data["name_kana"])

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])


class ShopProfileForm(RejectControlCharactersMixin, forms.ModelForm):
    """What operators may change themselves. Name, category and municipality were checked by
    the office and are changed through it."""

    class Meta:
        model = Shop
        fields = ("description", "opening_hours", "address", "phone", "website", "photo")
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "photo": forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        }

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean_photo(self):
        return clean_photo(self.cleaned_data.get("photo"))


class ListingForm(RejectControlCharactersMixin, forms.ModelForm):
    rounds = forms.ModelMultipleChoiceField(
        queryset=Round.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("販売する期"),
        help_text=_("選ばなければ、お店が参加するすべての期で販売します"),
    )

    class Meta:
        model = Listing
        fields = LISTING_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "photo": forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        }

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        # The project's price rules are the model's (Listing.clean, run by the form's own
        # validation): it needs to know whose listing this is.
        self.instance.shop = shop
        project = shop.project
        # Only the shop's own rounds can be picked: another round's id is an invalid choice.
        self.fields["rounds"].queryset = Round.objects.filter(participations__shop=shop)
        self.fields["rounds"].label_from_instance = lambda r: r.label
        if self.instance.pk:
            self.fields["rounds"].initial = list(self.instance.rounds.all())
        else:
            self.fields["unit_price"].initial = project.unit_price
        self.fields["unit_price"].widget.attrs.update(
            min=project.unit_price, max=project.max_per_application, step=project.unit_price
        )
        self.fields["unit_price"].help_text = _(
            "%(unit)s円の倍数で、%(max)s円まで。チケットの額面が%(denomination)s円券で割り切れる"
            "金額にしてください。"
        ) % {
            "unit": f"{project.unit_price:,}",
            "max": f"{project.max_per_application:,}",
            "denomination": f"{project.ticket_denomination:,}",
        }
        self.fields["stock_limit"].widget.attrs["min"] = 1

    def clean_photo(self):
        return clean_photo(self.cleaned_data.get("photo"))

    def clean_stock_limit(self):
        stock = self.cleaned_data.get("stock_limit")
        sold = self.instance.units_sold if self.instance.pk else 0
        if stock is not None and stock < sold:
            raise ValidationError(
                _("販売上限数は、すでに販売した口数(%(sold)s口)より少なくできません。"),
                params={"sold": sold},
                code="stock_below_sold",
            )
        return stock

    def listing_data(self) -> dict:
        data = {f: self.cleaned_data[f] for f in self._meta.fields if f in self.cleaned_data}
        if data.get("photo") is False:  # "clear" ticked on the file input
            data["photo"] = ""
        return data


class ShopSearchForm(RejectControlCharactersMixin, forms.Form):
    """The public shop search: a GET form, so the page stays shareable and cacheable."""

    q = forms.CharField(label=_("店名・フリガナ"), required=False, max_length=50)
    category = forms.ChoiceField(
        label=_("業種"), required=False, choices=[("", _("すべて")), *Category.choices]
    )
    municipality = forms.ChoiceField(
        label=_("市町"), required=False, choices=[("", _("すべて")), *Municipality.choices]
    )
