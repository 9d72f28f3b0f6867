"""Payee accounts in admin: read-only, the number masked unless the staff member holds
`settlements.view_full_account`, and one action: confirming a change releases the payouts.

Staff never edit an account here: a change goes through the operator's page, which records,
emails and holds it (settlements.services); a wrong account is corrected by the shop.
"""

import re
from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import confirmed_action, log_action_done, log_actions_done
from kaika.downloads import private_download
from projects.models import Project
from settlements import books_files
from settlements.books import FIGURES, books_of
from settlements.forms import BooksFilterForm
from settlements.models import (
    BankFileDownload,
    BankFileFormat,
    Books,
    PayeeAccount,
    PayeeAccountChange,
    SettlementPolicy,
    SettlementRun,
    Statement,
    StatementLine,
    StatementStatus,
)
from settlements.services import (
    BankFileError,
    PayeeError,
    SettlementError,
    bank_file_export,
    bank_file_redownload,
    payee_account_confirm,
    settlement_run,
    statement_mark_paid,
    statement_return,
    statements_approve,
    statements_check,
)

FULL_NUMBER_PERMISSION = "settlements.view_full_account"
BANK_FILE_PERMISSION = "settlements.download_bank_file"
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


# --- Settlement periods and statements ------------------------------------------------------


@admin.register(SettlementPolicy)
class SettlementPolicyAdmin(admin.ModelAdmin):
    list_display = ("project", "closing_days", "pay_after_business_days", "fee_per_statement")
    list_select_related = ("project",)


class StartRunForm(forms.Form):
    project = forms.ModelChoiceField(Project.objects.all(), label=_("プロジェクト"))
    period_end = forms.DateField(
        label=_("締め日"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("この日の終わりまでの、まだ精算していない利用が対象です。"),
    )


def project_cycles(today) -> list[dict]:
    """Each project's closing days, its latest period's end and the closing day to close next,
    for the form that starts a period (staff should not have to guess a valid day)."""
    projects = (
        Project.objects.annotate(latest=Max("settlement_runs__period_end"))
        .select_related("settlement_policy")
        .order_by("-created_at", "-pk")
    )
    cycles = []
    for project in projects:
        try:
            policy = project.settlement_policy
        except SettlementPolicy.DoesNotExist:
            policy = SettlementPolicy(project=project)  # the defaults, as settlement_run uses
        cycles.append(
            {
                "project": project,
                "closing_days": policy.closing_days_text,
                "latest": project.latest,
                "next": policy.next_period_end(project.latest, today),
            }
        )
    return cycles


class StatementInline(admin.TabularInline):
    model = Statement
    extra = 0
    fields = (
        "shop",
        "status",
        "face_value",
        "supporter_part",
        "premium_part",
        "fee",
        "carried",
        "amount_to_pay",
    )
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _check_bank_file_request(request, file_format: str) -> None:
    if not request.user.has_perm(BANK_FILE_PERMISSION):
        raise PermissionDenied
    if file_format not in BankFileFormat.values:
        raise Http404


def _serve_bank_file(model_admin, request, obj, make, logged: str):
    """The file `make()` builds, as an attachment, logged on `obj`; a BankFileError goes back
    to `obj`'s admin page as a message (the export and the re-download alike)."""
    try:
        bank_file = make()
    except BankFileError as error:
        model_admin.message_user(request, error.message, messages.ERROR)
        meta = obj._meta
        return redirect(f"admin:{meta.app_label}_{meta.model_name}_change", obj.pk)
    log_action_done(model_admin, request, obj, logged)
    response = HttpResponse(bank_file.content, content_type=bank_file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{bank_file.filename}"'
    return response


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):
    """Runs are started from their own page (a project and a closing day) through
    settlement_run; nothing here is edited afterwards."""

    list_display = ("__str__", "period_start", "period_end", "payment_date", "created_by", "total")
    list_filter = ("project",)
    list_select_related = ("project", "created_by")
    fields = ("project", "period_start", "period_end", "payment_date", "created_at", "created_by")
    readonly_fields = fields
    inlines = [StatementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(total_to_pay=Sum("statements__amount_to_pay"))

    @admin.display(description=_("支払額の合計(円)"), ordering="total_to_pay")
    def total(self, obj):
        return obj.total_to_pay or 0

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("settlements.add_settlementrun")

    def get_urls(self):
        # The bank file holds every payee's account: a POST under the browser's own nonce,
        # never a URL anyone else could ask for (kaika/downloads.py).
        bank_file_view = self.admin_site.admin_view(private_download(self.bank_file_view))
        return [
            path(
                "start/",
                self.admin_site.admin_view(self.start_view),
                name="settlements_settlementrun_start",
            ),
            path(
                "<int:object_id>/bank-file/<str:file_format>/<str:nonce>/",
                bank_file_view,
                name="settlements_settlementrun_bank_file",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_download_bank_file": request.user.has_perm(BANK_FILE_PERMISSION),
            "bank_file_formats": BankFileFormat.choices,
            # The exports of the run, each to be fetched again from its own page.
            "exports": BankFileDownload.objects.filter(
                run_id=object_id, redownload_of__isnull=True
            ).select_related("by"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def bank_file_view(self, request, object_id: int, file_format: str):
        _check_bank_file_request(request, file_format)
        run = get_object_or_404(SettlementRun, pk=object_id)
        return _serve_bank_file(
            self,
            request,
            run,
            lambda: bank_file_export(
                run=run, file_format=file_format, by=request.user, now=timezone.now()
            ),
            _("振込データをダウンロード"),
        )

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:settlements_settlementrun_start")

    def start_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        cycles = project_cycles(timezone.localdate())
        # One programme (the usual case): its next closing day is filled in.
        initial = (
            {"project": cycles[0]["project"], "period_end": cycles[0]["next"]}
            if len(cycles) == 1
            else {}
        )
        form = StartRunForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                run = settlement_run(
                    project=form.cleaned_data["project"],
                    period_end=form.cleaned_data["period_end"],
                    staff=request.user,
                    now=timezone.now(),
                )
            except SettlementError as error:
                form.add_error("period_end", error.message)
            else:
                self.log_addition(request, run, [{"added": {}}])
                self.message_user(
                    request,
                    _("%(run)s の明細を %(n)s 件作成しました。")
                    % {"run": run, "n": run.statements.count()},
                    messages.SUCCESS,
                )
                return redirect("admin:settlements_settlementrun_change", run.pk)
        return TemplateResponse(
            request,
            "admin/settlements/start_run.html",
            {
                **self.admin_site.each_context(request),
                "title": _("精算期間を締める"),
                "opts": self.model._meta,
                "form": form,
                "cycles": cycles,
            },
        )


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    fk_name = "statement"  # not returned_statement, the statement a carried line brings back
    extra = 0
    fields = (
        "used_at",
        "kind",
        "ticket_use",
        "reversed_use",
        "returned_statement",
        "face_value",
        "supporter_part",
        "premium_part",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Statements named in a refusal told for many at once; the rest are counted.
NAMED_IN_REFUSAL = 3


def refusal_messages(refused) -> list[str]:
    """One message per reason (the error's code and its parameters other than the statement),
    in the service's own sentence: naming a few of its statements and counting the rest,
    rather than 3,000 messages when a whole programme is refused."""
    groups: dict[tuple, list] = defaultdict(list)
    for statement, error in refused:
        others = tuple(sorted((k, str(v)) for k, v in error.params.items() if k != "statement"))
        groups[(error.code, others)].append((statement, error))
    messages_ = []
    for group in groups.values():
        error = group[0][1]
        if "statement" in error.params and len(group) > 1:
            names = "、".join(str(statement) for statement, _e in group[:NAMED_IN_REFUSAL])
            if len(group) > NAMED_IN_REFUSAL:
                names = _("%(names)s ほか%(n)s件") % {
                    "names": names,
                    "n": f"{len(group) - NAMED_IN_REFUSAL:,}",
                }
            error = type(error)(error.code, **{**error.params, "statement": names})
        messages_.append(
            _("%(n)s件の明細は変更できませんでした。%(reason)s")
            % {"n": f"{len(group):,}", "reason": error.message}
        )
    return messages_


class BankReferenceForm(forms.Form):
    reference = forms.CharField(label=_("銀行の受付番号"), max_length=100)


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    """The staff flow: draft → checked → approved by someone other than the run's preparer →
    exported (the bank file) → paid or returned. Each step is an action calling a service."""

    list_display = (
        "shop",
        "run",
        "status",
        "face_value",
        "supporter_part",
        "premium_part",
        "fee",
        "carried",
        "amount_to_pay",
        "payee_state",
    )
    list_filter = ("status", "run__project", "run")
    search_fields = ("shop__name", "shop__name_kana")
    list_select_related = ("shop__payee_account", "run__project")
    fields = (
        "run",
        "shop",
        "status",
        "payee_state",
        ("face_value", "supporter_part", "premium_part"),
        ("fee", "carried", "amount_to_pay"),
        ("checked_at", "checked_by"),
        ("approved_at", "approved_by"),
        "exported_at",
        ("paid_at", "bank_reference"),
        "returned_at",
    )
    readonly_fields = (
        "run",
        "shop",
        "status",
        "payee_state",
        "face_value",
        "supporter_part",
        "premium_part",
        "fee",
        "carried",
        "amount_to_pay",
        "checked_at",
        "checked_by",
        "approved_at",
        "approved_by",
        "exported_at",
        "paid_at",
        "bank_reference",
        "returned_at",
    )
    inlines = [StatementLineInline]
    actions = ["check_statements", "approve_statements", "mark_paid", "mark_returned"]

    @admin.display(description=_("振込先口座"))
    def payee_state(self, obj):
        account = getattr(obj.shop, "payee_account", None)
        if account is None:
            return _("口座未登録のため振込保留(登録後の精算で支払います)")
        if not account.is_payable:
            return _("口座未確認のため振込保留(%(reason)s)") % {
                "reason": account.get_hold_reason_display()
            }
        return _("振込可能")

    def has_flow_permission(self, request) -> bool:
        return request.user.has_perm("settlements.change_statement")

    def _each(self, request, queryset, service, done_message, **extra):
        now = timezone.now()
        done = 0
        for statement in queryset.select_related("run", "shop"):
            try:
                service(statement=statement, by=request.user, now=now, **extra)
            except SettlementError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            log_action_done(self, request, statement, done_message)
            done += 1
        if done:
            self.message_user(
                request,
                _("%(n)s件の明細を「%(what)s」にしました。") % {"n": done, "what": done_message},
                messages.SUCCESS,
            )

    def _all_at_once(self, request, queryset, service, done_message):
        """A step over the whole selection in one service call (a programme's 3,200 statements
        one by one came near the server's 30 s timeout: docs/benchmarks.md, 精算): each
        statement moved is logged, the refusals are told once per reason."""
        with transaction.atomic():  # the statements and their history entries, together
            moved = service(statements=queryset, by=request.user, now=timezone.now())
            log_actions_done(request, moved.done, done_message)
        if moved.done:
            self.message_user(
                request,
                _("%(n)s件の明細を「%(what)s」にしました。")
                % {"n": len(moved.done), "what": done_message},
                messages.SUCCESS,
            )
        for message in refusal_messages(moved.refused):
            self.message_user(request, message, messages.ERROR)

    @admin.action(description=_("確認済みにする"), permissions=["flow"])
    def check_statements(self, request, queryset):
        self._all_at_once(request, queryset, statements_check, StatementStatus.CHECKED.label)

    @admin.action(description=_("承認する(作成者以外)"), permissions=["flow"])
    def approve_statements(self, request, queryset):
        self._all_at_once(request, queryset, statements_approve, StatementStatus.APPROVED.label)

    @admin.action(description=_("支払済みにする(銀行の受付番号)"), permissions=["flow"])
    def mark_paid(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("支払済みにする"),
            explanation=_("銀行から振込完了の連絡を受けた明細を支払済みにします。"),
            button=_("支払済みにする"),
            form_class=BankReferenceForm,
        )
        if not isinstance(answer, dict):
            return answer
        self._each(
            request,
            queryset,
            statement_mark_paid,
            StatementStatus.PAID.label,
            reference=answer["reference"],
        )
        return None

    @admin.action(description=_("組戻しにする(口座を保留)"), permissions=["flow"])
    def mark_returned(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("組戻しにする"),
            explanation=_(
                "銀行から組戻し(振込不能)の連絡を受けた明細です。支払額は次回の精算に繰り越し、"
                "店舗の振込先口座は事務局が確認するまで支払保留になります。"
            ),
            button=_("組戻しにする"),
        )
        if not isinstance(answer, dict):
            return answer
        self._each(request, queryset, statement_return, StatementStatus.RETURNED.label)
        return None


@admin.register(BankFileDownload)
class BankFileDownloadAdmin(ReadOnlyAdmin):
    """The log of bank files served. A file lost after its export is downloaded again from
    here (the same statements and, in its format, the same bytes), logged as a re-download."""

    list_display = ("at", "run", "format", "by", "count", "total", "redownload_of", "sha256")
    list_filter = ("format",)
    list_select_related = ("run__project", "by", "redownload_of")
    date_hierarchy = "at"
    fields = ("run", "at", "by", "format", "count", "total", "sha256", "redownload_of")
    readonly_fields = fields

    def get_urls(self):
        redownload_view = self.admin_site.admin_view(private_download(self.redownload_view))
        return [
            path(
                "<int:object_id>/again/<str:file_format>/<str:nonce>/",
                redownload_view,
                name="settlements_bankfiledownload_again",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_download_bank_file": request.user.has_perm(BANK_FILE_PERMISSION),
            "bank_file_formats": BankFileFormat.choices,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def redownload_view(self, request, object_id: int, file_format: str):
        _check_bank_file_request(request, file_format)
        download = get_object_or_404(BankFileDownload, pk=object_id)
        return _serve_bank_file(
            self,
            request,
            download,
            lambda: bank_file_redownload(
                download=download, file_format=file_format, by=request.user, now=timezone.now()
            ),
            _("振込データを再ダウンロード"),
        )


BOOKS_PERMISSION = "settlements.view_books"
# The chart's width in SVG units; the bars are scaled to the largest round's issued value.
CHART_WIDTH = 640
CHART_BAR = 28
CHART_SEGMENTS = (
    ("redeemed", _("利用額"), "#2e7d32"),
    ("outstanding", _("未使用残高"), "#1565c0"),
    ("expired", _("期限切れ残高"), "#9e9e9e"),
)


def books_chart(books) -> dict:
    """An inline SVG's geometry (drawn on the server: no script, no library): one bar per
    round, its issued value split into redeemed, outstanding and expired, as the identity."""
    largest = max((row.figures.tickets_issued for row in books.by_round), default=0)
    bars = []
    for n, row in enumerate(books.by_round):
        x, segments = 0, []
        for name, label, colour in CHART_SEGMENTS:
            value = max(getattr(row.figures, name), 0)
            width = value * CHART_WIDTH // largest if largest else 0
            segments.append(
                {"x": x, "width": width, "colour": colour, "label": label, "value": value}
            )
            x += width
        bars.append({"y": n * (CHART_BAR + 12), "row": row, "segments": segments})
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "bar_height": CHART_BAR,
        "height": len(bars) * (CHART_BAR + 12),
        "legend": CHART_SEGMENTS,
    }


@admin.register(Books)
class BooksAdmin(admin.ModelAdmin):
    """The programme's books: headline figures, a chart and the tables by round, shop,
    category and municipality, with CSV and Excel files. Only for staff holding
    `settlements.view_books`; nothing is edited here."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(BOOKS_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        # The files show every shop's takings: a POST under the browser's own nonce, never a
        # URL anyone else could ask for (kaika/downloads.py).
        export = self.admin_site.admin_view(private_download(self.export_view))
        return [
            path(
                "", self.admin_site.admin_view(self.books_view), name="settlements_books_changelist"
            ),
            path(
                "export/<str:books_format>/<str:nonce>/",
                export,
                name="settlements_books_export",
            ),
            # A project's books by its id, as admin links to any object.
            path(
                "<int:object_id>/change/",
                self.admin_site.admin_view(self.project_books_view),
                name="settlements_books_change",
            ),
        ]

    def project_books_view(self, request, object_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        project = get_object_or_404(Project, pk=object_id)
        return redirect(f"{reverse('admin:settlements_books_changelist')}?project={project.pk}")

    def _filter_form(self, data) -> BooksFilterForm:
        if not data:
            latest = Project.objects.order_by("-created_at").values_list("pk", flat=True).first()
            data = {"project": latest} if latest else None
        return BooksFilterForm(data)

    def books_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = self._filter_form(request.GET)
        books = None
        if form.is_valid():
            books = books_of(
                project=form.cleaned_data["project"],
                round_=form.cleaned_data["round"],
                now=timezone.now(),
            )
        return TemplateResponse(
            request,
            "admin/settlements/books.html",
            {
                **self.admin_site.each_context(request),
                "title": _("プログラムの帳簿"),
                "opts": self.model._meta,
                "form": form,
                "books": books,
                "figures": FIGURES,
                "chart": books_chart(books) if books else None,
                "export_formats": (
                    ("csv", _("CSVをダウンロード")),
                    ("xlsx", _("Excelをダウンロード")),
                ),
                "export_fields": {
                    "project": form.data.get("project", ""),
                    "round": form.data.get("round", ""),
                },
            },
        )

    def export_view(self, request, books_format: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if books_format not in ("csv", "xlsx"):
            raise Http404
        form = BooksFilterForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("プロジェクトと期を選び直してください。"), messages.ERROR)
            return redirect("admin:settlements_books_changelist")
        books = books_of(
            project=form.cleaned_data["project"],
            round_=form.cleaned_data["round"],
            now=timezone.now(),
        )
        if books_format == "csv":
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            books_files.write_csv(books, response)
        else:
            response = HttpResponse(
                books_files.workbook_bytes(books),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        name = books_files.filename(books, books_format)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        log_action_done(
            self,
            request,
            books.project,
            _("帳簿をダウンロード(%(format)s)") % {"format": books_format.upper()},
        )
        return response
