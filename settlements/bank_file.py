"""The 全銀協 総合振込 (種別コード 21) bank file: 120-byte records in cp932; a CSV alternative.

Ours, as no maintained Python writer exists; pure Python (no Django): the export, a staff
check and the tests share it. Layout as banks publish the 全銀協制定フォーマット, e.g.
群馬銀行's 「全銀協制定ファイルフォーマット【総合振込】」 (https://expydoc.com/doc/11700435/),
positions as in https://qiita.com/toruca/items/75e4b981933660842af8; characters: PCA's
全銀協使用可能文字 (https://pca.jp/area_support/manual/kk/Z1sanko/z1_zengin.html).
Each choice is noted where it is made.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass

from settlements import kana

ENCODING = "cp932"
RECORD_LENGTH = 120
# Banks read CRLF, LF or no separator at all (the spec's own 120-byte stream); CRLF is the common
# default of their upload screens. Every record, the end record too, is followed by it.
NEWLINES = ("\r\n", "\n", "")
MAX_TRANSFERS = 999_999  # 合計件数 is N(6)
MAX_AMOUNT = 9_999_999_999  # 振込金額 is N(10)
MAX_TOTAL = 999_999_999_999  # 合計金額 is N(12)

# The names' character set and the conversion from what people type are settlements.kana's
# (one place for both: the operator's form and this file agree by construction).
ZENGIN_CHARS = kana.ZENGIN_CHARACTERS

HEADER_ACCOUNT_TYPES = {"1": "普通", "2": "当座", "9": "その他"}
PAYEE_ACCOUNT_TYPES = {"1": "普通", "2": "当座", "4": "貯蓄"}
NEW_CODES = {"0": "その他", "1": "第1回振込分", "2": "変更分"}


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    start: int  # 1-based, as the spec prints it
    width: int
    # "N": ASCII digits, right-aligned, zero-filled; "C": ZENGIN_CHARS, left-aligned, space-filled.
    kind: str
    fixed: str | None = None

    @property
    def slice(self) -> slice:
        return slice(self.start - 1, self.start - 1 + self.width)


# The one table of the format: a test checks that each record type tiles positions 1-120.
LAYOUT: dict[str, tuple[Field, ...]] = {
    "header": (
        Field("data_kind", "データ区分", 1, 1, "N", "1"),
        Field("type_code", "種別コード", 2, 2, "N", "21"),  # 総合振込
        # JIS: kana as JIS X 0201, which are cp932's single bytes.
        Field("code_kind", "コード区分", 4, 1, "N", "0"),
        Field("consignor_code", "委託者コード", 5, 10, "N"),
        Field("consignor_name", "委託者名", 15, 40, "C"),
        Field("transfer_date", "振込指定日", 55, 4, "N"),  # MMDD
        Field("bank_code", "仕向銀行番号", 59, 4, "N"),
        Field("bank_name", "仕向銀行名", 63, 15, "C"),
        Field("branch_code", "仕向支店番号", 78, 3, "N"),
        Field("branch_name", "仕向支店名", 81, 15, "C"),
        Field("account_type", "預金種目(依頼人)", 96, 1, "N"),
        Field("account_number", "口座番号(依頼人)", 97, 7, "N"),
        Field("dummy", "ダミー", 104, 17, "C", " " * 17),
    ),
    "data": (
        Field("data_kind", "データ区分", 1, 1, "N", "2"),
        Field("bank_code", "被仕向銀行番号", 2, 4, "N"),
        Field("bank_name", "被仕向銀行名", 6, 15, "C"),
        Field("branch_code", "被仕向支店番号", 21, 3, "N"),
        Field("branch_name", "被仕向支店名", 24, 15, "C"),
        # Unused since the clearing houses closed; the spec says "未使用(0とする)", so zeros, which
        # also keeps the rule "every N field is digits" true for the reader below.
        Field("clearing_house", "手形交換所番号", 39, 4, "N", "0000"),
        Field("account_type", "預金種目", 43, 1, "N"),
        Field("account_number", "口座番号", 44, 7, "N"),
        Field("payee_name", "受取人名", 51, 30, "C"),
        Field("amount", "振込金額", 81, 10, "N"),
        Field("new_code", "新規コード", 91, 1, "N"),
        # 顧客コード rather than EDI情報: the shop's id and the statement's id come back on the
        # bank's statement, and EDI needs the payee's bank to take part.
        Field("customer_code1", "顧客コード1", 92, 10, "N"),
        Field("customer_code2", "顧客コード2", 102, 10, "N"),
        Field("transfer_kind", "振込指定区分", 112, 1, "N", "7"),  # テレ振込 (電信)
        Field("edi_flag", "識別表示", 113, 1, "C", " "),  # blank: 92-111 are 顧客コード
        Field("dummy", "ダミー", 114, 7, "C", " " * 7),
    ),
    "trailer": (
        Field("data_kind", "データ区分", 1, 1, "N", "8"),
        Field("count", "合計件数", 2, 6, "N"),
        Field("total", "合計金額", 8, 12, "N"),
        Field("dummy", "ダミー", 20, 101, "C", " " * 101),
    ),
    "end": (
        Field("data_kind", "データ区分", 1, 1, "N", "9"),
        Field("dummy", "ダミー", 2, 119, "C", " " * 119),
    ),
}
RECORD_NAMES = {"header": "ヘッダー", "data": "データ", "trailer": "トレーラー", "end": "エンド"}
_KIND_OF = {fields[0].fixed: kind for kind, fields in LAYOUT.items()}
_DATA_FIELDS = {field.key: field for field in LAYOUT["data"]}
_HEADER_FIELDS = {field.key: field for field in LAYOUT["header"]}


@dataclass(frozen=True, kw_only=True)
class Header:
    """The programme's side (委託者 and debit account): the caller reads it from settings."""

    consignor_code: str  # 委託者コード: the 10 digits the bank assigned
    consignor_name: str
    transfer_date: datetime.date
    bank_code: str
    bank_name: str = ""
    branch_code: str
    branch_name: str = ""
    account_type: int | str  # 1 普通, 2 当座, 9 その他
    account_number: str


@dataclass(frozen=True, kw_only=True)
class Transfer:
    """One payee. Bank and branch names are informational (banks route by code): cut to 15."""

    bank_code: str
    bank_name: str = ""
    branch_code: str
    branch_name: str = ""
    account_type: int | str  # 1 普通, 2 当座, 4 貯蓄
    account_number: str
    # As on the passbook, e.g. "ｶ)ﾔｵﾔ": company abbreviations are the bank's and the holder's
    # business, so only width, case and script are converted here, and over 30 is refused.
    payee_name: str
    amount: int  # yen
    new_code: int | str = 0  # 0 その他, 1 第1回振込分, 2 変更分
    customer_code1: str = ""  # by convention the shop's id
    customer_code2: str = ""  # by convention the statement's id


class NotZenginError(ValueError):
    """Characters the Zengin set cannot carry (kept so that callers can name the field)."""

    def __init__(self, chars: list[str]):
        self.chars = chars
        super().__init__(f"全銀で使えない文字があります: {_listed(chars)}")


def _listed(chars: list[str]) -> str:
    return "、".join(repr(char) for char in chars)


def normalize_kana(text: str) -> str:
    """What people type, in the Zengin set: ヤマダ　タロウ → ﾔﾏﾀﾞ ﾀﾛｳ (or NotZenginError)."""
    result = kana.normalize_kana(text)
    if not ZENGIN_CHARS.issuperset(result):
        # Named as typed (㈱, not the 株 it decomposes into), so that staff find it.
        bad = [c for c in dict.fromkeys(text) if kana.first_uncarriable(c)]
        raise NotZenginError(bad or [c for c in dict.fromkeys(result) if c not in ZENGIN_CHARS])
    return result


# Checks shared by the fixed-length file and the CSV: both carry the same, cleaned values.


def _digits(where: str, label: str, value: object, width: int, *, exact: bool = True) -> str:
    text = str(value)
    fits = len(text) == width if exact else len(text) <= width
    if not (fits and text.isascii() and (text.isdigit() or (not exact and not text))):
        size = f"{width}桁" if exact else f"{width}桁以内"
        raise ValueError(f"{where}の{label}は半角数字{size}にしてください: '{text}'")
    return text


def _choice(where: str, label: str, value: object, choices: dict[str, str]) -> str:
    text = str(value)
    if text not in choices:
        allowed = "・".join(f"{code}({name})" for code, name in choices.items())
        raise ValueError(f"{where}の{label}は{allowed}のいずれかにしてください: '{text}'")
    return text


def _text(
    where: str, field: Field, value: str, *, required: bool = False, truncate: bool = False
) -> str:
    try:
        text = normalize_kana(value)
    except NotZenginError as error:
        raise ValueError(
            f"{where}の{field.label}に全銀で使えない文字があります: {_listed(error.chars)}"
            "(使えるのはカナ・英大文字・数字・スペースと ( ) . - です)"
        ) from None
    if required and not text:
        raise ValueError(f"{where}の{field.label}が空です")
    if len(text) > field.width:
        if not truncate:
            raise ValueError(
                f"{where}の{field.label}が{field.width}文字を超えています"
                f"({len(text)}文字): '{text}'"
            )
        text = text[: field.width].rstrip()
    return text


def _header_values(header: Header) -> dict[str, str]:
    where, f = "ヘッダー", _HEADER_FIELDS
    if not isinstance(header.transfer_date, datetime.date):
        raise ValueError(f"{where}の振込指定日は日付にしてください: '{header.transfer_date}'")
    return {
        "consignor_code": _digits(where, f["consignor_code"].label, header.consignor_code, 10),
        "consignor_name": _text(where, f["consignor_name"], header.consignor_name, required=True),
        "transfer_date": header.transfer_date.strftime("%m%d"),
        "bank_code": _digits(where, f["bank_code"].label, header.bank_code, 4),
        "bank_name": _text(where, f["bank_name"], header.bank_name, truncate=True),
        "branch_code": _digits(where, f["branch_code"].label, header.branch_code, 3),
        "branch_name": _text(where, f["branch_name"], header.branch_name, truncate=True),
        "account_type": _choice(
            where, f["account_type"].label, header.account_type, HEADER_ACCOUNT_TYPES
        ),
        "account_number": _digits(where, f["account_number"].label, header.account_number, 7),
    }


def _transfer_values(number: int, transfer: Transfer) -> dict[str, str]:
    where, f = f"{number}件目", _DATA_FIELDS
    amount = transfer.amount
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"{where}の振込金額は円の整数にしてください: '{amount}'")
    if amount <= 0:
        raise ValueError(f"{where}の振込金額は1円以上にしてください: {amount}")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{where}の振込金額が10桁を超えています: {amount}")
    return {
        "bank_code": _digits(where, f["bank_code"].label, transfer.bank_code, 4),
        "bank_name": _text(where, f["bank_name"], transfer.bank_name, truncate=True),
        "branch_code": _digits(where, f["branch_code"].label, transfer.branch_code, 3),
        "branch_name": _text(where, f["branch_name"], transfer.branch_name, truncate=True),
        "account_type": _choice(
            where, f["account_type"].label, transfer.account_type, PAYEE_ACCOUNT_TYPES
        ),
        "account_number": _digits(where, f["account_number"].label, transfer.account_number, 7),
        "payee_name": _text(where, f["payee_name"], transfer.payee_name, required=True),
        "amount": str(amount),
        "new_code": _choice(where, f["new_code"].label, transfer.new_code, NEW_CODES),
        "customer_code1": _digits(
            where, f["customer_code1"].label, transfer.customer_code1, 10, exact=False
        ),
        "customer_code2": _digits(
            where, f["customer_code2"].label, transfer.customer_code2, 10, exact=False
        ),
    }


def _checked(
    header: Header, transfers: Iterable[Transfer]
) -> tuple[dict[str, str], list[dict[str, str]]]:
    transfers = list(transfers)
    if not transfers:
        raise ValueError("振込データが1件もありません")
    if len(transfers) > MAX_TRANSFERS:
        raise ValueError(
            f"1つのファイルに入る振込は{MAX_TRANSFERS:,}件までです: {len(transfers):,}件"
        )
    head = _header_values(header)
    rows = [_transfer_values(number, t) for number, t in enumerate(transfers, start=1)]
    total = sum(int(row["amount"]) for row in rows)
    if total > MAX_TOTAL:
        raise ValueError(f"合計金額が12桁を超えています: {total:,}円(ファイルを分けてください)")
    return head, rows


def _record(kind: str, values: dict[str, str]) -> str:
    parts = []
    for field in LAYOUT[kind]:
        if field.fixed is not None:
            parts.append(field.fixed)
        elif field.kind == "N":
            parts.append(values[field.key].rjust(field.width, "0"))
        else:
            parts.append(values[field.key].ljust(field.width))
    return "".join(parts)


def render(header: Header, transfers: Iterable[Transfer], *, newline: str = "\r\n") -> bytes:
    """The whole file; ValueError in Japanese, naming record and field, if anything won't fit."""
    if newline not in NEWLINES:
        raise ValueError(f"改行は CRLF・LF・なし のいずれかにしてください: {newline!r}")
    head, rows = _checked(header, transfers)
    totals = {"count": str(len(rows)), "total": str(sum(int(row["amount"]) for row in rows))}
    records = [_record("header", head)]
    records.extend(_record("data", row) for row in rows)
    records += [_record("trailer", totals), _record("end", {})]
    return "".join(record + newline for record in records).encode(ENCODING)


def render_csv(header: Header, transfers: Iterable[Transfer]) -> str:
    """The bank-independent alternative: one row per transfer, Japanese headings, BOM for Excel.

    Same checks and values as render(). Encode it as UTF-8; codes keep their leading zeros in the
    file (Excel shows 0005 as 5 when it opens a CSV directly, the banks' importers do not).
    """
    _, rows = _checked(header, transfers)
    fields = [f for f in LAYOUT["data"] if f.fixed is None]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_HEADER_FIELDS["transfer_date"].label, *(f.label for f in fields)])
    day = header.transfer_date.isoformat()
    for row in rows:
        writer.writerow([day, *(row[f.key] for f in fields)])
    return out.getvalue()


@dataclass(frozen=True)
class ParsedFile:
    """A file read back: each record's fields by key (digits as written, names without padding)."""

    header: dict[str, str]
    transfers: list[dict[str, str]]
    count: int
    total: int


# Which データ区分 may follow which: header, one or more data, trailer, end, nothing after.
_NEXT = {"": "1", "1": "2", "2": "28", "8": "9", "9": ""}


def _split(data: bytes) -> list[bytes]:
    if b"\n" not in data:
        return [data[i : i + RECORD_LENGTH] for i in range(0, len(data), RECORD_LENGTH)]
    chunks = data.split(b"\r\n" if b"\r\n" in data else b"\n")
    if chunks[-1] == b"":
        chunks.pop()
    return chunks


def _fields(line: int, kind: str, text: str) -> dict[str, str]:
    where = f"{line}行目({RECORD_NAMES[kind]})"
    values = {}
    for field in LAYOUT[kind]:
        value = text[field.slice]
        if field.fixed is not None:
            if value != field.fixed:
                raise ValueError(
                    f"{where}の{field.label}が'{value}'です: '{field.fixed}'のはずです"
                )
        elif field.kind == "N":
            if not (value.isascii() and value.isdigit()):
                raise ValueError(f"{where}の{field.label}が数字ではありません: '{value}'")
            values[field.key] = value
        else:
            bad = [char for char in dict.fromkeys(value) if char not in ZENGIN_CHARS]
            if bad:
                raise ValueError(
                    f"{where}の{field.label}に全銀で使えない文字があります: {_listed(bad)}"
                )
            values[field.key] = value.rstrip()
    return values


def parse(data: bytes) -> ParsedFile:
    """Reads a file back, checking it as a bank would: ValueError naming the line if wrong."""
    if not data:
        raise ValueError("ファイルが空です")
    records: dict[str, list[dict[str, str]]] = {kind: [] for kind in LAYOUT}
    previous = ""
    for line, chunk in enumerate(_split(data), start=1):
        if len(chunk) != RECORD_LENGTH:
            raise ValueError(f"{line}行目が{len(chunk)}バイトです: {RECORD_LENGTH}バイトのはずです")
        try:
            text = chunk.decode(ENCODING)
        except UnicodeDecodeError:
            raise ValueError(f"{line}行目にShift_JISで読めないバイトがあります") from None
        if len(text) != RECORD_LENGTH:
            raise ValueError(f"{line}行目に全角文字があります: 半角文字だけのはずです")
        allowed = _NEXT[previous]
        if text[0] not in allowed:
            if not allowed:
                raise ValueError(f"{line}行目: エンド・レコードの後にレコードがあります")
            expected = "・".join(RECORD_NAMES[_KIND_OF[kind]] for kind in allowed)
            raise ValueError(
                f"{line}行目のデータ区分'{text[0]}'は順序が違います: ここは{expected}のはずです"
            )
        previous = text[0]
        kind = _KIND_OF[previous]
        records[kind].append(_fields(line, kind, text))
    if previous != "9":
        raise ValueError("ファイルがエンド・レコードで終わっていません")

    header, transfers, trailer = records["header"][0], records["data"], records["trailer"][0]
    month, day = int(header["transfer_date"][:2]), int(header["transfer_date"][2:])
    try:
        datetime.date(2000, month, day)  # a leap year, so that 0229 passes
    except ValueError:
        raise ValueError(
            f"ヘッダーの振込指定日が日付ではありません: '{header['transfer_date']}'"
        ) from None
    _choice("ヘッダー", "預金種目", header["account_type"], HEADER_ACCOUNT_TYPES)
    for number, row in enumerate(transfers, start=1):
        _choice(f"{number}件目", "預金種目", row["account_type"], PAYEE_ACCOUNT_TYPES)
        _choice(f"{number}件目", "新規コード", row["new_code"], NEW_CODES)
        if int(row["amount"]) == 0:
            raise ValueError(f"{number}件目の振込金額が0円です")
    count, total = int(trailer["count"]), int(trailer["total"])
    if count != len(transfers):
        raise ValueError(
            f"トレーラーの合計件数({count})がデータの件数({len(transfers)})と合いません"
        )
    actual = sum(int(row["amount"]) for row in transfers)
    if total != actual:
        raise ValueError(
            f"トレーラーの合計金額({total:,}円)がデータの合計({actual:,}円)と合いません"
        )
    return ParsedFile(header=header, transfers=transfers, count=count, total=total)
