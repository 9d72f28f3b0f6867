from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from localflavor.jp.jp_prefectures import JP_PREFECTURE_CODES


class Gender(models.TextChoices):
    FEMALE = "female", _("女性")
    MALE = "male", _("男性")
    OTHER = "other", _("その他")
    UNSPECIFIED = "unspecified", _("回答しない")


class Occupation(models.TextChoices):
    EMPLOYEE = "employee", _("会社員")
    EXECUTIVE = "executive", _("会社役員")
    PUBLIC_SERVANT = "public_servant", _("公務員")
    SELF_EMPLOYED = "self_employed", _("自営業")
    PART_TIME = "part_time", _("パート・アルバイト")
    STUDENT = "student", _("学生")
    HOMEMAKER = "homemaker", _("専業主婦・主夫")
    RETIRED = "retired", _("無職・退職")
    OTHER = "other", _("その他")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


# The fields a supporter must fill in before backing a shop (building and company are optional).
REQUIRED_PROFILE_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "gender",
    "occupation",
    "postal_code",
    "prefecture",
    "city",
    "street_address",
    "phone",
)


# My page and the purchase confirmation show these on every view (kaika/choices.py says why).
class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account: supporter, shop operator or staff, keyed by email.

    Profile fields may be blank at the database level (a staff account made with
    createsuperuser has none); the forms require them, and `has_complete_profile` gates backing.
    """

    email = models.EmailField(_("メールアドレス"), unique=True)
    family_name = models.CharField(_("姓"), max_length=50, blank=True)
    given_name = models.CharField(_("名"), max_length=50, blank=True)
    family_name_kana = models.CharField(_("セイ"), max_length=50, blank=True)
    given_name_kana = models.CharField(_("メイ"), max_length=50, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    gender = models.CharField(_("性別"), max_length=16, choices=Gender.choices, blank=True)
    occupation = models.CharField(_("職業"), max_length=32, choices=Occupation.choices, blank=True)
    company_name = models.CharField(_("会社名・勤務先"), max_length=100, blank=True)
    postal_code = models.CharField(_("郵便番号"), max_length=7, blank=True)
    prefecture = models.CharField(
        _("都道府県"), max_length=2, choices=JP_PREFECTURE_CODES, blank=True
    )
    city = models.CharField(_("市区町村"), max_length=100, blank=True)
    street_address = models.CharField(_("町名・番地"), max_length=200, blank=True)
    building = models.CharField(_("建物名・部屋番号"), max_length=200, blank=True)
    phone = models.CharField(_("電話番号"), max_length=15, blank=True)

    is_staff = models.BooleanField(_("スタッフ"), default=False)
    is_active = models.BooleanField(_("有効"), default=True)
    date_joined = models.DateTimeField(_("登録日時"), default=timezone.now)
    # What the person agreed to at signup (the signup form requires it): when, and which
    # version of the terms (settings.KAIKA_TERMS_VERSION). Empty for accounts made otherwise.
    terms_agreed_at = models.DateTimeField(_("利用規約への同意日時"), null=True, blank=True)
    terms_version = models.CharField(_("同意した利用規約の版"), max_length=32, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("ユーザー")
        verbose_name_plural = _("ユーザー")

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}".strip()

    @property
    def has_complete_profile(self) -> bool:
        return all(getattr(self, name) for name in REQUIRED_PROFILE_FIELDS)

    @property
    def postal_code_display(self) -> str:
        code = self.postal_code
        return f"〒{code[:3]}-{code[3:]}" if len(code) == 7 else code

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.family_name or self.email


class DataRightsRequest(models.Model):
    """A supporter downloaded their data or deleted their account: staff see it in admin.

    The person is named by a keyed hash of their email, not the email: after an erasure the
    office can still answer "did this address ask to be deleted, and when?" without keeping it.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", _("データのダウンロード")
        DELETE = "delete", _("退会(データの削除)")

    kind = models.CharField(_("種類"), max_length=8, choices=Kind.choices)
    user = models.ForeignKey(
        User, verbose_name=_("会員"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    email_hash = models.CharField(_("メールアドレスのハッシュ"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("日時"), db_index=True)

    class Meta:
        verbose_name = _("個人データの請求")
        verbose_name_plural = _("個人データの請求")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"
