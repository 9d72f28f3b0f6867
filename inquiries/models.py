from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    BACKING = "backing", _("ご支援について")
    SHOPS = "shops", _("参加店舗について")
    TICKETS = "tickets", _("チケットについて")
    OTHER = "other", _("その他")


class Status(models.TextChoices):
    NEW = "new", _("新規")
    IN_PROGRESS = "in_progress", _("対応中")
    ANSWERED = "answered", _("回答済み")
    CLOSED = "closed", _("完了")


class InquiryQuerySet(models.QuerySet):
    def of_supporter(self, user) -> "InquiryQuerySet":
        """The inquiries a supporter sent while logged in. Never matched by the typed email:
        anyone can type someone else's address into the form."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class Inquiry(models.Model):
    """One message sent through the contact form, and how the office handled it.

    Orders: a logged-in sender may pick one of their own orders (`order`; the form offers only
    theirs). A signed-out sender names none: a typed number could not be checked against them.
    `order_number` holds what the old form's free-text box took, kept as it was sent.
    """

    reference = models.CharField(_("受付番号"), max_length=16, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("会員"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inquiries",
        help_text=_("ログインして送信された場合のみ。入力されたメールアドレスでは紐付けません。"),
    )
    name = models.CharField(_("お名前"), max_length=100)
    email = models.EmailField(_("メールアドレス"))
    category = models.CharField(_("お問い合わせの種類"), max_length=16, choices=Category.choices)
    subject = models.CharField(_("件名"), max_length=100)
    body = models.TextField(_("お問い合わせ内容"), max_length=4000)
    order_number = models.CharField(_("注文番号(旧フォームで記入)"), max_length=32, blank=True)
    order = models.ForeignKey(
        "purchases.Order",
        verbose_name=_("ご支援の申込"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inquiries",
    )
    # Replies go out in the language the sender used the site in.
    language = models.CharField(_("言語"), max_length=8, default="ja")
    status = models.CharField(
        _("対応状況"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("担当者"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_inquiries",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(_("受付日時"))
    # One per contact form shown: the same form sent twice (a double click, a resent POST)
    # finds this inquiry instead of making a second one and sending its emails again.
    idempotency_key = models.CharField(
        _("二重送信防止キー"), max_length=64, blank=True, default="", editable=False
    )

    objects = InquiryQuerySet.as_manager()

    class Meta:
        verbose_name = _("お問い合わせ")
        verbose_name_plural = _("お問い合わせ")
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["user", "-created_at"], name="inquiry_user_created"),
            models.Index(fields=["status", "-created_at"], name="inquiry_status_created"),
        ]
        constraints = [
            # Per sender: the member, or the typed address when signed out.
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(user__isnull=False) & ~Q(idempotency_key=""),
                name="inquiry_one_per_form_member",
            ),
            models.UniqueConstraint(
                fields=["email", "idempotency_key"],
                condition=Q(user__isnull=True) & ~Q(idempotency_key=""),
                name="inquiry_one_per_form_email",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class InquiryNote(models.Model):
    """Staff-only memo on an inquiry. Never shown to the sender."""

    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("お問い合わせ"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("記入者"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("内部メモ"), max_length=4000)
    created_at = models.DateTimeField(_("記入日時"))

    class Meta:
        verbose_name = _("内部メモ")
        verbose_name_plural = _("内部メモ")
        ordering = ("created_at",)

    def __str__(self) -> str:
        # Admin's change message names the row before a service has given it a time.
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "-"
        return f"{self.inquiry_id and self.inquiry} / {when}"


class InquiryReply(models.Model):
    """A reply emailed to the sender; kept as the inquiry's history (who, when, to whom)."""

    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("お問い合わせ"), on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("送信者"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("返信内容"), max_length=8000)
    sent_to = models.EmailField(_("送信先"))
    created_at = models.DateTimeField(_("送信日時"))

    class Meta:
        verbose_name = _("返信")
        verbose_name_plural = _("返信")
        ordering = ("created_at",)

    def __str__(self) -> str:
        # Admin's change message names the row before a service has given it a time.
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "-"
        return f"{self.inquiry_id and self.inquiry} / {when}"
