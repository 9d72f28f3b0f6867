"""Account holders' names as banks carry them: half-width katakana from what people type.

Transfers between Japanese banks (the 全銀 system) carry names in a small character set of
half-width katakana, capital letters, digits and a few symbols. People type hiragana,
full-width katakana, small kana or lower case; `normalize_kana` turns that into the bank's
form, and `first_uncarriable` names the first typed character that still cannot be sent.
"""

import re
import unicodedata

import jaconv

# The characters every bank accepts in a payee's name (全銀協's set, without the symbols some
# banks refuse: 「」, ¥, comma, slash). The one list of them in kaika: the bank file
# (settlements.bank_file) writes names in it, and the operator's form checks them against it.
ZENGIN_CHARACTERS = frozenset(
    "".join(
        (
            "0123456789",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝﾞﾟ",
            " ().-",
        )
    )
)

# Banks' own rules for names: small kana are written large (ｷﾕｳ, not ｷｭｳ), the old ヰヱヲ as
# イエオ, and the long-vowel mark as a hyphen (the bank's own data writes ユ－エフジエイ).
_BANK_SPELLING = str.maketrans(
    {
        **dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ", strict=True)),
        **dict(zip("ヰヱヲ", "イエオ", strict=True)),
        **dict.fromkeys("ー‐‑‒–—―−ｰ", "-"),
        # Voiced ワヰヱヲ, which half-width kana has no single character for.
        **dict(zip("ヷヸヹヺ", ("ワ\u3099", "イ\u3099", "エ\u3099", "オ\u3099"), strict=True)),
    }
)
# A voiced mark left apart from its kana (after one that cannot take it) as the half-width one.
_MARKS = str.maketrans({"\u3099": "ﾞ", "\u309a": "ﾟ"})
_SPACES = re.compile(r"\s+")


def normalize_kana(text: str) -> str:
    """What a person typed, as the bank spells it: `やまだ　たろう` → `ﾔﾏﾀﾞ ﾀﾛｳ`,
    `ｶ）ｷｭｰﾋﾟｰ` → `ｶ)ｷﾕ-ﾋﾟ-`. Characters it cannot turn into the bank's set are left as
    they are, for `first_uncarriable` to name."""
    # NFKC first: half-width kana become full-width (ｶﾞ → ガ, one character), full-width
    # letters and digits become ASCII, so that every later step sees one form of each.
    text = jaconv.hira2kata(unicodedata.normalize("NFKC", text))
    text = text.translate(_BANK_SPELLING).upper()
    text = jaconv.z2h(text, kana=True, ascii=True, digit=True).translate(_MARKS)
    return _SPACES.sub(" ", text).strip()


def first_uncarriable(typed: str) -> str | None:
    """The first character of what was typed that no bank would carry once normalised, as
    the person typed it (`・`, not the half-width `･` it becomes), or None."""
    normalized = normalize_kana(typed)
    if all(char in ZENGIN_CHARACTERS for char in normalized):
        return None
    for char in typed:
        if any(c not in ZENGIN_CHARACTERS for c in normalize_kana(char)):
            return char
    # Only a combination is refused (a lone combining mark): name it as normalised.
    return next(char for char in normalized if char not in ZENGIN_CHARACTERS)


def describe_character(char: str) -> str:
    """A character as a person can read it in an error message (control characters and
    spaces other than the plain one by their code point)."""
    if char.isprintable() and not (char.isspace() and char != " "):
        return char
    return f"U+{ord(char):04X}"
