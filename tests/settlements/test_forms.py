import pytest

from settlements.forms import PayeeAccountForm
from tests.settlements.conftest import details

VALID = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "1",
    "account_number": "1234567",
    "holder_name": "やまだ たろう",
}


def form(**changes) -> PayeeAccountForm:
    return PayeeAccountForm({**VALID, **changes})


def errors(**changes) -> dict[str, list[str]]:
    bound = form(**changes)
    assert not bound.is_valid()
    return bound.errors


def test_a_valid_account_gives_the_names_from_the_data_and_the_bank_s_forms():
    bound = form()
    assert bound.is_valid(), bound.errors
    assert bound.details() == details()


def test_full_width_digits_and_spaces_are_accepted_and_normalised():
    bound = form(bank_code="０００５", branch_code="０ ０ １", account_number="１２３ ４５６７")
    assert bound.is_valid(), bound.errors
    got = bound.details()
    assert (got.bank_code, got.bank_name) == ("0005", "三菱ＵＦＪ")
    assert got.branch_code == "001"
    assert got.account_number == "1234567"


def test_a_short_account_number_is_zero_padded_to_seven_digits_as_banks_read_it():
    bound = form(account_number="12345")
    assert bound.is_valid(), bound.errors
    assert bound.details().account_number == "0012345"


def test_an_unknown_bank_is_refused_naming_the_code():
    assert errors(bank_code="9999")["bank_code"] == [
        "金融機関コード「9999」の金融機関は見つかりません。"
        "通帳やキャッシュカードでコードをご確認ください。"
    ]


def test_an_unknown_branch_is_refused_naming_the_code_and_the_bank():
    assert errors(branch_code="999")["branch_code"] == [
        "支店コード「999」の支店はみずほに見つかりません。"
        "通帳やキャッシュカードでコードをご確認ください。"
    ]


@pytest.mark.parametrize("typed", ["1", "00001", "abcd", "٠٠٠١", "0-01", ""])
def test_a_bank_code_that_is_not_four_digits_is_refused(typed):
    assert "bank_code" in errors(bank_code=typed)


@pytest.mark.parametrize("typed", ["1", "0001", "abc", "０1"])
def test_a_branch_code_that_is_not_three_digits_is_refused(typed):
    assert "branch_code" in errors(branch_code=typed)


@pytest.mark.parametrize("typed", ["12345678", "123-4567", "abc", "0000000", "0", "١٢٣"])
def test_an_account_number_that_is_not_up_to_seven_digits_is_refused(typed):
    assert "account_number" in errors(account_number=typed)


def test_an_unknown_account_type_is_refused():
    assert "account_type" in errors(account_type="9")


def test_a_name_the_bank_cannot_carry_is_refused_naming_the_character():
    assert errors(holder_name="ヤマダ・タロウ")["holder_name"] == [
        "「・」は銀行の口座名義に使えない文字です。"
        "カナ・英大文字・数字・スペースと ( ) . - / で、通帳のとおりに入力してください。"
    ]
    assert "「山」" in errors(holder_name="山田 太郎")["holder_name"][0]
    assert "「U+001B」" in errors(holder_name="ﾔﾏﾀﾞ\x1b")["holder_name"][0]


def test_a_name_longer_than_the_bank_s_thirty_characters_is_refused_with_its_length():
    # 28 characters typed, 31 in the bank's form (each voiced mark is a character of its own).
    typed = "カブシキガイシャ ヤマグチケンショウテンガイシンコウクミアイ"
    message = errors(holder_name=typed)["holder_name"][0]
    assert "30文字まで" in message and "いまは" in message
    assert form(holder_name="ｶ)ﾔﾏｸﾞﾁｹﾝｼﾖｳﾃﾝｶﾞｲｼﾝｺｳｸﾐｱｲ").is_valid()
    assert "holder_name" in errors(holder_name="ア" * 101)  # the raw field's own limit


def test_a_name_of_only_spaces_is_refused():
    assert "holder_name" in errors(holder_name="　 ")


def test_thirty_characters_exactly_are_accepted():
    assert form(holder_name="ﾔ" * 30).is_valid()
    assert "holder_name" in errors(holder_name="ﾔ" * 31)
