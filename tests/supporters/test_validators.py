import datetime

import pytest
from django.core.exceptions import ValidationError

from supporters import validators

TODAY = datetime.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ヤマダ", "ヤマダ"),
        ("やまだ", "ヤマダ"),  # hiragana becomes katakana
        ("ﾔﾏﾀﾞ", "ヤマダ"),  # half-width kana with a voiced mark, NFKC-joined
        ("  ヤマ ダ ", "ヤマダ"),  # spaces dropped
        ("ヴィクトリア", "ヴィクトリア"),
        ("サトー", "サトー"),  # the long vowel mark is kana
        ("ｻﾄｰ", "サトー"),
    ],
)
def test_kana_is_normalised_to_full_width_katakana(typed, stored):
    assert validators.normalize_kana(typed) == stored


@pytest.mark.parametrize("typed", ["山田", "Yamada", "ヤマダ1", "", "ヤマダ!", "ヤマ\x00ダ"])
def test_kana_refuses_anything_but_kana(typed):
    with pytest.raises(ValidationError) as error:
        validators.normalize_kana(typed)
    assert "カタカナ" in error.value.messages[0]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("7530001", "7530001"),
        ("753-0001", "7530001"),
        ("〒753-0001", "7530001"),
        ("〒 753-0001", "7530001"),
        ("７５３－０００１", "7530001"),  # full-width digits and hyphen
        ("７５３ー０００１", "7530001"),  # the katakana long mark typed as a hyphen
        ("753‐0001", "7530001"),  # U+2010 hyphen
        ("753−0001", "7530001"),  # U+2212 minus
    ],
)
def test_postal_code_accepts_the_usual_forms_and_stores_seven_digits(typed, stored):
    assert validators.normalize_postal_code(typed) == stored


@pytest.mark.parametrize("typed", ["753001", "75300011", "753-00a1", "", "〒", "753--0001x"])
def test_postal_code_refuses_anything_but_seven_digits(typed):
    with pytest.raises(ValidationError) as error:
        validators.normalize_postal_code(typed)
    assert "7桁" in error.value.messages[0]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("083-922-3111", "0839223111"),  # landline, 10 digits
        ("(083)922-3111", "0839223111"),
        ("090-1234-5678", "09012345678"),  # mobile, 11 digits
        ("０９０－１２３４－５６７８", "09012345678"),
        ("090 1234 5678", "09012345678"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81-83-922-3111", "0839223111"),
        ("050-1234-5678", "05012345678"),
        ("0120-123-456", "0120123456"),
        ("0800-123-4567", "08001234567"),
    ],
)
def test_phone_accepts_the_usual_japanese_forms_and_stores_digits(typed, stored):
    assert validators.normalize_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "083-922-311", "090-1234-56789", "1234567890", "083-922-3111x", "03-1234-56789"],
)
def test_phone_refuses_wrong_lengths_and_letters(typed):
    with pytest.raises(ValidationError) as error:
        validators.normalize_phone(typed)
    assert "電話番号" in error.value.messages[0]


def test_birth_date_today_is_accepted_and_tomorrow_refused():
    validators.validate_birth_date(TODAY, today=TODAY)
    with pytest.raises(ValidationError, match="未来"):
        validators.validate_birth_date(TODAY + datetime.timedelta(days=1), today=TODAY)


def test_birth_date_exactly_120_years_ago_is_accepted_and_a_day_earlier_refused():
    validators.validate_birth_date(datetime.date(1906, 11, 25), today=TODAY)
    with pytest.raises(ValidationError, match="生年月日"):
        validators.validate_birth_date(datetime.date(1906, 11, 24), today=TODAY)


def test_birth_date_check_survives_a_29_february_today():
    validators.validate_birth_date(datetime.date(1908, 2, 29), today=datetime.date(2028, 2, 29))


@pytest.mark.parametrize("typed", ["山田\x00", "山田\x1b[0m", "山\x7f田"])
def test_names_refuse_control_characters(typed):
    with pytest.raises(ValidationError, match="制御文字"):
        validators.normalize_name(typed)


def test_names_are_nfkc_normalised_and_trimmed():
    assert validators.normalize_name("  ﾔﾏﾀﾞ　太郎  ") == "ヤマダ 太郎"
