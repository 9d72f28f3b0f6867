from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are evidence (exposure log, notices sent, staff changes, data-rights
    requests, tripwire reports): staff read them; nobody adds, edits or deletes them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
