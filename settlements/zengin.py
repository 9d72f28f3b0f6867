"""Banks and branches by code, from the data of the `zengin-code` package (全銀協's list of
financial institutions and branches, released monthly; the version is pinned in
constraints.txt and moved by `make constraints`).

The package's JSON files are read one bank at a time: importing `zengin_code` itself loads
every bank and all their branches (about a second and 16 MB in every process).
"""

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

from settlements.kana import normalize_kana

BANK_CODE_RE = re.compile(r"\d{4}")
BRANCH_CODE_RE = re.compile(r"\d{3}")


def _data_dir() -> Path:
    # find_spec locates the package without running its __init__ (the full load above).
    spec = importlib.util.find_spec("zengin_code")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("zengin-code is not installed (pip install -c constraints.txt -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "source-data" / "data"


@dataclass(frozen=True)
class Bank:
    code: str
    name: str
    kana: str  # half-width, as a bank file writes it (normalize_kana)


@dataclass(frozen=True)
class Branch:
    bank: Bank
    code: str
    name: str
    kana: str


def _read(*path: str) -> dict:
    return json.loads(_data_dir().joinpath(*path).read_text(encoding="utf-8"))


@functools.cache
def _banks() -> dict[str, dict]:
    return _read("banks.json")


@functools.lru_cache(maxsize=128)
def _branches(bank_code: str) -> dict[str, dict]:
    try:
        return _read("branches", f"{bank_code}.json")
    except FileNotFoundError:  # a bank listed without its branches: none can be checked
        return {}


def data_version() -> str:
    """The date of the data (e.g. 20260824), as the package names it."""
    return _data_dir().joinpath("updated_at").read_text(encoding="utf-8").strip()


def find_bank(code: str) -> Bank | None:
    # The code names a file below: only four digits that the list knows get that far.
    if not BANK_CODE_RE.fullmatch(code) or code not in _banks():
        return None
    row = _banks()[code]
    return Bank(code=code, name=row["name"], kana=normalize_kana(row["kana"]))


def find_branch(bank: Bank, code: str) -> Branch | None:
    if not BRANCH_CODE_RE.fullmatch(code):
        return None
    row = _branches(bank.code).get(code)
    if row is None:
        return None
    return Branch(bank=bank, code=code, name=row["name"], kana=normalize_kana(row["kana"]))
