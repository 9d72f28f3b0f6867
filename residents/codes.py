"""What a resident types, made comparable, and the keyed hash a code is stored as.

A code is kept only as an HMAC keyed from SECRET_KEY: a copy of the database alone gives no
usable code. Its last characters are kept as a hint, for staff to tell codes apart.
"""

import re
import unicodedata

from django.conf import settings
from django.utils.crypto import salted_hmac

MIN_LENGTH, MAX_LENGTH = 8, 32
HINT_LENGTH = 3
CODE_RE = re.compile(rf"[0-9A-Z]{{{MIN_LENGTH},{MAX_LENGTH}}}")
# Hyphens and dashes as typed from a letter, by phone keyboards and Japanese IMEs (the long
# vowel mark ー included), and spaces; NFKC has already turned the full-width ones half-width.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー‐﹣_・.]")
_SALT = "kaika.residents.code"


def normalize(typed: str) -> str:
    """`ａｂ１２－３４` and `AB12 34` alike become `AB1234`: full-width to half-width,
    separators and spaces dropped, letters upper-cased. Not checked for format."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed)).upper()


def is_well_formed(code: str) -> bool:
    return CODE_RE.fullmatch(code) is not None


def digest(code: str, *, secret: str | None = None) -> str:
    return salted_hmac(_SALT, code, secret=secret, algorithm="sha256").hexdigest()


def digests(code: str) -> list[str]:
    """The code's hash under SECRET_KEY and under each SECRET_KEY_FALLBACKS entry: codes
    imported before a key rotation still match, as Django's signed cookies do."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [digest(code, secret=key) for key in keys]


def hint(code: str) -> str:
    return code[-HINT_LENGTH:]
