import pytest

from settlements.models import AccountType
from settlements.services import PayeeDetails
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop


@pytest.fixture
def operator(db):
    return make_user(email="payee-operator@example.jp")


@pytest.fixture
def co_operator(db):
    return make_user(email="payee-co-operator@example.jp")


@pytest.fixture
def shop(db, operator, co_operator):
    project = make_project()
    make_round(project)
    return make_shop(project, operators=[operator, co_operator], name="山田食堂")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def details(**extra) -> PayeeDetails:
    """みずほ銀行 東京営業部 普通 1234567 ﾔﾏﾀﾞ ﾀﾛｳ, as the form gives it."""
    fields = {
        "bank_code": "0001",
        "bank_name": "みずほ",
        "bank_name_kana": "ﾐｽﾞﾎ",
        "branch_code": "001",
        "branch_name": "東京営業部",
        "branch_name_kana": "ﾄｳｷﾖｳ",
        "account_type": AccountType.ORDINARY,
        "account_number": "1234567",
        "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
    }
    return PayeeDetails(**{**fields, **extra})
