import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kaika.forms import RejectControlCharactersMixin
from projects.models import Project, Round
from settlements import zengin
from settlements.kana import describe_character, first_uncarriable, normalize_kana
from settlements.models import ACCOUNT_NUMBER_LENGTH, HOLDER_NAME_MAX_LENGTH, AccountType
from settlements.services import PayeeDetails

_SPACES = re.compile(r"\s+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _digits(value: str) -> str:
    """Full-width digits as ASCII, spaces dropped: `０００１` and `00 01` are `0001`. Only
    ASCII digits count afterwards (NFKC leaves other scripts' digits alone)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", value))


def _numeric(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", **attrs})


class NumberNotShownInput(forms.TextInput):
    """Typed in the clear, never written back into a page (an answer with errors included):
    the whole number is shown to no one but staff holding the permission."""

    def format_value(self, value):
        return None


class PayeeAccountForm(RejectControlCharactersMixin, forms.Form):
    """The operator's bank account, checked against the zengin-code data; `details()` gives
    it in the bank's form. The account number is never shown back: it is typed each time."""

    bank_code = forms.CharField(
        label=_("金融機関コード"),
        max_length=20,
        help_text=_("4桁の数字(例: みずほ銀行は 0001)。通帳やキャッシュカードで確認できます。"),
        widget=_numeric(size=6),
    )
    branch_code = forms.CharField(
        label=_("支店コード(店番)"),
        max_length=20,
        help_text=_(
            "3桁の数字。ゆうちょ銀行は、記号・番号ではなく振込用の店番を入力してください。"
        ),
        widget=_numeric(size=5),
    )
    account_type = forms.ChoiceField(
        label=_("預金種目"),
        choices=AccountType.choices,
        initial=AccountType.ORDINARY,
        widget=forms.RadioSelect,
    )
    account_number = forms.CharField(
        label=_("口座番号"),
        max_length=20,
        help_text=_(
            "7桁に満たない番号は、銀行の取り扱いどおり先頭に0を補って7桁にします。"
            "口座番号は画面に再表示しないため、入力し直すときもすべて入力してください。"
        ),
        widget=NumberNotShownInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "size": 9}
        ),
    )
    holder_name = forms.CharField(
        label=_("口座名義(カナ)"),
        max_length=100,
        help_text=_(
            "通帳に記載のとおりのカナ名義。ひらがな・全角カナでも入力でき、銀行の形式"
            "(半角カナ)に直して登録します。法人は略語をお使いください(株式会社→カ))。"
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 32}),
    )

    def clean_bank_code(self) -> str:
        code = _digits(self.cleaned_data["bank_code"])
        if not (_ASCII_DIGITS.fullmatch(code) and len(code) == 4):
            raise ValidationError(_("金融機関コードは4桁の数字で入力してください。"))
        bank = zengin.find_bank(code)
        if bank is None:
            raise ValidationError(
                _(
                    "金融機関コード「%(code)s」の金融機関は見つかりません。"
                    "通帳やキャッシュカードでコードをご確認ください。"
                ),
                params={"code": code},
            )
        self.bank = bank
        return code

    def clean_branch_code(self) -> str:
        code = _digits(self.cleaned_data["branch_code"])
        if not (_ASCII_DIGITS.fullmatch(code) and len(code) == 3):
            raise ValidationError(_("支店コードは3桁の数字で入力してください。"))
        return code

    def clean_account_number(self) -> str:
        number = _digits(self.cleaned_data["account_number"])
        if not (_ASCII_DIGITS.fullmatch(number) and len(number) <= ACCOUNT_NUMBER_LENGTH):
            raise ValidationError(_("口座番号は7桁までの数字で入力してください。"))
        if not number.strip("0"):
            raise ValidationError(_("口座番号をご確認ください(0だけの番号はありません)。"))
        return number.zfill(ACCOUNT_NUMBER_LENGTH)

    def clean_holder_name(self) -> str:
        typed = self.cleaned_data["holder_name"]
        uncarriable = first_uncarriable(typed)
        if uncarriable is not None:
            raise ValidationError(
                _(
                    "「%(char)s」は銀行の口座名義に使えない文字です。"
                    "カナ・英大文字・数字・スペースと ( ) . - / で、"
                    "通帳のとおりに入力してください。"
                ),
                params={"char": describe_character(uncarriable)},
            )
        name = normalize_kana(typed)
        if not name:
            raise ValidationError(_("口座名義(カナ)を入力してください。"))
        if len(name) > HOLDER_NAME_MAX_LENGTH:
            raise ValidationError(
                _(
                    "口座名義は銀行の形式(半角カナ)で30文字までです(濁点・半濁点も1文字)。"
                    "いまは%(length)s文字です。法人の種類は略語(株式会社→カ))にしてください。"
                ),
                params={"length": len(name)},
            )
        return name

    def clean(self):
        cleaned = super().clean()
        bank = getattr(self, "bank", None)
        code = cleaned.get("branch_code")
        if bank is not None and code:
            branch = zengin.find_branch(bank, code)
            if branch is None:
                self.add_error(
                    "branch_code",
                    ValidationError(
                        _(
                            "支店コード「%(code)s」の支店は%(bank)sに見つかりません。"
                            "通帳やキャッシュカードでコードをご確認ください。"
                        ),
                        params={"code": code, "bank": bank.name},
                    ),
                )
            else:
                self.branch = branch
        return cleaned

    def details(self) -> PayeeDetails:
        data = self.cleaned_data
        return PayeeDetails(
            bank_code=self.bank.code,
            bank_name=self.bank.name,
            bank_name_kana=self.bank.kana,
            branch_code=self.branch.code,
            branch_name=self.branch.name,
            branch_name_kana=self.branch.kana,
            account_type=data["account_type"],
            account_number=data["account_number"],
            holder_name=data["holder_name"],
        )


class BooksFilterForm(forms.Form):
    """Which books the admin page shows (and the files carry): a project, and one of its
    rounds or all of them."""

    project = forms.ModelChoiceField(
        label=_("プロジェクト"), queryset=Project.objects.order_by("-created_at"), empty_label=None
    )
    round = forms.ModelChoiceField(
        label=_("期"),
        queryset=Round.objects.select_related("project").order_by("project", "number"),
        required=False,
        empty_label=_("全期"),
    )

    def clean(self):
        data = super().clean()
        project, round_ = data.get("project"), data.get("round")
        if project and round_ and round_.project_id != project.pk:
            raise ValidationError(
                _("%(round)s は %(project)s の期ではありません。期を選び直してください。"),
                params={"round": round_, "project": project},
            )
        return data
