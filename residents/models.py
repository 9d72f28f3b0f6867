"""Codes mailed to the households of a residents-only project (Project.residents_only), and
the staff imports they came in. A supporter who enters one becomes eligible to back the
project: at most one code per account and project (an account is one household's), each code
used once. Codes are stored as a keyed hash (residents/codes.py), never as typed."""

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from projects.models import Project


class ResidentImport(models.Model):
    """One CSV file of codes, imported whole or not at all."""

    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        related_name="resident_imports",
        verbose_name=_("プロジェクト"),
    )
    file_name = models.CharField(_("ファイル名"), max_length=255)
    codes_count = models.PositiveIntegerField(_("コード数"))
    note = models.CharField(_("メモ"), max_length=200, blank=True)
    imported_at = models.DateTimeField(_("取込日時"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("取り込んだスタッフ"),
    )

    class Meta:
        verbose_name = _("参加コードの取込")
        verbose_name_plural = _("参加コードの取込")
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.project} {self.file_name} ({self.codes_count})"


class ResidentCodeQuerySet(models.QuerySet):
    def held(self):
        """Codes that make their holder eligible: entered, and not revoked since."""
        return self.filter(used_by__isnull=False, revoked_at__isnull=True)

    def counts(self) -> dict[str, int]:
        return self.aggregate(
            total=Count("pk"),
            used=Count("pk", filter=Q(used_at__isnull=False, revoked_at__isnull=True)),
            unused=Count("pk", filter=Q(used_at__isnull=True, revoked_at__isnull=True)),
            revoked=Count("pk", filter=Q(revoked_at__isnull=False)),
        )


class ResidentCode(models.Model):
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        related_name="resident_codes",
        verbose_name=_("プロジェクト"),
    )
    batch = models.ForeignKey(
        ResidentImport,
        on_delete=models.PROTECT,
        related_name="codes",
        verbose_name=_("取込"),
    )
    # HMAC-SHA256 of the normalised code (residents/codes.py); unique across projects, so that
    # a code alone names its project.
    digest = models.CharField(_("コードのハッシュ"), max_length=64, unique=True, editable=False)
    hint = models.CharField(
        _("コードの末尾"),
        max_length=8,
        help_text=_("問い合わせの際に照合するための末尾の数文字(コード全体は保存しません)"),
    )
    # used_at stays when the account is deleted (used_by then NULL): a code is used once.
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident_codes",
        verbose_name=_("登録した支援者"),
    )
    used_at = models.DateTimeField(_("登録日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("無効にした日時"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("無効にしたスタッフ"),
    )
    revoke_reason = models.CharField(_("無効にした理由"), max_length=200, blank=True)

    objects = ResidentCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("参加コード")
        verbose_name_plural = _("参加コード")
        ordering = ["-pk"]
        constraints = [
            # An account holds at most one live code per project: one household, one account.
            models.UniqueConstraint(
                fields=["project", "used_by"],
                condition=Q(used_by__isnull=False, revoked_at__isnull=True),
                name="resident_code_one_per_account_and_project",
            ),
            models.CheckConstraint(
                condition=Q(used_by__isnull=True) | Q(used_at__isnull=False),
                name="resident_code_used_by_has_used_at",
            ),
        ]

    def __str__(self) -> str:
        return f"…{self.hint}"

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
