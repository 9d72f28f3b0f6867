import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlements.kana import (
    ZENGIN_CHARACTERS,
    describe_character,
    first_uncarriable,
    normalize_kana,
)


@pytest.mark.parametrize(
    ("typed", "bank_form"),
    [
        ("やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # hiragana, a full-width space
        ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # already the bank's form
        ("  ヤマダ   タロウ ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # spaces trimmed and single
        ("きゅうよ　しょうご", "ｷﾕｳﾖ ｼﾖｳｺﾞ"),  # small kana written large, as banks do
        ("カ）キューピー", "ｶ)ｷﾕ-ﾋﾟ-"),  # long vowel as a hyphen, full-width bracket
        ("ｶ)ｷｭｰﾋﾟｰ", "ｶ)ｷﾕ-ﾋﾟ-"),
        ("ヴィクトリア", "ｳﾞｲｸﾄﾘｱ"),
        ("ヲガタ", "ｵｶﾞﾀ"),
        ("ヷ", "ﾜﾞ"),
        ("ＡＢＣ　ｓｈｏｐ１２３", "ABC SHOP123"),  # full-width letters and digits, lower case
        ("ミツビシユ－エフジエイ", "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ"),  # the zengin-code data's own spelling
    ],
)
def test_what_people_type_becomes_the_banks_half_width_form(typed, bank_form):
    assert normalize_kana(typed) == bank_form
    assert first_uncarriable(typed) is None


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("ヤマダ・タロウ", "・"),  # named as typed, not as the half-width ･ it becomes
        ("山田 太郎", "山"),
        ("ヤマダ商店", "商"),
        ("㈱ヤマダ", "㈱"),
        ("ヤマダ,タロウ", ","),
        ("ヤマダ/タロウ", "/"),  # the bank file's set is the narrowest every bank accepts
        ("ヤマダ「タロウ」", "「"),
        ("ﾔﾏﾀﾞ\x00", "\x00"),
        ("ヤマダ\u200bタロウ", "\u200b"),
        ("ヤマダ😀", "😀"),
    ],
)
def test_the_first_character_no_bank_carries_is_named_as_typed(typed, named):
    assert first_uncarriable(typed) == named


def test_runs_of_spaces_and_tabs_become_one_space():
    assert normalize_kana("ヤオヤ\t\u3000 サン") == "ﾔｵﾔ ｻﾝ"


def test_invisible_characters_are_described_by_code_point():
    assert describe_character("\x00") == "U+0000"
    assert describe_character("\u200b") == "U+200B"
    assert describe_character("\u3000") == "U+3000"
    assert describe_character("・") == "・"
    assert describe_character(" ") == " "


def test_the_banks_set_keeps_out_what_some_banks_refuse():
    for char in "ｦｧｯｬｰ･｢｣,¥\\abc":
        assert char not in ZENGIN_CHARACTERS, char


kana = st.text(
    alphabet=st.sampled_from(
        [chr(c) for c in range(0x3041, 0x3097)]  # hiragana
        + [chr(c) for c in range(0x30A1, 0x30FB)]  # katakana
        + [chr(c) for c in range(0xFF66, 0xFF9E)]  # half-width katakana
        + list("ー　 ()-.ABCabc0123456789ＡＺａｚ０９")
    ),
    max_size=40,
)


@given(kana)
def test_any_kana_typed_normalises_into_the_banks_set(text):
    assert first_uncarriable(text) is None
    assert set(normalize_kana(text)) <= ZENGIN_CHARACTERS
    assert normalize_kana(normalize_kana(text)) == normalize_kana(text)  # stable
