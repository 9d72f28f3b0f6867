import importlib

from settlements import zengin


def test_a_bank_and_its_branch_are_found_by_code_with_names_in_the_banks_form():
    bank = zengin.find_bank("0001")
    assert (bank.name, bank.kana) == ("みずほ", "ﾐｽﾞﾎ")
    branch = zengin.find_branch(bank, "001")
    assert (branch.name, branch.kana) == ("東京営業部", "ﾄｳｷﾖｳ")
    assert zengin.find_bank("0005").kana == "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ"


def test_unknown_or_malformed_codes_find_nothing():
    assert zengin.find_bank("9999") is None
    assert zengin.find_bank("１") is None
    assert zengin.find_bank("../0001") is None  # the code names a file: only 4 digits pass
    assert zengin.find_bank("000１") is None
    bank = zengin.find_bank("0001")
    assert zengin.find_branch(bank, "999") is None
    assert zengin.find_branch(bank, "../0") is None


def test_reading_one_bank_agrees_with_the_package_s_own_loader():
    # Guards the data layout we read against a release that moves it: the package's own
    # (slow, load-everything) API must give the same names.
    package = importlib.import_module("zengin_code")
    for code in ("0001", "0005", "0009", "9900", "1000"):
        theirs = package.Bank.all.get(code)
        ours = zengin.find_bank(code)
        if theirs is None:
            assert ours is None
            continue
        assert ours.name == theirs.name
        for branch_code, branch in list(theirs.branches.items())[:20]:
            assert zengin.find_branch(ours, branch_code).name == branch.name
    assert package.__version__.endswith(zengin.data_version())
