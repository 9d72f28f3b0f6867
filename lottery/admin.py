"""Lottery rounds in admin: staff create one for a round in lottery mode before its window
opens (the seed is drawn and its hash published then), draw it and re-draw it by action (or
let `manage.py lottery_draw` do both from cron). Applications and results are read-only."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaika.admin import confirmed_action, log_action_done
from lottery.models import Allotment, Application, ApplicationLine, DrawPass, LotteryRound
from lottery.services import LotteryError, lottery_create, lottery_draw, lottery_redraw
from projects.models import AllocationMode, Round


class LotteryRoundForm(forms.ModelForm):
    class Meta:
        model = LotteryRound
        fields = ["round", "payment_hours"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "round" in self.fields:
            self.fields["round"].queryset = Round.objects.filter(
                allocation_mode=AllocationMode.LOTTERY, lottery__isnull=True
            ).select_related("project")

    def clean_round(self):
        round_ = self.cleaned_data["round"]
        if self.instance.pk is None and timezone.now() >= round_.opens_at:
            raise forms.ValidationError(LotteryError.MESSAGES["already_open"])
        return round_


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DrawPassInline(ReadOnlyInline):
    model = DrawPass
    fields = ["number", "drawn_at", "payment_deadline", "budget"]
    readonly_fields = fields


@admin.register(LotteryRound)
class LotteryRoundAdmin(admin.ModelAdmin):
    form = LotteryRoundForm
    list_display = ["round", "committed_at", "drawn_at", "payment_hours"]
    list_select_related = ["round__project"]
    readonly_fields = ["seed_hash", "committed_at", "drawn_at", "revealed_seed"]
    inlines = [DrawPassInline]
    actions = ["draw", "redraw"]

    def get_readonly_fields(self, request, obj=None):
        # The round is fixed once its seed is committed.
        return [*self.readonly_fields, "round"] if obj is not None else self.readonly_fields

    @admin.display(description=_("乱数の種(抽選後に公開)"))
    def revealed_seed(self, obj):
        return obj.published_seed or _("抽選の後に表示します")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = lottery_create(
            round_=obj.round, payment_hours=obj.payment_hours, now=timezone.now()
        )
        obj.pk = created.pk
        obj.seed, obj.seed_hash, obj.committed_at = (
            created.seed,
            created.seed_hash,
            created.committed_at,
        )

    def _each(self, request, queryset, service, done_message):
        now = timezone.now()
        for lottery in queryset:
            try:
                draw_pass = service(lottery=lottery, now=now)
            except LotteryError as error:
                self.message_user(request, f"{lottery}: {error.message}", messages.ERROR)
                continue
            log_action_done(self, request, lottery, done_message)
            self.message_user(
                request,
                _("%(lottery)s: 第%(n)s回の抽選をしました(当選 %(won)s件)。")
                % {"lottery": lottery, "n": draw_pass.number, "won": draw_pass.allotments.count()},
                messages.SUCCESS,
            )

    @admin.action(description=_("抽選する(受付終了後)"), permissions=["change"])
    def draw(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("抽選する"),
            explanation=_(
                "選んだ抽選を実施し、当選者に支払期限付きの申込を作り、全員にメールします。"
                "乱数の種を公開します。取り消せません。"
            ),
            button=_("抽選する"),
        )
        if not isinstance(answer, dict):
            return answer
        self._each(request, queryset, lottery_draw, _("抽選しました"))

    @admin.action(description=_("繰上当選の抽選をする(支払期限後)"), permissions=["change"])
    def redraw(self, request, queryset):
        answer = confirmed_action(
            self,
            request,
            queryset,
            title=_("繰上当選の抽選をする"),
            explanation=_(
                "支払期限を過ぎた未払いの当選を無効にし、空いた口数を同じ順で繰上当選にします。"
            ),
            button=_("繰上当選の抽選をする"),
        )
        if not isinstance(answer, dict):
            return answer
        self._each(request, queryset, lottery_redraw, _("繰上当選の抽選をしました"))


class ApplicationLineInline(ReadOnlyInline):
    model = ApplicationLine
    fields = ["listing", "units"]
    readonly_fields = fields


class AllotmentInline(ReadOnlyInline):
    model = Allotment
    fields = ["draw_pass", "listing", "units", "order"]
    readonly_fields = fields


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["public_id", "lottery", "supporter", "created_at", "updated_at"]
    list_select_related = ["lottery__round__project", "supporter"]
    list_filter = ["lottery"]
    search_fields = ["public_id", "supporter__email"]
    readonly_fields = ["lottery", "supporter", "public_id", "created_at", "updated_at"]
    inlines = [ApplicationLineInline, AllotmentInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
