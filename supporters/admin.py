from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from kaika.admin import ReadOnlyAdmin
from supporters.models import DataRightsRequest, User


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ("-date_joined",)
    list_display = ("email", "full_name", "prefecture", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "gender", "occupation", "prefecture")
    search_fields = (
        "email",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "phone",
    )
    readonly_fields = ("last_login", "date_joined")
    # The password hash is shown only as Django's summary widget, never as text.
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("個人情報"),
            {
                "fields": (
                    ("family_name", "given_name"),
                    ("family_name_kana", "given_name_kana"),
                    "birth_date",
                    "gender",
                    "occupation",
                    "company_name",
                )
            },
        ),
        (
            _("住所・連絡先"),
            {
                "fields": (
                    "postal_code",
                    "prefecture",
                    "city",
                    "street_address",
                    "building",
                    "phone",
                )
            },
        ),
        (
            _("権限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("日時"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("氏名"), ordering="family_name_kana")
    def full_name(self, obj):
        return obj.full_name


@admin.register(DataRightsRequest)
class DataRightsRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "user", "email_hash")
    list_filter = ("kind", "created_at")
    search_fields = ("email_hash",)
    date_hierarchy = "created_at"
