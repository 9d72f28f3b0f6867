from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inquiries.models import Inquiry, InquiryNote, InquiryReply
from inquiries.services import inquiry_note_add, inquiry_reply
from kaika.forms import RejectControlCharactersMixin


class HistoryForm(RejectControlCharactersMixin, forms.ModelForm):
    pass


class HistoryInline(admin.StackedInline):
    """Add-only: what was written (and for replies, emailed) stays as it was, with who and
    when. Existing rows are shown read-only; a new row goes through a service."""

    form = HistoryForm

    extra = 1
    can_delete = False
    fields = ("body", "author", "created_at")
    readonly_fields = ("author", "created_at")

    def has_change_permission(self, request, obj=None):
        return False


class InquiryReplyInline(HistoryInline):
    model = InquiryReply
    verbose_name = _("返信(保存すると送信者にメールで送られます)")
    verbose_name_plural = _("返信の履歴")
    fields = ("body", "author", "sent_to", "created_at")
    readonly_fields = ("author", "sent_to", "created_at")


class InquiryNoteInline(HistoryInline):
    model = InquiryNote
    verbose_name = _("内部メモ(送信者には表示されません)")
    verbose_name_plural = _("内部メモ")


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "created_at",
        "status",
        "category",
        "subject",
        "name",
        "assignee",
    )
    list_display_links = ("reference", "subject")
    list_filter = ("status", "category", "assignee", "created_at")
    list_select_related = ("assignee",)
    search_fields = (
        "reference",
        "name",
        "email",
        "subject",
        "body",
        "order_number",
        "order__code",
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    # What the sender sent is a record: only the handling (status, assignee, category) changes.
    readonly_fields = (
        "reference",
        "created_at",
        "user",
        "name",
        "email",
        "subject",
        "body",
        "order_number",
        "order",
        "language",
    )
    fieldsets = (
        (_("対応"), {"fields": ("status", "assignee", "category")}),
        (
            _("お問い合わせ内容"),
            {
                "fields": (
                    "reference",
                    "created_at",
                    "user",
                    ("name", "email"),
                    ("order", "order_number"),
                    "subject",
                    "body",
                    "language",
                )
            },
        ),
    )
    inlines = (InquiryReplyInline, InquiryNoteInline)

    def has_add_permission(self, request):
        # Inquiries come in through the contact form only.
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                is_staff=True, is_active=True
            ).order_by("family_name_kana", "email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_formset(self, request, form, formset, change):
        # New replies and notes go through the services (author, time, email on commit);
        # nothing already written is changed or deleted.
        now = timezone.now()
        for instance in formset.save(commit=False):
            if instance.pk is not None:
                continue
            if isinstance(instance, InquiryReply):
                inquiry_reply(
                    inquiry=form.instance, author=request.user, body=instance.body, now=now
                )
                messages.success(
                    request,
                    _("%(email)s に返信をお送りします。") % {"email": form.instance.email},
                )
            elif isinstance(instance, InquiryNote):
                inquiry_note_add(
                    inquiry=form.instance, author=request.user, body=instance.body, now=now
                )
