"""Staff see and act on orders here: refund (or cancel) a paid order, which releases its
budget, voids its unused tickets and refunds its payment through the provider; expire a
stale pending order; follow every refund (owed, in progress, failed, done), retry a failed
one or record one made by hand. Orders, tickets and refunds are never edited by hand: every
change goes through purchases.services."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import ReadOnlyAdmin, confirmed_action, log_action_done
from kaika.forms import RejectControlCharactersMixin
from purchases.forms import RedemptionUndoForm
from purchases.models import (
    ExpiryReminder,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentEvent,
    Redemption,
    Refund,
    RefundStatus,
    Ticket,
    TicketUse,
    Wallet,
)
from purchases.services import (
    PurchaseError,
    order_expire,
    order_refund,
    redemption_undo,
    refund_record_by_hand,
    refund_retry,
)


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


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("created_at", "reason", "amount", "status", "error", "completed_at")
    show_change_link = True


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
    )
    list_filter = ("status", "round", "project")
    search_fields = ("code", "supporter__email", "shop__name", "payment_reference")
    list_select_related = ("supporter", "shop", "round__project")
    date_hierarchy = "created_at"
    readonly_fields = [
        f.name for f in Order._meta.get_fields() if f.concrete and f.name != "staff_note"
    ]
    inlines = [TicketInline, PaymentAttemptInline, RefundInline, PaymentEventInline]
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
                "次のお支払い済みの申込を取り消し、お支払いを決済代行から返金します。チケットは無効になり、支援者にメールでお知らせします。元には戻せません(利用済みのチケットがある申込は取り消せません)。返金の状況は「返金」の一覧で確認できます。"
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
                order_refund(order=order, now=timezone.now(), note=note, staff=request.user)
            except PurchaseError as error:
                self.message_user(request, f"{order.code}: {error.message}", messages.ERROR)
            else:
                done += 1
                log_action_done(self, request, order, _("返金・取消: %s") % answer["reason"])
        self.message_user(
            request, _("%(n)s件を取り消し、返金を決済代行に依頼しました。") % {"n": done}
        )
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


class RefundByHandForm(RejectControlCharactersMixin, forms.Form):
    reason = forms.CharField(
        label=_("どのように返金したか(振込日、振込先など。事務局メモに残ります)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    """The refunds view: each payment owed back, where it stands at the provider, and the
    provider's error when it failed. Read-only but for the two actions."""

    list_display = (
        "created_at",
        "order",
        "amount_yen",
        "reason",
        "status",
        "error",
        "provider",
        "provider_refund_id",
        "completed_at",
    )
    list_filter = ("status", "reason", "provider", "recorded_by_hand")
    search_fields = ("order__code", "payment_reference", "provider_refund_id")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Refund._meta.get_fields() if f.concrete]
    actions = ["retry_refunds", "record_refunds_by_hand"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("返金額(円)"), ordering="amount")
    def amount_yen(self, refund):
        return f"{refund.amount:,}"

    @admin.action(
        description=_("選択した失敗した返金を、決済代行にもう一度依頼する"), permissions=["change"]
    )
    def retry_refunds(self, request, queryset):
        done = 0
        for refund in queryset.filter(status=RefundStatus.FAILED):
            refund_retry(refund=refund, staff=request.user, now=timezone.now())
            log_action_done(self, request, refund, _("返金を再依頼"))
            done += 1
        self.message_user(request, _("%(n)s件の返金を再依頼しました。") % {"n": done})

    @admin.action(
        description=_("選択した失敗した返金を、別の方法で返金済みとして記録する"),
        permissions=["change"],
    )
    def record_refunds_by_hand(self, request, queryset):
        failed = queryset.filter(status=RefundStatus.FAILED)
        answer = confirmed_action(
            self,
            request,
            failed,
            title=_("返金済みとして記録"),
            explanation=_(
                "決済代行で返金できなかった次のお支払いを、銀行振込など別の方法で返金済みとして記録します。決済代行には依頼しません。"
            ),
            button=_("返金済みとして記録する"),
            form_class=RefundByHandForm,
        )
        if not isinstance(answer, dict):
            return answer
        done = 0
        for refund in failed:
            try:
                refund_record_by_hand(
                    refund=refund, staff=request.user, reason=answer["reason"], now=timezone.now()
                )
            except PurchaseError as error:
                self.message_user(request, f"{refund}: {error.message}", messages.ERROR)
            else:
                note = _("手動で返金済みと記録: %s") % answer["reason"]
                log_action_done(self, request, refund, note)
                done += 1
        self.message_user(request, _("%(n)s件を返金済みとして記録しました。") % {"n": done})
        return None


# --- Wallets and the uses at the till (written by purchases.services only) -----------------


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    """A supporter's balance at a shop: the code of the QR code on their My page."""

    list_display = ("code", "supporter", "shop", "created_at")
    search_fields = ("code", "supporter__email", "shop__name")
    list_select_related = ("supporter", "shop")


class RedemptionPartInline(ReadOnlyInline):
    model = TicketUse
    fields = ("ticket", "amount", "balance_after")


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    """One use at a till, and the tickets it was taken from. Staff may undo one at any time
    (the shop itself only within minutes and before settlement): the amount goes back to the
    supporter's tickets, and a use already settled is taken back in the shop's next
    statement as a negative line."""

    list_display = (
        "used_at",
        "shop",
        "wallet",
        "amount",
        "balance_after",
        "operator",
        "undone_at",
    )
    list_filter = (("undone_at", admin.EmptyFieldListFilter),)
    search_fields = ("wallet__code", "wallet__supporter__email", "shop__name")
    list_select_related = ("shop", "wallet", "operator")
    inlines = [RedemptionPartInline]
    actions = ["undo"]

    def has_undo_permission(self, request) -> bool:
        return request.user.has_perm("purchases.change_redemption")

    @admin.action(
        description=_("利用を取り消す(理由を記録・精算済みなら次回の明細で差し引き)"),
        permissions=["undo"],
    )
    def undo(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("利用を取り消す"),
            explanation=_(
                "選んだ利用を取り消し、金額を支援者のチケットの残額に戻します。お店への精算が"
                "済んだ利用は、次回の精算明細でマイナスとして差し引きます。理由は記録に残ります。"
            ),
            button=_("取り消す"),
            form_class=RedemptionUndoForm,
        )
        if not isinstance(answer, dict):
            return answer
        done = 0
        for redemption in queryset:
            try:
                redemption_undo(
                    redemption=redemption,
                    by=request.user,
                    reason=answer["reason"],
                    now=timezone.now(),
                    staff=True,
                )
            except PurchaseError as error:
                self.message_user(request, f"{redemption}: {error.message}", messages.ERROR)
            else:
                log_action_done(self, request, redemption, _("利用の取消: %s") % answer["reason"])
                done += 1
        if done:
            self.message_user(
                request, _("%(n)s件の利用を取り消しました。") % {"n": done}, messages.SUCCESS
            )
        return None


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdmin):
    """The expiry reminders sent (manage.py remind_expiry): one per wallet, round and threshold."""

    list_display = ("sent_at", "wallet", "round", "days_before", "balance", "ends_on")
    search_fields = ("wallet__code", "wallet__supporter__email", "wallet__shop__name")
    list_select_related = ("wallet", "round")
    list_filter = ("days_before",)
