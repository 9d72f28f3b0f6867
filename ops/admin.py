from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from kaika.admin import ReadOnlyAdmin
from kaika.downloads import private_download
from kaika.forms import RejectControlCharactersMixin
from ops.models import ExposureLog, NoticeSent, SiteSwitch, TripwireReport
from ops.reports import exposure_report, parse_window, write_csv
from ops.switches import maintenance_set, site_switch_get


@admin.register(SiteSwitch)
class SiteSwitchAdmin(admin.ModelAdmin):
    """One row, edited in place: the list goes straight to it; no adding, no deleting."""

    fields = ("maintenance", "message", "ends_at", "changed_at", "changed_by")
    readonly_fields = ("changed_at", "changed_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        switch = site_switch_get()
        return redirect(reverse("admin:ops_siteswitch_change", args=[switch.pk]))

    def save_model(self, request, obj, form, change):
        # Through the service: it stamps who and when and publishes the switch to every
        # process at once instead of after the cached copy expires.
        maintenance_set(
            on=obj.maintenance,
            message=obj.message,
            ends_at=obj.ends_at,
            by=request.user,
            now=timezone.now(),
        )
        if obj.maintenance:
            self.message_user(
                request,
                _("サイト全体をメンテナンス中にしました(1秒以内にすべてのサーバーに反映)。"),
                messages.WARNING,
            )


class ExposureReportForm(RejectControlCharactersMixin, forms.Form):
    start = forms.DateTimeField(
        label=_("開始(この時刻を含む)"),
        input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        help_text=_("例: 2021-08-31 08:50"),
    )
    end = forms.DateTimeField(
        label=_("終了(この分を含む)"),
        input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        help_text=_("例: 2021-08-31 09:09 は 09:09:59 まで"),
    )

    def clean(self):
        data = super().clean()
        if "start" in data and "end" in data:
            # The same reading as the command: an end to the minute includes that minute.
            try:
                data["start"], data["end"] = parse_window(self.data["start"], self.data["end"])
            except ValueError as error:
                raise forms.ValidationError(str(error)) from error
            if data["end"] <= data["start"]:
                raise forms.ValidationError(_("終了は開始より後にしてください。"))
        return data


@admin.register(ExposureLog)
class ExposureLogAdmin(ReadOnlyAdmin):
    """Read-only: the log is evidence. The list is for spot checks; the report answers
    "who was affected"."""

    list_display = ("at", "action", "subject_id", "client_ip", "request_id")
    list_filter = ("action",)
    search_fields = ("=subject_id", "=request_id", "=client_ip")
    # No COUNT(*) over millions of rows on every page.
    show_full_result_count = False
    ordering = ("-at",)

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        # The CSV of names and addresses: a POST under the browser's own nonce, never a URL
        # that anyone else could ask for (kaika/downloads.py).
        report_csv = self.admin_site.admin_view(private_download(self.report_csv_view))
        return [
            path("report/", report, name="ops_exposurelog_report"),
            path("report/download/<str:nonce>/", report_csv, name="ops_exposurelog_report_csv"),
            *super().get_urls(),
        ]

    def report_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ExposureReportForm(request.POST)
        if not form.is_valid():
            return redirect("admin:ops_exposurelog_report")
        report = exposure_report(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"exposure-{timezone.localtime(report.start):%Y%m%d-%H%M}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        write_csv(report, response)
        return response

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ExposureReportForm(request.GET or None)
        report = None
        if form.is_valid():
            report = exposure_report(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
        return TemplateResponse(
            request,
            "admin/ops/exposurelog/report.html",
            {
                **self.admin_site.each_context(request),
                "title": _("影響を受けた可能性のある会員"),
                "opts": self.model._meta,
                "form": form,
                "report": report,
                # What the CSV button posts: the window exactly as typed.
                "csv_fields": {"start": form.data.get("start"), "end": form.data.get("end")},
            },
        )


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    """Every change staff made in admin: who, what, when. Read-only, like any audit trail."""

    list_display = ("action_time", "user", "action_flag", "content_type", "object_repr")
    list_filter = ("action_flag", "content_type")
    search_fields = ("object_repr", "change_message", "user__email")
    date_hierarchy = "action_time"
    list_select_related = ("user", "content_type")
    readonly_fields = (
        "action_time",
        "user",
        "content_type",
        "object_id",
        "object_repr",
        "action_flag",
        "change_message",
    )


@admin.register(NoticeSent)
class NoticeSentAdmin(ReadOnlyAdmin):
    list_display = ("sent_at", "notice", "user", "email")
    list_filter = ("notice",)
    search_fields = ("email", "notice")
    list_select_related = ("user",)


@admin.register(TripwireReport)
class TripwireReportAdmin(ReadOnlyAdmin):
    list_display = ("at", "path", "verified", "user_id", "client_ip", "request_id")
    list_filter = ("verified",)
    search_fields = ("path", "=user_id", "=request_id", "=client_ip")


# The worker's queue (django_tasks_db) holds every email as it is sent: a password-reset or
# email-verification link, a supporter's name and address, an inquiry's text. Staff see that a
# task ran or failed, when and why (the traceback), never what it carried (its arguments) or
# returned. Finished rows are deleted daily (`manage.py prune_db_task_results`,
# docs/operations.md).
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class QueuedTaskAdmin(DBTaskResultAdmin):
    hidden_fields = ("args_kwargs", "return_value")
    list_display = (
        "id",
        "task",
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "priority",
        "queue_name",
    )

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [name for name in fields if name not in self.hidden_fields]

    @admin.display(description=_("タスク"))
    def task(self, obj):
        return obj.task_name

    @admin.display(description=_("エラーの詳細"))
    def formatted_traceback(self, obj):
        return super().formatted_traceback(obj)

    @admin.display(description=_("実行予定日時"))
    def display_run_after(self, obj):
        return super().display_run_after(obj)


# Admin in Japanese for the libraries' models too: their fields' names are English, and
# allauth's are not even marked for translation. Set as the label only: the field's
# `_verbose_name`, which migrations read, is left alone, so their migrations do not change.
LIBRARY_FIELD_LABELS = {
    Authenticator: {
        "user": _("会員"),
        "type": _("種類"),
        "data": _("データ"),
        "created_at": _("作成日時"),
        "last_used_at": _("最終使用日時"),
    },
    DBTaskResult: {
        "id": _("ID"),
        "status": _("状態"),
        "enqueued_at": _("キューに入った日時"),
        "started_at": _("開始日時"),
        "finished_at": _("完了日時"),
        "args_kwargs": _("引数"),
        "priority": _("優先度"),
        "task_path": _("タスクのパス"),
        "worker_ids": _("ワーカー"),
        "queue_name": _("キュー"),
        "backend_name": _("バックエンド"),
        "run_after": _("実行予定日時"),
        "return_value": _("戻り値"),
        "exception_class_path": _("エラーの種類"),
        "traceback": _("エラーの詳細"),
    },
}
for model, labels in LIBRARY_FIELD_LABELS.items():
    for name, label in labels.items():
        model._meta.get_field(name).verbose_name = label
