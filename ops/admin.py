from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ops.models import SiteSwitch
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
