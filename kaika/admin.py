from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are evidence (exposure log, notices sent, staff changes, data-rights
    requests, tripwire reports): staff read them; nobody adds, edits or deletes them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def confirmed_action(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    title: str,
    explanation: str,
    button: str,
    form_class=None,
):
    """A staff action in two steps: the first answer is a page listing the chosen records,
    what will happen to them and, with `form_class`, a form (a reason, a message); posted again
    from that page, it returns the valid form's cleaned data (an empty dict without a form)
    and the action goes ahead. Otherwise it returns the page to show (TemplateResponse)."""
    applying = "apply" in request.POST
    form = form_class(request.POST if applying else None) if form_class else None
    if applying and (form is None or form.is_valid()):
        return form.cleaned_data if form is not None else {}
    return TemplateResponse(
        request,
        "admin/confirm_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "button": button,
            "opts": modeladmin.model._meta,
            "objects": list(queryset),
            "form": form,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


def log_action_done(modeladmin: admin.ModelAdmin, request, obj, message: str) -> None:
    """The admin's history (LogEntry) of `obj` says which staff member did what, and when:
    the record docs/operations.md promises for every change made in admin."""
    modeladmin.log_change(request, obj, str(message))


def log_actions_done(request, objs, message: str) -> None:
    """log_action_done for many objects at once: one INSERT of their history entries."""
    from django.contrib.admin.models import CHANGE, LogEntry

    if objs:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=objs, action_flag=CHANGE, change_message=str(message)
        )
