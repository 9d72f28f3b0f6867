"""Operations: the site-wide stop switch, the exposure log and the notices sent after a leak.

In 2021 the operator stopped the site by hand an hour after the leak began, learned of it from
supporters, and needed nine days to name the 1,647 people affected. These models make each of
those steps a matter of minutes.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SiteSwitch(models.Model):
    """The one row (pk=1) of switches that staff flip in admin, without a deploy.

    Every app process reads it through the shared cache with a 1-second lifetime
    (ops.switches), so a change is in force everywhere within a second.
    """

    SINGLETON_PK = 1

    maintenance = models.BooleanField(
        _("メンテナンス中(サイト全体を停止)"),
        default=False,
        help_text=_(
            "オンにすると、管理画面とヘルスチェック以外のすべてのページが"
            "メンテナンス画面(503)になります。1秒以内にすべてのサーバーに反映されます。"
        ),
    )
    message = models.TextField(
        _("メンテナンス画面に表示する説明"), blank=True, help_text=_("例: 不具合の調査のため")
    )
    ends_at = models.DateTimeField(
        _("再開予定日時"),
        null=True,
        blank=True,
        help_text=_("画面に表示し、Retry-After ヘッダーにも使います"),
    )
    changed_at = models.DateTimeField(_("最終変更日時"), null=True, editable=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("最終変更者"),
    )

    class Meta:
        verbose_name = _("停止スイッチ")
        verbose_name_plural = _("停止スイッチ")

    def __str__(self) -> str:
        return str(_("サイト全体のメンテナンス: オン") if self.maintenance else _("通常運転"))


class ExposureAction(models.TextChoices):
    """Responses that show a person's data. Extension point: other apps add their action here
    (purchase confirmation, order history) and call ops.exposure.exposure_record in the view."""

    LOGIN_COMPLETED = "login", _("ログイン完了")
    SIGNUP = "signup", _("新規会員登録")
    MY_PAGE = "mypage", _("マイページ")
    PROFILE_VIEWED = "profile_viewed", _("会員情報の表示")
    PROFILE_UPDATED = "profile_updated", _("会員情報の更新")
    CONTACT_FORM_SHOWN = "contact_form", _("お問い合わせフォーム(入力済み)")
    CONTACT_SENT = "contact_sent", _("お問い合わせ送信")
    INQUIRY_HISTORY = "inquiries", _("お問い合わせ履歴")
    FAILED_LOGIN_ECHO = "login_failed", _("ログイン失敗(入力したメールアドレスの表示)")
    OPERATOR_SUPPORTER_DATA = "operator", _("店舗管理画面(支援者の情報)")
    PURCHASE_CONFIRMATION = "purchase", _("支援の確認")
    ORDER_HISTORY = "orders", _("支援履歴")
    TICKETS = "tickets", _("チケット(QRコード)")
    DATA_EXPORT = "data_export", _("会員データのダウンロード")


class ExposureLog(models.Model):
    """One row per response that showed someone's personal data: who the data was about, which
    session saw it, when. After a leak this answers "who may have been affected" exactly.

    Append-only and narrow on purpose: one INSERT per such response, no foreign key (no lock
    on the user row, no cascade over millions of rows when an account is deleted).
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("日時"))
    action = models.CharField(_("操作"), max_length=16, choices=ExposureAction.choices)
    # The person whose data the response showed (a user id, kept even if the user is deleted).
    subject_id = models.BigIntegerField(_("対象の会員ID"), null=True, blank=True)
    # Keyed hash of an email address that was typed (failed login, contact form): identifies
    # the person without keeping the address (ops.exposure.email_hash).
    subject_email_hash = models.CharField(_("メールアドレスのハッシュ"), max_length=64, blank=True)
    # Keyed hash of the session key of whoever received the response.
    viewer_session_hash = models.CharField(_("閲覧セッションのハッシュ"), max_length=64, blank=True)
    request_id = models.CharField(_("リクエストID"), max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)

    class Meta:
        verbose_name = _("個人情報の表示記録")
        verbose_name_plural = _("個人情報の表示記録")
        indexes = [
            # The report reads a time window: with every column it needs in the key,
            # PostgreSQL answers from the index alone (index-only scan) whatever the table's
            # size. Key columns rather than INCLUDE, which SQLite (local runs) lacks.
            models.Index(
                fields=["at", "action", "subject_id", "subject_email_hash"],
                name="exposure_at_covering",
            ),
            # One person's history ("what did we show about me, and to whom?").
            models.Index(fields=["subject_id", "at"], name="exposure_subject_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_action_display()} #{self.subject_id}"


class NoticeSent(models.Model):
    """That `notice` was queued for `user`: at most once per person and notice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("会員"),
    )
    notice = models.CharField(_("お知らせ"), max_length=64)
    email = models.EmailField(_("送信先"))
    sent_at = models.DateTimeField(_("送信日時"))

    class Meta:
        verbose_name = _("送信済みのお知らせ")
        verbose_name_plural = _("送信済みのお知らせ")
        constraints = [
            models.UniqueConstraint(fields=["user", "notice"], name="notice_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.notice} → {self.email}"


class TripwireReport(models.Model):
    """A browser received a per-user page made for someone else, hid it and said so."""

    at = models.DateTimeField(_("日時"), db_index=True)
    path = models.CharField(_("ページ"), max_length=500)
    seen_marker = models.CharField(_("ページの閲覧者マーカー"), max_length=64)
    own_marker = models.CharField(_("ブラウザの閲覧者マーカー"), max_length=64)
    verified = models.BooleanField(
        _("確認済み"),
        default=False,
        help_text=_("報告したブラウザのログイン中の会員と、マーカーが一致したもの"),
    )
    user_id = models.BigIntegerField(_("報告した会員ID"), null=True, blank=True)
    client_ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    user_agent = models.CharField(_("ブラウザ"), max_length=300, blank=True)
    request_id = models.CharField(_("リクエストID"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("表示の取り違えの報告")
        verbose_name_plural = _("表示の取り違えの報告")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.path}"
