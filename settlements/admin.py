"""Payee accounts in admin: read-only, the number masked unless the staff member holds
`settlements.view_full_account`, and one action: confirming a change releases the payouts.

Staff never edit an account here: a change goes through the operator's page, which records,
emails and holds it (settlements.services); a wrong account is corrected by the shop.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import confirmed_action, log_action_done
from settlements.models import PayeeAccount, PayeeAccountChange
from settlements.services import PayeeError, payee_account_confirm

FULL_NUMBER_PERMISSION = "settlements.view_full_account"
_SEEN_VERSION = re.compile(r"(\d+):(\d+)")


def sees_full_number(request) -> bool:
    return request.user.has_perm(FULL_NUMBER_PERMISSION)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PayeeAccountChangeInline(admin.TabularInline):
    model = PayeeAccountChange
    extra = 0
    fields = ("at", "kind", "version", "by", "before_text", "after_text")
    readonly_fields = fields
    ordering = ("-at", "-pk")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("変更前(口座番号は伏せ字)"))
    def before_text(self, obj):
        return obj.before_text

    @admin.display(description=_("変更後(口座番号は伏せ字)"))
    def after_text(self, obj):
        return obj.after_text


@admin.register(PayeeAccount)
class PayeeAccountAdmin(ReadOnlyAdmin):
    list_filter = ("payout_hold", "hold_reason", "account_type")
    # Never the account number: a search by it would tell staff without the permission
    # whether a number they guess is someone's.
    search_fields = ("shop__name", "shop__name_kana", "bank_name", "branch_name", "holder_name")
    list_select_related = ("shop",)
    actions = ["confirm_accounts"]
    inlines = [PayeeAccountChangeInline]

    def number_column(self, request) -> str:
        return "full_number" if sees_full_number(request) else "masked_number"

    def get_list_display(self, request):
        return (
            "shop",
            "bank",
            "branch",
            "account_type",
            self.number_column(request),
            "holder_name",
            "payout_hold",
            "hold_reason",
            "updated_at",
            "confirmed_at",
        )

    def get_fields(self, request, obj=None):
        return (
            "shop",
            ("bank_code", "bank_name", "bank_name_kana"),
            ("branch_code", "branch_name", "branch_name_kana"),
            "account_type",
            self.number_column(request),
            "holder_name",
            "version",
            ("payout_hold", "hold_reason"),
            ("updated_at", "updated_by"),
            ("confirmed_at", "confirmed_by"),
        )

    def get_readonly_fields(self, request, obj=None):
        return [
            name
            for entry in self.get_fields(request, obj)
            for name in (entry if isinstance(entry, tuple) else (entry,))
        ]

    @admin.display(description=_("金融機関"), ordering="bank_code")
    def bank(self, obj):
        return f"{obj.bank_name}({obj.bank_code})"

    @admin.display(description=_("支店"), ordering="branch_code")
    def branch(self, obj):
        return f"{obj.branch_name}({obj.branch_code})"

    @admin.display(description=_("口座番号"))
    def masked_number(self, obj):
        return obj.masked_number

    @admin.display(description=_("口座番号"))
    def full_number(self, obj):
        return obj.account_number

    def has_confirm_permission(self, request) -> bool:
        # Who releases a payout must be able to check the whole number against the shop's.
        return request.user.has_perm("settlements.change_payeeaccount") and sees_full_number(
            request
        )

    @admin.action(description=_("口座変更を確認した(支払保留を解除)"), permissions=["confirm"])
    def confirm_accounts(self, request, queryset):
        accounts = list(queryset.select_related("shop"))
        shown = " ".join(f"{account.pk}:{account.version}" for account in accounts)

        # The versions shown on the confirmation page travel with its answer: an account
        # changed again in between is refused (payee_account_confirm re-checks under lock).
        class SeenVersions(forms.Form):
            versions = forms.CharField(widget=forms.HiddenInput, initial=shown)

        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("口座変更の確認"),
            explanation=_(
                "次の店舗の振込先口座を確認済みにし、支払保留を解除します。"
                "店舗に登録済みの電話番号へ折り返し電話するなどして、変更が店舗自身によるもの"
                "であることを確かめてから実行してください。口座番号の全桁は一覧と詳細画面に"
                "表示されます。"
            ),
            button=_("確認済みにする"),
            form_class=SeenVersions,
        )
        if not isinstance(answer, dict):
            return answer
        seen = {int(pk): int(v) for pk, v in _SEEN_VERSION.findall(answer["versions"])}
        now = timezone.now()
        done = 0
        for account in accounts:
            try:
                payee_account_confirm(
                    account=account,
                    version=seen.get(account.pk, -1),
                    by=request.user,
                    now=now,
                )
            except PayeeError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            log_action_done(self, request, account, _("口座変更を確認し、支払保留を解除"))
            done += 1
        if done:
            self.message_user(
                request, _("%(n)s件の口座を確認済みにしました。") % {"n": done}, messages.SUCCESS
            )
        return None


@admin.register(PayeeAccountChange)
class PayeeAccountChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "shop", "kind", "version", "by", "before_text", "after_text")
    list_filter = ("kind",)
    search_fields = ("account__shop__name", "account__shop__name_kana", "by__email")
    list_select_related = ("account__shop", "by")
    date_hierarchy = "at"

    @admin.display(description=_("店舗"), ordering="account__shop__name_kana")
    def shop(self, obj):
        return obj.account.shop

    @admin.display(description=_("変更前(口座番号は伏せ字)"))
    def before_text(self, obj):
        return obj.before_text

    @admin.display(description=_("変更後(口座番号は伏せ字)"))
    def after_text(self, obj):
        return obj.after_text
