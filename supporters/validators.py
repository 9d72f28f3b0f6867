"""Japanese personal data as people type it, normalised to one stored form.

Each `normalize_*` returns the stored form or raises ValidationError with a message in Japanese.
"""

import datetime
import re
import unicodedata

import jaconv
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kaika.validators import reject_control_characters

KATAKANA_RE = re.compile(r"^[\u30a1-\u30fa\u30fc\u30fd\u30fe]+$")
# Every dash a Japanese keyboard or IME can produce between digits, after NFKC.
DASHES_RE = re.compile(r"[-\u2010-\u2015\u2212\u30fc\uff70\ufe63]")
MAX_AGE_YEARS = 120
ELEVEN_DIGIT_PREFIXES = ("020", "050", "060", "070", "080", "090", "0800")


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def normalize_name(value: str) -> str:
    value = nfkc(value)
    reject_control_characters(value)
    return re.sub(r"\s+", " ", value)


def normalize_kana(value: str) -> str:
    """Half-width kana and hiragana are accepted and stored as full-width katakana."""
    value = re.sub(r"\s+", "", nfkc(value))
    value = jaconv.hira2kata(value)
    if not KATAKANA_RE.match(value):
        raise ValidationError(_("カタカナで入力してください。"), code="kana")
    return value


def normalize_postal_code(value: str) -> str:
    """〒, spaces, hyphens and full-width digits are accepted; 7 digits are stored."""
    value = nfkc(value).replace("〒", "")
    value = DASHES_RE.sub("", re.sub(r"\s+", "", value))
    if not re.fullmatch(r"\d{7}", value):
        raise ValidationError(
            _("郵便番号は7桁の数字で入力してください(例: 753-0001)。"), code="postal_code"
        )
    return value


def normalize_phone(value: str) -> str:
    """Stored as digits only, in the domestic form: 0 followed by 9 or 10 digits.

    Accepts hyphens, spaces, brackets, full-width digits and the +81 international prefix.
    """
    value = nfkc(value)
    value = DASHES_RE.sub("", re.sub(r"[\s()]", "", value))
    if value.startswith("+81"):
        value = "0" + value[3:].lstrip("0")
    if not re.fullmatch(r"0\d{9,10}", value):
        raise ValidationError(
            _("電話番号は0から始まる10桁または11桁の数字で入力してください(例: 083-000-0000)。"),
            code="phone",
        )
    if len(value) == 11 and not value.startswith(ELEVEN_DIGIT_PREFIXES):
        # A landline has 10 digits; 11 are mobile, IP phone and 0800 numbers only.
        raise ValidationError(_("電話番号の桁数が正しくありません。"), code="phone")
    return value


def validate_birth_date(value: datetime.date, *, today: datetime.date) -> None:
    if value > today:
        raise ValidationError(_("生年月日に未来の日付は指定できません。"), code="future")
    # 29 February minus 120 years may not exist: compare on (year, month, day) instead.
    oldest = (today.year - MAX_AGE_YEARS, today.month, today.day)
    if (value.year, value.month, value.day) < oldest:
        raise ValidationError(_("生年月日をご確認ください。"), code="implausible")
