import time

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kaika.admin import log_action_done
from waitingroom.models import WaitingRoom
from waitingroom.queue import RoomClosed, queue_figures
from waitingroom.services import room_pause, room_push


@admin.register(WaitingRoom)
class WaitingRoomAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "enabled",
        "paused",
        "admit_per_second",
        "max_concurrent",
        "queue_now",
    )
    list_filter = ("enabled", "paused")
    list_select_related = ("round", "round__project")
    search_fields = ("round__project__name",)
    raw_id_fields = ("round",)
    readonly_fields = ("queue_now", "updated_at")
    fields = (
        "round",
        "enabled",
        "opens_before_minutes",
        "admit_per_second",
        "max_concurrent",
        "pass_ttl_seconds",
        "paused",
        "queue_now",
        "updated_at",
    )
    actions = ["pause_rooms", "resume_rooms"]

    @admin.display(description=_("待合室の現在"))
    def queue_now(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        try:
            figures = queue_figures(round_id=obj.round_id, now=time.time())
        except RoomClosed:
            return _("Redisに接続できません(入場は停止中です)")
        return format_html(
            "{}: {} / {}: {} / {}: {} / {}: {} / {}",
            _("開始前の待機"),
            figures["pre"],
            _("順番待ち"),
            figures["queue"],
            _("手続き中(有効な入場券)"),
            figures["live"],
            _("注文済み"),
            figures["spent"],
            _("抽選済み") if figures["shuffled"] else _("抽選前"),
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        room_push(obj)

    def _pause(self, request, queryset, *, paused: bool):
        now = timezone.now()
        done = 0
        for room in queryset.select_related("round__project"):
            if room_pause(room=room, paused=paused, now=now):
                done += 1
                log_action_done(
                    self, request, room, _("入場を一時停止") if paused else _("入場を再開")
                )
        message = (
            _("%(n)s件の待合室の入場を一時停止しました。")
            if paused
            else _("%(n)s件の待合室の入場を再開しました。")
        )
        self.message_user(request, message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("選択した待合室の入場を一時停止する"), permissions=["change"])
    def pause_rooms(self, request, queryset):
        self._pause(request, queryset, paused=True)

    @admin.action(description=_("選択した待合室の入場を再開する"), permissions=["change"])
    def resume_rooms(self, request, queryset):
        self._pause(request, queryset, paused=False)
