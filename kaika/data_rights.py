"""Supporters' rights over their data (Japan's Act on the Protection of Personal Information):
everything held about a person, to download; and erasure when they leave.

Each app that holds personal data registers its part (export and erasure side by side) from
its AppConfig.ready(), so that kaika knows no app and a new model with personal data has one
obvious place to be added: its app's data_rights.py. supporters collects them all.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Forfeit:
    """Something of value the person gives up by leaving: yen left to spend at a shop."""

    label: str
    yen: int


@dataclass(frozen=True)
class Part:
    export: Callable[[Any], dict[str, Any]]  # user -> {key in the download: data}
    erase: Callable[[Any], None] | None  # None: kept (for accounting), never erased
    # (user, today) -> what leaving gives up, shown on the deletion page before they confirm.
    forfeits: Callable[[Any, Any], list[Forfeit]] | None = None


_parts: dict[str, Part] = {}


def register(app_label: str, *, export, erase=None, forfeits=None) -> None:
    _parts[app_label] = Part(export, erase, forfeits)


def iso(value) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_user_data(*, user) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for part in _parts.values():
        data.update(part.export(user))
    return data


def erase_user_data(*, user) -> None:
    for part in _parts.values():
        if part.erase is not None:
            part.erase(user)


def forfeits_on_erasure(*, user, today) -> list[Forfeit]:
    found: list[Forfeit] = []
    for part in _parts.values():
        if part.forfeits is not None:
            found.extend(part.forfeits(user, today))
    return found
