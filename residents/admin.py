from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import confirmed_action, log_action_done
from projects.models import Project
from residents import codes
from residents.forms import ImportForm, RevokeForm
from residents.models import ResidentCode, ResidentImport
from residents.services import (
    ImportFileError,
    codes_import,
    codes_read,
    decode_csv,
    resident_code_revoke,
)


def project_counts():
    """Per project with codes: how many were imported, entered, still unused, revoked."""
    live = Q(resident_codes__revoked_at__isnull=True)
    return (
        Project.objects.filter(resident_codes__isnull=False)
        .annotate(
            codes_total=Count("resident_codes"),
            codes_used=Count(
                "resident_codes", filter=live & Q(resident_codes__used_at__isnull=False)
            ),
            codes_unused=Count(
                "resident_codes", filter=live & Q(resident_codes__used_at__isnull=True)
            ),
            codes_revoked=Count("resident_codes", filter=~live),
        )
        .order_by("-created_at")
    )


class CountsMixin:
    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "project_counts": project_counts(),
            "may_import": request.user.has_perm("residents.add_residentcode"),
        }
        return super().changelist_view(request, extra_context)


@admin.register(ResidentImport)
class ResidentImportAdmin(CountsMixin, admin.ModelAdmin):
    change_list_template = "admin/residents/change_list_counts.html"
    list_display = ("imported_at", "project", "file_name", "codes_count", "note", "imported_by")
    list_filter = ("project",)
    list_select_related = ("project", "imported_by")
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request):
        # Codes come in only through the import page, which checks the whole file first.
        return request.user.has_perm("residents.add_residentcode")

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:residents_residentimport_import")

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="residents_residentimport_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = file_error = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = codes_read(decode_csv(upload.read()))
            except ImportFileError as error:
                file_error = str(error)
            if report is not None and report.ok:
                try:
                    batch = codes_import(
                        project=form.cleaned_data["project"],
                        report=report,
                        file_name=upload.name,
                        note=form.cleaned_data["note"],
                        staff=request.user,
                        now=timezone.now(),
                    )
                except IntegrityError:
                    file_error = str(
                        _(
                            "取込の途中で、同じコードが別の取込で登録されました。何も保存して"
                            "いません。もう一度取り込んでください。"
                        )
                    )
                else:
                    log_action_done(self, request, batch, _("参加コードを取込"))
                    self.message_user(
                        request,
                        _("「%(project)s」の参加コードを%(n)s件取り込みました。")
                        % {"project": batch.project.name, "n": f"{batch.codes_count:,}"},
                    )
                    return redirect("admin:residents_residentimport_changelist")
        return TemplateResponse(
            request,
            "admin/residents/import.html",
            {
                **self.admin_site.each_context(request),
                "title": _("参加コードの取込"),
                "opts": self.model._meta,
                "form": form,
                "report": report,
                "file_error": file_error,
                "min_length": codes.MIN_LENGTH,
                "max_length": codes.MAX_LENGTH,
            },
        )


class StateFilter(admin.SimpleListFilter):
    title = _("状態")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("unused", _("未登録")), ("used", _("登録済み")), ("revoked", _("無効"))]

    def queryset(self, request, queryset):
        live = queryset.filter(revoked_at__isnull=True)
        if self.value() == "unused":
            return live.filter(used_at__isnull=True)
        if self.value() == "used":
            return live.filter(used_at__isnull=False)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ResidentCode)
class ResidentCodeAdmin(CountsMixin, admin.ModelAdmin):
    change_list_template = "admin/residents/change_list_counts.html"
    list_display = ("code_hint", "project", "state", "used_by", "used_at", "batch", "revoked_at")
    list_filter = (StateFilter, "project")
    list_select_related = ("project", "used_by", "batch")
    search_fields = ("=hint",)
    search_help_text = _(
        "コード全体(ハイフン・空白・全角も可)で1件を探せます。末尾の数文字でも探せます。"
    )
    fields = (
        "project",
        "batch",
        "hint",
        "used_by",
        "used_at",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
    )
    readonly_fields = fields
    actions = ["revoke_codes"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A code is revoked, never deleted: deleting one would let it be imported and used again.
        return False

    @admin.display(description=_("コード"), ordering="hint")
    def code_hint(self, code):
        return f"…{code.hint}"

    @admin.display(description=_("状態"))
    def state(self, code):
        if code.is_revoked:
            return _("無効")
        return _("登録済み") if code.is_used else _("未登録")

    def get_search_results(self, request, queryset, search_term):
        # A whole code typed by staff is found by its hash, as a resident's entry is.
        code = codes.normalize(search_term)
        if codes.is_well_formed(code):
            return queryset.filter(digest__in=codes.digests(code)), False
        return super().get_search_results(request, queryset, code or search_term)

    @admin.action(description=_("選択した参加コードを無効にする"), permissions=["change"])
    def revoke_codes(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("参加コードを無効にする"),
            explanation=_(
                "次の参加コードを無効にします。未登録のコードは使えなくなり、登録済みのコードを"
                "持つ方は、このプロジェクトに新たに申し込めなくなります(申込済みの分は"
                "そのままです)。元に戻すことはできません。"
            ),
            button=_("無効にする"),
            form_class=RevokeForm,
        )
        if not isinstance(answer, dict):
            return answer
        now, done = timezone.now(), 0
        for code in queryset:
            if resident_code_revoke(
                code=code, staff=request.user, reason=answer["reason"], now=now
            ):
                done += 1
                log_action_done(self, request, code, _("無効にした: %s") % answer["reason"])
        self.message_user(
            request,
            _("%(n)s件の参加コードを無効にしました。") % {"n": done},
            messages.WARNING,
        )
        return None
