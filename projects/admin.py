from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import confirmed_action, log_action_done
from kaika.forms import RejectControlCharactersMixin
from projects.models import Listing, Project, Round, Shop, ShopRound
from projects.services import (
    CatalogError,
    listing_approve,
    listing_reject,
    round_allocation_mode_set,
    round_enrol_shops,
    round_resume,
    round_suspend,
    shop_approve,
    shop_reject,
    shop_withdraw,
)


class RoundInline(admin.TabularInline):
    """The project's rounds, listed on its page; each is added and changed on its own page
    (RoundAdmin), where the usage period is asked for, the shops are enrolled and a
    suspension takes its reason. Editing them here would skip all three."""

    model = Round
    extra = 0
    fields = ("number", "shop_applications_close_at", "opens_at", "closes_at", "suspended")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "total_budget",
        "amount_raised",
        "amount_paid",
        "supporters_count",
        "is_published",
        "residents_only",
    )
    list_filter = ("is_published", "residents_only", "electronic_tickets", "paper_tickets")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("amount_raised", "amount_paid", "supporters_count", "created_at")
    inlines = [RoundInline]


class SuspendForm(RejectControlCharactersMixin, forms.Form):
    reason = forms.CharField(label=_("一時停止の理由"), widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(RejectControlCharactersMixin, forms.Form):
    comment = forms.CharField(
        label=_("申請者への連絡事項"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WithdrawForm(RejectControlCharactersMixin, forms.Form):
    comment = forms.CharField(
        label=_("参加取消の理由(店舗にお知らせします)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RejectForm(ApproveForm):
    comment = forms.CharField(
        label=_("却下の理由(申請者にお知らせします)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "opens_at",
        "closes_at",
        "status_now",
        "amount_raised",
        "amount_paid",
        "supporters_count",
    )
    list_filter = ("project", "suspended")
    search_fields = ("project__name", "suspension_reason")
    readonly_fields = (
        "suspended",
        "suspended_at",
        "amount_raised",
        "amount_paid",
        "supporters_count",
    )
    actions = ["suspend_rounds", "resume_rounds"]
    list_select_related = ("project",)

    @admin.display(description=_("現在の状態"))
    def status_now(self, obj):
        return obj.status_at(timezone.now()).label

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if change and "allocation_mode" in form.changed_data:
            # The form's clean() checked without a lock: the service re-checks under one. If
            # the round opened or got a lottery since, the rest is saved, not the mode.
            wanted = obj.allocation_mode
            obj.allocation_mode = form.initial["allocation_mode"]
            try:
                round_allocation_mode_set(round_=obj, mode=wanted, now=now)
            except CatalogError as error:
                self.message_user(request, error.message, messages.ERROR)
        super().save_model(request, obj, form, change)
        # Shops approved before this round existed join it if they applied by its deadline.
        joined = round_enrol_shops(round_=obj, now=now)
        if joined:
            self.message_user(request, _("%(n)s店舗がこの期に参加しました。") % {"n": joined})

    @admin.action(description=_("選択した期の募集を一時停止する"), permissions=["change"])
    def suspend_rounds(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("募集の一時停止"),
            explanation=_(
                "次の期の募集を直ちに一時停止します。時刻に関係なく、解除するまで募集は再開しません。"
            ),
            button=_("一時停止する"),
            form_class=SuspendForm,
        )
        if not isinstance(answer, dict):
            return answer
        now = timezone.now()
        for round_ in queryset:
            round_suspend(round_=round_, reason=answer["reason"], now=now)
            log_action_done(self, request, round_, _("募集を一時停止: %s") % answer["reason"])
        self.message_user(
            request,
            _("%(n)s件の期を一時停止しました。") % {"n": len(queryset)},
            messages.WARNING,
        )
        return None

    @admin.action(description=_("選択した期の一時停止を解除する"), permissions=["change"])
    def resume_rounds(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("一時停止の解除"),
            explanation=_(
                "次の期の一時停止を解除します。募集期間中の期は、直ちに申込の受付を再開します。"
            ),
            button=_("解除する"),
        )
        if not isinstance(answer, dict):
            return answer
        for round_ in queryset:
            round_resume(round_=round_)
            log_action_done(self, request, round_, _("一時停止を解除"))
        self.message_user(
            request, _("%(n)s件の期の一時停止を解除しました。") % {"n": len(queryset)}
        )
        return None


class ShopRoundInline(admin.TabularInline):
    model = ShopRound
    extra = 0
    fields = (
        "round",
        "joined_at",
        "supporters_count",
        "units_sold",
        "amount_raised",
        "amount_paid",
        "tickets_issued_amount",
        "tickets_used_amount",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ListingInline(admin.TabularInline):
    model = Listing
    extra = 0
    fields = (
        "title",
        "unit_price",
        "premium_applies",
        "stock_limit",
        "units_sold",
        "is_active",
        "review_status",
    )
    readonly_fields = ("units_sold", "review_status")
    show_change_link = True
    can_delete = False


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "name_kana", "category", "municipality", "status", "applied_at")
    list_filter = ("status", "category", "municipality", "project")
    search_fields = ("name", "name_kana", "phone", "address", "operators__email")
    date_hierarchy = "applied_at"
    autocomplete_fields = ("operators", "applicant")
    # The status changes only through the actions, which send the email and set up the
    # standard listing and rounds; editing it by hand would skip all of that.
    readonly_fields = ("status", "applied_at", "reviewed_at")
    actions = ["approve_shops", "reject_shops", "withdraw_shops"]
    inlines = [ListingInline, ShopRoundInline]
    list_select_related = ("project",)
    fieldsets = (
        (
            _("店舗情報"),
            {
                "fields": (
                    "project",
                    ("name", "name_kana"),
                    ("category", "municipality"),
                    "address",
                    "phone",
                    "opening_hours",
                    "description",
                    "photo",
                    "website",
                    "representative_name",
                )
            },
        ),
        (_("運営者"), {"fields": ("applicant", "operators")}),
        (
            _("審査"),
            {"fields": ("status", "applied_at", "reviewed_at", "staff_notes", "review_comment")},
        ),
    )

    def _decide(self, request, queryset, service, done_message, **confirmation):
        """A decision on the chosen shops (the service), once confirmed with its message."""
        answer = confirmed_action(self, request, queryset, **confirmation)
        if not isinstance(answer, dict):
            return answer
        now = timezone.now()
        done = 0
        for shop in queryset:
            try:
                shop = service(shop=shop, now=now, comment=answer["comment"])
            except CatalogError as error:
                self.message_user(request, f"{shop}: {error.message}", messages.WARNING)
            else:
                done += 1
                decision = f"{shop.get_status_display()}: {answer['comment']}".rstrip(": ")
                log_action_done(self, request, shop, decision)
        if done:
            self.message_user(request, done_message % {"n": done})
        return None

    @admin.action(
        description=_("選択した店舗を承認する(申請者にメールします)"), permissions=["change"]
    )
    def approve_shops(self, request, queryset):
        return self._decide(
            request,
            queryset,
            shop_approve,
            _("%(n)s店舗を承認しました。"),
            title=_("店舗の承認"),
            explanation=_(
                "次の店舗を承認し、申請者にメールします。連絡事項は、メールと店舗管理画面に表示されます(空欄なら表示しません)。"
            ),
            button=_("承認する"),
            form_class=ApproveForm,
        )

    @admin.action(
        description=_("選択した店舗を却下する(理由を申請者にメールします)"), permissions=["change"]
    )
    def reject_shops(self, request, queryset):
        return self._decide(
            request,
            queryset,
            shop_reject,
            _("%(n)s店舗を却下しました。"),
            title=_("店舗の却下"),
            explanation=_(
                "次の店舗の申請を却下し、理由を申請者にメールします。理由は店舗管理画面にも表示されます。"
            ),
            button=_("却下する"),
            form_class=RejectForm,
        )

    @admin.action(
        description=_("選択した承認済みの店舗の参加を取り消す(販売とチケットの利用を停止)"),
        permissions=["change"],
    )
    def withdraw_shops(self, request, queryset):
        return self._decide(
            request,
            queryset,
            shop_withdraw,
            _("%(n)s店舗の参加を取り消しました。"),
            title=_("店舗の参加取消"),
            explanation=_(
                "次の店舗の参加を取り消します。お店のページは公開を終了し(共有キャッシュからは最長60秒で消えます)、リターンの販売とチケットの利用の受付を直ちに停止し、理由を店舗にメールします。支払い済みの申込と発行済みのチケットはそのまま残ります。返金は申込の画面から行ってください。"
            ),
            button=_("参加を取り消す"),
            form_class=WithdrawForm,
        )


class ListingRejectForm(RejectControlCharactersMixin, forms.Form):
    comment = forms.CharField(
        label=_("差し戻しの理由(店舗にお知らせします)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "shop",
        "unit_price",
        "premium_applies",
        "stock_limit",
        "units_sold",
        "is_standard",
        "is_active",
        "review_status",
        "submitted_at",
    )
    list_filter = ("review_status", "is_active", "is_standard", "premium_applies", "shop__category")
    search_fields = ("title", "shop__name", "shop__name_kana")
    autocomplete_fields = ("shop",)
    filter_horizontal = ("rounds",)
    # The review changes only through the actions, which check the price again and email
    # the shop.
    readonly_fields = (
        "is_standard",
        "units_sold",
        "review_status",
        "review_comment",
        "submitted_at",
        "reviewed_at",
        "created_at",
        "updated_at",
    )
    list_select_related = ("shop",)
    actions = ["approve_listings", "reject_listings"]

    def _decide(self, request, queryset, service, done_message, **confirmation):
        """A review decision on the chosen listings (the service), once confirmed."""
        answer = confirmed_action(self, request, queryset, **confirmation)
        if not isinstance(answer, dict):
            return answer
        now = timezone.now()
        done = 0
        for listing in queryset:
            try:
                listing = service(listing=listing, now=now, comment=answer["comment"])
            except CatalogError as error:
                self.message_user(request, f"{listing}: {error.message}", messages.WARNING)
            else:
                done += 1
                decision = f"{listing.get_review_status_display()}: {answer['comment']}"
                log_action_done(self, request, listing, decision.rstrip(": "))
        if done:
            self.message_user(request, done_message % {"n": done})
        return None

    @admin.action(
        description=_("選択したリターンを承認する(販売を始め、店舗にメールします)"),
        permissions=["change"],
    )
    def approve_listings(self, request, queryset):
        return self._decide(
            request,
            queryset,
            listing_approve,
            _("%(n)s件のリターンを承認しました。"),
            title=_("リターンの承認"),
            explanation=_(
                "次のリターンを承認します。販売中のものは、店舗が参加する期の募集期間に販売されます。1口の金額は事業のルール(1口の金額の倍数、チケットの額面で割り切れる金額)に合うかを確かめます。店舗の運営者にメールします。"
            ),
            button=_("承認する"),
            form_class=ApproveForm,
        )

    @admin.action(
        description=_("選択したリターンを差し戻す(販売を止め、理由を店舗にメールします)"),
        permissions=["change"],
    )
    def reject_listings(self, request, queryset):
        return self._decide(
            request,
            queryset,
            listing_reject,
            _("%(n)s件のリターンを差し戻しました。"),
            title=_("リターンの差し戻し"),
            explanation=_(
                "次のリターンを差し戻します。販売中のものも直ちに販売を止め(共有キャッシュからは最長60秒で消えます)、理由を店舗の運営者にメールします。支払い済みの申込はそのまま残ります。"
            ),
            button=_("差し戻す"),
            form_class=ListingRejectForm,
        )
