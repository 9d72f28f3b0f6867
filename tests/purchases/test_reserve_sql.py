"""kaika_order_reserve() has one source, purchases/sql/order_reserve.sql, and the database
check says when the deployed function is not that file."""

import pytest
from django.db import connection

from projects.models import ShopStatus
from purchases import reserve
from purchases.models import OrderStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_deployed_function_is_the_file():
    assert reserve.check_deployed_function(databases=["default"]) == []


def test_negative_control_a_function_changed_in_the_database_is_reported():
    changed = reserve.function_sql().replace("kaika:sold_out", "kaika:budget_exhausted", 1)
    with connection.cursor() as cursor:
        cursor.execute(changed)  # rolled back with the test's transaction
    errors = reserve.check_deployed_function(databases=["default"])
    assert [error.id for error in errors] == ["purchases.E001"]


def test_the_status_values_come_from_the_model_enums():
    text = reserve.SQL_FILE.read_text()
    for value in (ShopStatus.APPROVED, OrderStatus.PAID, OrderStatus.PENDING):
        assert f"'{value}'" not in text
        assert f"'{value}'" in reserve.function_sql()
