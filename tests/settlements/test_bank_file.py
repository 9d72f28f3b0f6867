"""The 全銀協 総合振込 file, field by field against records built by hand from the spec."""

import csv
import dataclasses
import datetime
import io
import subprocess
import sys

import pytest

from settlements.bank_file import (
    LAYOUT,
    RECORD_LENGTH,
    Header,
    NotZenginError,
    Transfer,
    normalize_kana,
    parse,
    render,
    render_csv,
)

HEADER = Header(
    consignor_code="1234567890",
    consignor_name="カイカ　ジムキヨク",  # full-width, as settings may hold it
    transfer_date=datetime.date(2026, 12, 25),
    bank_code="0001",
    bank_name="ミズホ",
    branch_code="001",
    branch_name="トウキヨウエイギヨウブ",
    account_type=1,
    account_number="1234567",
)
TRANSFERS = [
    Transfer(
        bank_code="0009",
        bank_name="ミツイスミトモ",
        branch_code="123",
        branch_name="マチダ",
        account_type=1,
        account_number="0001234",
        payee_name="ヤマダ　タロウ",
        amount=123_456,
        customer_code1="42",
        customer_code2="20261215",
    ),
    Transfer(
        bank_code="0005",
        bank_name="ミツビシユーエフジエイギンコウ",  # 18 once half-width: cut to 15
        branch_code="002",
        branch_name="ほんてん",  # hiragana
        account_type="2",
        account_number="7654321",
        payee_name="（カ）ヤオヤ",
        amount=1_000_000,
        new_code=1,
        customer_code1=7,
    ),
]

# Each field written out by hand from the spec's table, in order; the comment gives its width.
EXPECTED = {
    "header": {
        "data_kind": "1",  # 1: ヘッダー
        "type_code": "21",  # 2: 総合振込
        "code_kind": "0",  # 1: JIS
        "consignor_code": "1234567890",  # 10
        "consignor_name": "ｶｲｶ ｼﾞﾑｷﾖｸ" + " " * 30,  # 40: 10 characters (ﾞ is one) + 30
        "transfer_date": "1225",  # 4: MMDD
        "bank_code": "0001",  # 4
        "bank_name": "ﾐｽﾞﾎ" + " " * 11,  # 15: 4 + 11
        "branch_code": "001",  # 3
        "branch_name": "ﾄｳｷﾖｳｴｲｷﾞﾖｳﾌﾞ" + " " * 2,  # 15: 13 + 2
        "account_type": "1",  # 1: 普通
        "account_number": "1234567",  # 7
        "dummy": " " * 17,  # 17
    },
    "data1": {
        "data_kind": "2",  # 1: データ
        "bank_code": "0009",  # 4
        "bank_name": "ﾐﾂｲｽﾐﾄﾓ" + " " * 8,  # 15: 7 + 8
        "branch_code": "123",  # 3
        "branch_name": "ﾏﾁﾀﾞ" + " " * 11,  # 15: 4 + 11
        "clearing_house": "0000",  # 4: unused, 0
        "account_type": "1",  # 1: 普通
        "account_number": "0001234",  # 7
        "payee_name": "ﾔﾏﾀﾞ ﾀﾛｳ" + " " * 22,  # 30: 8 + 22
        "amount": "0000123456",  # 10: zero-filled
        "new_code": "0",  # 1: その他
        "customer_code1": "0000000042",  # 10: the shop's id
        "customer_code2": "0020261215",  # 10: the statement's id
        "transfer_kind": "7",  # 1: テレ振込
        "edi_flag": " ",  # 1: blank, so 92-111 are 顧客コード
        "dummy": " " * 7,  # 7
    },
    "data2": {
        "data_kind": "2",
        "bank_code": "0005",
        "bank_name": "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲｷﾞ",  # 15: ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲｷﾞﾝｺｳ cut, ー as -
        "branch_code": "002",
        "branch_name": "ﾎﾝﾃﾝ" + " " * 11,  # 15: 4 + 11
        "clearing_house": "0000",
        "account_type": "2",  # 当座
        "account_number": "7654321",
        "payee_name": "(ｶ)ﾔｵﾔ" + " " * 24,  # 30: 6 + 24
        "amount": "0001000000",
        "new_code": "1",  # 第1回振込分
        "customer_code1": "0000000007",
        "customer_code2": "0000000000",  # none given
        "transfer_kind": "7",
        "edi_flag": " ",
        "dummy": " " * 7,
    },
    "trailer": {
        "data_kind": "8",  # 1: トレーラー
        "count": "000002",  # 6
        "total": "000001123456",  # 12: 123,456 + 1,000,000
        "dummy": " " * 101,  # 101
    },
    "end": {
        "data_kind": "9",  # 1: エンド
        "dummy": " " * 119,  # 119
    },
}
KINDS = {"header": "header", "data1": "data", "data2": "data", "trailer": "trailer", "end": "end"}
ORDER = ["header", "data1", "data2", "trailer", "end"]


def hand_built(name: str) -> str:
    record = "".join(EXPECTED[name].values())
    assert len(record) == RECORD_LENGTH
    return record


def rendered_lines(**kwargs) -> list[str]:
    return render(HEADER, TRANSFERS, **kwargs).decode("cp932").split("\r\n")


def with_transfer(**changes) -> list[Transfer]:
    return [dataclasses.replace(TRANSFERS[0], **changes), TRANSFERS[1]]


@pytest.mark.parametrize("kind", LAYOUT)
def test_each_record_layout_covers_positions_1_to_120_without_gap_or_overlap(kind):
    position = 1
    for field in LAYOUT[kind]:
        assert field.start == position, field
        assert field.kind in {"N", "C"}
        assert field.fixed is None or len(field.fixed) == field.width
        position += field.width
    assert position == RECORD_LENGTH + 1


def test_the_file_is_the_hand_built_records_each_followed_by_crlf():
    expected = "".join(hand_built(name) + "\r\n" for name in ORDER).encode("cp932")
    assert render(HEADER, TRANSFERS) == expected


@pytest.mark.parametrize(
    ("name", "key"),
    [(name, key) for name in ORDER for key in EXPECTED[name]],
    ids=lambda value: value,
)
def test_every_field_sits_at_its_position_in_the_rendered_record(name, key):
    line = rendered_lines()[ORDER.index(name)]
    field = next(f for f in LAYOUT[KINDS[name]] if f.key == key)
    assert line[field.slice] == EXPECTED[name][key]


def test_every_record_is_120_bytes_of_cp932():
    data = render(HEADER, TRANSFERS, newline="")
    assert len(data) == 5 * RECORD_LENGTH
    assert data.decode("cp932") == "".join(hand_built(name) for name in ORDER)


@pytest.mark.parametrize(("newline", "extra"), [("\r\n", 2), ("\n", 1), ("", 0)])
def test_the_newline_is_a_parameter_and_every_layout_reads_back(newline, extra):
    data = render(HEADER, TRANSFERS, newline=newline)
    assert len(data) == 5 * (RECORD_LENGTH + extra)
    assert parse(data).count == 2


def test_an_unknown_newline_is_refused():
    with pytest.raises(ValueError, match="改行"):
        render(HEADER, TRANSFERS, newline="\r")


def test_render_then_parse_gives_back_every_value():
    parsed = parse(render(HEADER, TRANSFERS))
    assert parsed.header == {
        "consignor_code": "1234567890",
        "consignor_name": "ｶｲｶ ｼﾞﾑｷﾖｸ",
        "transfer_date": "1225",
        "bank_code": "0001",
        "bank_name": "ﾐｽﾞﾎ",
        "branch_code": "001",
        "branch_name": "ﾄｳｷﾖｳｴｲｷﾞﾖｳﾌﾞ",
        "account_type": "1",
        "account_number": "1234567",
    }
    first, second = parsed.transfers
    assert first == {
        "bank_code": "0009",
        "bank_name": "ﾐﾂｲｽﾐﾄﾓ",
        "branch_code": "123",
        "branch_name": "ﾏﾁﾀﾞ",
        "account_type": "1",
        "account_number": "0001234",
        "payee_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
        "amount": "0000123456",
        "new_code": "0",
        "customer_code1": "0000000042",
        "customer_code2": "0020261215",
    }
    assert second["payee_name"] == "(ｶ)ﾔｵﾔ"
    assert int(second["amount"]) == 1_000_000
    assert (parsed.count, parsed.total) == (2, 1_123_456)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bank_code": "009"}, "1件目の被仕向銀行番号は半角数字4桁にしてください: '009'"),
        ({"bank_code": "０００９"}, "1件目の被仕向銀行番号は半角数字4桁にしてください"),
        ({"branch_code": "1234"}, "1件目の被仕向支店番号は半角数字3桁にしてください"),
        ({"account_number": "123456"}, "1件目の口座番号は半角数字7桁にしてください"),
        ({"account_number": "12345678"}, "1件目の口座番号は半角数字7桁にしてください"),
        ({"account_number": "123-456"}, "1件目の口座番号は半角数字7桁にしてください"),
        ({"account_type": 3}, "1件目の預金種目は1(普通)・2(当座)・4(貯蓄)のいずれか"),
        ({"new_code": 3}, "1件目の新規コードは0(その他)・1(第1回振込分)・2(変更分)のいずれか"),
        ({"customer_code1": "12345678901"}, "1件目の顧客コード1は半角数字10桁以内"),
        ({"customer_code2": "A1"}, "1件目の顧客コード2は半角数字10桁以内"),
        (
            {"payee_name": "山田　太郎"},
            "1件目の受取人名に全銀で使えない文字があります: '山'、'田'、'太'、'郎'",
        ),
        ({"payee_name": "ヤマダ・タロウ"}, "1件目の受取人名に全銀で使えない文字があります: '・'"),
        ({"payee_name": "　"}, "1件目の受取人名が空です"),
        ({"payee_name": "ア" * 31}, "1件目の受取人名が30文字を超えています(31文字)"),
        ({"payee_name": "ガ" * 16}, "1件目の受取人名が30文字を超えています(32文字)"),  # ﾞ counts
        (
            {"bank_name": "みずほ銀行"},
            "1件目の被仕向銀行名に全銀で使えない文字があります: '銀'、'行'",
        ),
        ({"amount": 0}, "1件目の振込金額は1円以上にしてください: 0"),
        ({"amount": -5}, "1件目の振込金額は1円以上にしてください: -5"),
        ({"amount": 10_000_000_000}, "1件目の振込金額が10桁を超えています"),
        ({"amount": 100.0}, "1件目の振込金額は円の整数にしてください"),
        ({"amount": "100"}, "1件目の振込金額は円の整数にしてください"),
        ({"amount": True}, "1件目の振込金額は円の整数にしてください"),
    ],
)
def test_a_transfer_that_does_not_fit_is_refused_naming_record_and_field(changes, message):
    for write in (render, render_csv):
        with pytest.raises(ValueError) as caught:
            write(HEADER, with_transfer(**changes))
        assert message in str(caught.value)


def test_the_second_transfer_is_named_second():
    transfers = [TRANSFERS[0], dataclasses.replace(TRANSFERS[1], payee_name="ｶ)ﾔｵﾔ 八百屋")]
    with pytest.raises(
        ValueError, match=r"^2件目の受取人名に全銀で使えない文字があります: '八'、'百'、'屋'"
    ):
        render(HEADER, transfers)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"consignor_code": "123456789"}, "ヘッダーの委託者コードは半角数字10桁にしてください"),
        ({"consignor_code": 1234567890}, None),  # an int of 10 digits is the same code
        (
            {"consignor_name": "カイカ事務局"},
            "ヘッダーの委託者名に全銀で使えない文字があります: '事'",
        ),
        ({"consignor_name": ""}, "ヘッダーの委託者名が空です"),
        ({"consignor_name": "ア" * 41}, "ヘッダーの委託者名が40文字を超えています"),
        ({"transfer_date": "1225"}, "ヘッダーの振込指定日は日付にしてください"),
        ({"bank_code": "1"}, "ヘッダーの仕向銀行番号は半角数字4桁にしてください"),
        ({"branch_code": "01"}, "ヘッダーの仕向支店番号は半角数字3桁にしてください"),
        ({"account_type": 4}, "ヘッダーの預金種目(依頼人)は1(普通)・2(当座)・9(その他)のいずれか"),
        (
            {"account_number": "１２３４５６７"},
            "ヘッダーの口座番号(依頼人)は半角数字7桁にしてください",
        ),
    ],
)
def test_a_header_that_does_not_fit_is_refused(changes, message):
    header = dataclasses.replace(HEADER, **changes)
    if message is None:
        assert render(header, TRANSFERS) == render(HEADER, TRANSFERS)
        return
    with pytest.raises(ValueError) as caught:
        render(header, TRANSFERS)
    assert message in str(caught.value)


def test_bank_and_branch_names_are_cut_to_their_width_but_never_the_payee():
    name = "トウキヨウトミンギンコウシンジユク"  # 17 once half-width
    header = dataclasses.replace(HEADER, bank_name=name, branch_name=name)
    line = render(header, TRANSFERS).decode("cp932").split("\r\n")[0]
    assert line[62:77] == line[80:95] == "ﾄｳｷﾖｳﾄﾐﾝｷﾞﾝｺｳｼﾝ"
    assert len(line) == RECORD_LENGTH


def test_a_file_without_transfers_is_refused():
    with pytest.raises(ValueError, match="振込データが1件もありません"):
        render(HEADER, [])


def test_more_than_999999_transfers_are_refused():
    with pytest.raises(ValueError, match="999,999件まで"):
        render(HEADER, [TRANSFERS[0]] * 1_000_000)


def test_a_total_over_12_digits_is_refused():
    big = dataclasses.replace(TRANSFERS[0], amount=9_999_999_999)
    render(HEADER, [big] * 100)  # 999,999,999,900: the largest that fits
    with pytest.raises(ValueError, match="合計金額が12桁を超えています"):
        render(HEADER, [big] * 101)


@pytest.mark.parametrize(
    ("typed", "zengin"),
    [
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # already right: unchanged
        ("キュウヨ　ショウゴ", "ｷﾕｳﾖ ｼﾖｳｺﾞ"),  # small kana written large
        ("ｷｭｳﾖ", "ｷﾕｳﾖ"),
        ("ッャュョァィゥェォヮヵヶ", "ﾂﾔﾕﾖｱｲｳｴｵﾜｶｹ"),
        ("ヲ ヰ ヱ", "ｵ ｲ ｴ"),
        ("ヴ", "ｳﾞ"),
        ("パン", "ﾊﾟﾝ"),
        ("ルーシー", "ﾙ-ｼ-"),  # long vowel mark as hyphen
        ("ﾙｰｼｰ", "ﾙ-ｼ-"),
        ("（カ）ヤオヤ", "(ｶ)ﾔｵﾔ"),
        ("ｶ)ﾔｵﾔ", "ｶ)ﾔｵﾔ"),
        ("ＡＢＣ　１２３", "ABC 123"),
        ("abc def", "ABC DEF"),
        ("ﾔﾏﾀﾞ.ｼﾖｳﾃﾝ", "ﾔﾏﾀﾞ.ｼﾖｳﾃﾝ"),
        ("  ヤマダ  ", "ﾔﾏﾀﾞ"),
        ("", ""),
    ],
)
def test_normalize_kana_turns_what_people_type_into_the_zengin_set(typed, zengin):
    assert normalize_kana(typed) == zengin
    assert normalize_kana(zengin) == zengin


@pytest.mark.parametrize(
    ("typed", "bad"),
    [
        ("山田", ["山", "田"]),
        ("㈱ヤオヤ", ["㈱"]),  # company abbreviations are typed as on the passbook, e.g. ｶ)ﾔｵﾔ
        ("ヤマダ・タロウ", ["・"]),
        ("ヤマダ,タロウ", [","]),
        ("ヤマダ/タロウ", ["/"]),
        ("「ヤオヤ」", ["「", "」"]),
        ("ヤオヤ🍎", ["🍎"]),
        ("¥100", ["¥"]),
    ],
)
def test_normalize_kana_refuses_what_the_set_cannot_carry(typed, bad):
    with pytest.raises(NotZenginError) as caught:
        normalize_kana(typed)
    assert caught.value.chars == bad
    assert str(caught.value).startswith("全銀で使えない文字があります: ")
    assert isinstance(caught.value, ValueError)


def test_the_csv_has_japanese_headings_a_bom_and_one_row_per_transfer():
    text = render_csv(HEADER, TRANSFERS)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        [
            "振込指定日",
            "被仕向銀行番号",
            "被仕向銀行名",
            "被仕向支店番号",
            "被仕向支店名",
            "預金種目",
            "口座番号",
            "受取人名",
            "振込金額",
            "新規コード",
            "顧客コード1",
            "顧客コード2",
        ],
        [
            "2026-12-25",
            "0009",
            "ﾐﾂｲｽﾐﾄﾓ",
            "123",
            "ﾏﾁﾀﾞ",
            "1",
            "0001234",
            "ﾔﾏﾀﾞ ﾀﾛｳ",
            "123456",
            "0",
            "42",
            "20261215",
        ],
        [
            "2026-12-25",
            "0005",
            "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲｷﾞ",
            "002",
            "ﾎﾝﾃﾝ",
            "2",
            "7654321",
            "(ｶ)ﾔｵﾔ",
            "1000000",
            "1",
            "7",
            "",
        ],
    ]
    assert text.encode("utf-8-sig").startswith(b"\xef\xbb\xbf")
    assert "\r\n" in text


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")[:-1]


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


GOOD = render(HEADER, TRANSFERS)


def replaced(line: int, start: int, text: str) -> bytes:
    lines = lines_of(GOOD)
    record = lines[line - 1].decode("cp932")
    lines[line - 1] = (record[: start - 1] + text + record[start - 1 + len(text) :]).encode("cp932")
    return joined(lines)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "ファイルが空です"),
        (
            joined([line[:119] if n == 1 else line for n, line in enumerate(lines_of(GOOD))]),
            "2行目が119バイトです",
        ),
        (GOOD.replace(b"\r\n", b"\n", 1), "1行目が241バイトです"),
        (
            joined(lines_of(GOOD)[1:]),
            "1行目のデータ区分'2'は順序が違います: ここはヘッダーのはずです",
        ),
        (
            joined([lines_of(GOOD)[i] for i in (0, 3, 4)]),
            "2行目のデータ区分'8'は順序が違います: ここはデータのはずです",
        ),
        (joined(lines_of(GOOD)[:4]), "ファイルがエンド・レコードで終わっていません"),
        (
            joined(lines_of(GOOD) + lines_of(GOOD)[4:]),
            "6行目: エンド・レコードの後にレコードがあります",
        ),
        (
            replaced(2, 81, "00001234X6"),
            "2行目(データ)の振込金額が数字ではありません: '00001234X6'",
        ),
        (replaced(2, 81, "0000000000"), "1件目の振込金額が0円です"),
        (replaced(2, 51, "ﾔﾏﾀﾞ,"), "2行目(データ)の受取人名に全銀で使えない文字があります: ','"),
        (replaced(2, 112, "8"), "2行目(データ)の振込指定区分が'8'です: '7'のはずです"),
        (replaced(1, 2, "11"), "1行目(ヘッダー)の種別コードが'11'です: '21'のはずです"),
        (replaced(1, 55, "1332"), "ヘッダーの振込指定日が日付ではありません: '1332'"),
        (replaced(3, 43, "3"), "2件目の預金種目は1(普通)・2(当座)・4(貯蓄)のいずれか"),
        (replaced(4, 2, "000003"), "トレーラーの合計件数(3)がデータの件数(2)と合いません"),
        (
            replaced(4, 8, "000001123457"),
            "トレーラーの合計金額(1,123,457円)がデータの合計(1,123,456円)と合いません",
        ),
        (
            GOOD.replace("ﾔﾏﾀﾞ ".encode("cp932"), "山田".encode("cp932") + b" "),
            "2行目に全角文字があります",
        ),
        (GOOD.replace(b"0009", "０".encode("cp932") + b"09", 1), "2行目に全角文字があります"),
        (GOOD.replace(b"0009", b"\x81000", 1), "2行目にShift_JISで読めないバイトがあります"),
    ],
)
def test_parse_refuses_a_file_a_bank_would_refuse(data, message):
    with pytest.raises(ValueError) as caught:
        parse(data)
    assert message in str(caught.value)


def test_parse_accepts_a_leap_day_and_a_last_record_without_newline():
    header = dataclasses.replace(HEADER, transfer_date=datetime.date(2028, 2, 29))
    parsed = parse(render(header, TRANSFERS).removesuffix(b"\r\n"))
    assert parsed.header["transfer_date"] == "0229"


def test_a_file_for_3200_payees_has_3203_records_of_120_bytes_and_their_newlines():
    transfers = [
        dataclasses.replace(TRANSFERS[n % 2], amount=1_000 + n, customer_code1=str(n))
        for n in range(3_200)
    ]
    data = render(HEADER, transfers)
    assert len(data) == RECORD_LENGTH * (3_200 + 3) + 2 * (3_200 + 3)
    parsed = parse(data)
    assert parsed.count == 3_200
    assert parsed.total == sum(1_000 + n for n in range(3_200))


def test_the_module_imports_no_django():
    code = "import sys, settlements.bank_file; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
