"""Staff see and act on orders here: refund (or cancel) a paid order, which releases its
budget and voids its unused tickets; expire a stale pending order. Orders and tickets are
never edited by hand: every change goes through purchases.services."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import ReadOnlyAdmin, confirmed_action, log_action_done
from kaika.forms import RejectControlCharactersMixin
from purchases.models import (
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentEvent,
    Ticket,
    TicketUse,
)
from purchases.services import PurchaseError, order_expire, order_refund


class ReadOnlyInline(admin.TabularInline):
    """A record shown beside its order: written by the services only, never in admin."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class TicketInline(ReadOnlyInline):
    model = Ticket
    fields = ("code", "label", "face_value", "balance", "status")
    show_change_link = True


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    fields = ("created_at", "provider", "checkout_id", "status", "expires_at", "error")


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ("received_at", "type", "amount", "outcome", "note", "event_id")
    show_change_link = True


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "supporter",
        "shop",
        "round",
        "units",
        "amount",
        "status",
        "created_at",
        "late_payment_reference",
    )
    list_filter = ("status", "round", "project")
    search_fields = ("code", "supporter__email", "shop__name", "payment_reference")
    list_select_related = ("supporter", "shop", "round__project")
    date_hierarchy = "created_at"
    readonly_fields = [
        f.name for f in Order._meta.get_fields() if f.concrete and f.name != "staff_note"
    ]
    inlines = [TicketInline, PaymentAttemptInline, PaymentEventInline]
    actions = ["refund_orders", "expire_stale_orders"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description=_("選択したお支払い済みの申込を返金・取消する(チケットは無効)"),
        permissions=["change"],
    )
    def refund_orders(self, request, queryset):
        paid = queryset.filter(status=OrderStatus.PAID)
        answer = confirmed_action(
            self,
            request,
            paid,
            title=_("返金・取消"),
            explanation=_(
                "次のお支払い済みの申込を取り消し、返金します。チケットは無効になり、支援者にメールでお知らせします。元には戻せません(利用済みのチケットがある申込は取り消せません)。"
            ),
            button=_("返金・取消する"),
            form_class=RefundForm,
        )
        if not isinstance(answer, dict):
            return answer
        done = 0
        for order in paid:
            note = f"{timezone.localtime():%Y-%m-%d %H:%M} {request.user.email}: {answer['reason']}"
            try:
                order_refund(order=order, now=timezone.now(), note=note)
            except PurchaseError as error:
                self.message_user(request, f"{order.code}: {error.message}", messages.ERROR)
            else:
                done += 1
                log_action_done(self, request, order, _("返金・取消: %s") % answer["reason"])
        self.message_user(request, _("%(n)s件を返金・取消しました。") % {"n": done})
        return None

    @admin.action(description=_("選択した期限切れの申込の確保を解除する"), permissions=["change"])
    def expire_stale_orders(self, request, queryset):
        now = timezone.now()
        done = 0
        for order in queryset.stale_at(now):
            if order_expire(order=order, now=now):
                done += 1
                log_action_done(self, request, order, _("期限切れの確保を解除"))
        self.message_user(request, _("%(n)s件の確保を解除しました。") % {"n": done})


class RefundForm(RejectControlCharactersMixin, forms.Form):
    reason = forms.CharField(
        label=_("返金の理由(事務局メモに残ります)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TicketUseInline(admin.TabularInline):
    model = TicketUse
    fields = ("used_at", "shop", "amount", "balance_after", "operator")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("code", "supporter", "shop", "round", "face_value", "balance", "status")
    list_filter = ("status", "round")
    search_fields = ("code", "supporter__email", "order__code")
    list_select_related = ("supporter", "shop", "round__project")
    readonly_fields = [f.name for f in Ticket._meta.get_fields() if f.concrete]
    inlines = [TicketUseInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketUse)
class TicketUseAdmin(admin.ModelAdmin):
    list_display = ("used_at", "ticket", "shop", "amount", "balance_after", "operator")
    list_select_related = ("ticket", "shop", "operator")
    readonly_fields = [f.name for f in TicketUse._meta.get_fields() if f.concrete]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    """The provider's notices as received: what each was about and what kaika did with it.
    Nothing personal is stored (no payload), so nothing personal is shown."""

    list_display = ("received_at", "type", "order", "amount", "outcome", "note", "event_id")
    list_filter = ("outcome", "type", "provider")
    search_fields = ("event_id", "object_id", "order__code")
    list_select_related = ("order",)
    date_hierarchy = "received_at"
    fields = (
        "provider",
        "event_id",
        "type",
        "object_id",
        "order",
        "amount",
        "created_at",
        "received_at",
        "processed_at",
        "outcome",
        "note",
    )
    readonly_fields = fields
