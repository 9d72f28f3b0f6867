from django import forms
from django.utils.translation import gettext_lazy as _

from kaika.forms import RejectControlCharactersMixin
from projects.models import Project


class CodeForm(RejectControlCharactersMixin, forms.Form):
    code = forms.CharField(
        label=_("参加コード"),
        # Room for the hyphens and spaces people type; residents/codes.py normalises.
        max_length=64,
        help_text=_(
            "お届けした通知に記載の英数字です。全角・半角、大文字・小文字、ハイフンや空白の"
            "有無は問いません。"
        ),
        error_messages={
            "required": _("参加コードを入力してください。"),
            "max_length": _("参加コードが長すぎます。通知に記載のとおりに入力してください。"),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class ImportForm(RejectControlCharactersMixin, forms.Form):
    """Staff's CSV upload (admin)."""

    project = forms.ModelChoiceField(
        label=_("プロジェクト"),
        queryset=Project.objects.order_by("-created_at"),
        error_messages={
            "required": _("プロジェクトを選択してください。"),
            "invalid_choice": _("プロジェクトを一覧から選択してください。"),
        },
    )
    file = forms.FileField(
        label=_("CSVファイル"),
        help_text=_(
            "1行に1つのコード。見出し行に「参加コード」「コード」「code」のいずれかがあれば"
            "その列を、なければ1列目を読みます(ほかの列は読み込みません)。"
            "UTF-8またはShift_JIS。"
        ),
        error_messages={
            "required": _("CSVファイルを選択してください。"),
            "empty": _("ファイルが空です。"),
            "invalid": _("ファイルを選択してください。"),
        },
    )
    note = forms.CharField(
        label=_("メモ"),
        max_length=200,
        required=False,
        help_text=_("例: 第1期 郵送分(中央地区)"),
        error_messages={"max_length": _("メモは200文字以内で入力してください。")},
    )

    MAX_BYTES = 10 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                _("ファイルが大きすぎます(10MBまで)。分けて取り込んでください。")
            )
        return upload


class RevokeForm(RejectControlCharactersMixin, forms.Form):
    reason = forms.CharField(
        label=_("無効にする理由"),
        max_length=200,
        error_messages={
            "required": _("無効にする理由を入力してください。"),
            "max_length": _("理由は200文字以内で入力してください。"),
        },
        widget=forms.TextInput(attrs={"size": 60}),
    )
