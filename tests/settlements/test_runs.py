import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from purchases.models import TicketUse
from settlements import cycle
from settlements.models import (
    LineKind,
    SettlementPolicy,
    SettlementRun,
    Statement,
    StatementLine,
    StatementStatus,
)
from settlements.services import SettlementError, settlement_run
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))


@pytest.fixture
def project(db):
    project = make_project()
    make_round(project)
    return project


@pytest.fixture
def staff(db):
    return make_user(email="settle-staff@example.jp", is_staff=True)


FIRST_CLOSE = D(2026, 12, 15)


def run(project, staff, day=FIRST_CLOSE, now=NOW):
    return settlement_run(project=project, period_end=day, staff=staff, now=now)


def test_a_run_makes_one_statement_per_shop_with_the_split_fee_and_payment_date(project, staff):
    SettlementPolicy.objects.create(
        project=project, pay_after_business_days=3, fee_per_statement=100, fee_rate_bp=150
    )
    first, second = make_shop(project), make_shop(project)
    # 10,000 yen paid for 12,000 yen of tickets: 2,000 of 3,000 is 1,666.66… for supporters.
    use(make_ticket(first), 3_000, at(D(2026, 12, 1)))
    use(make_ticket(first, paid=5_000, value=5_000), 1_000, at(D(2026, 12, 15), 23))
    use(make_ticket(second), 1_200, at(D(2026, 12, 10)))
    late = use(make_ticket(second), 500, at(D(2026, 12, 16), 0))

    result = run(project, staff)

    assert result.payment_date == D(2026, 12, 18)
    assert result.created_by == staff and result.period_start is None
    a = Statement.objects.get(run=result, shop=first)
    assert (a.face_value, a.supporter_part, a.premium_part) == (4_000, 2_500 + 1_000, 500)
    assert a.fee == 100 + 4_000 * 150 // 10000 == 160
    assert a.amount_to_pay == 3_840 and a.status == StatementStatus.DRAFT
    b = Statement.objects.get(run=result, shop=second)
    assert (b.face_value, b.supporter_part, b.premium_part) == (1_200, 1_000, 200)
    assert not StatementLine.objects.filter(ticket_use=late).exists()
    assert a.lines.count() == 2 and b.lines.count() == 1


def test_the_split_rounds_the_supporters_part_down_and_gives_the_rest_to_the_premium(
    project, staff
):
    shop = make_shop(project)
    use(make_ticket(shop, paid=10_000, value=13_000), 1_000, at(D(2026, 12, 1)))
    run(project, staff)
    line = StatementLine.objects.get()
    # 1,000 x 10,000 / 13,000 = 769.2…
    assert (line.supporter_part, line.premium_part) == (769, 231)
    assert (line.supporter_part, line.premium_part) == cycle.split_face_value(1_000, 10_000, 13_000)


def test_large_amounts_do_not_overflow(project, staff):
    shop = make_shop(project)
    use(make_ticket(shop, paid=9_000_000, value=10_000_000), 3_000_000, at(D(2026, 12, 1)))
    run(project, staff)
    assert Statement.objects.get().supporter_part == 2_700_000


def test_each_use_lands_on_exactly_one_statement_and_late_ones_in_the_next(project, staff):
    shop = make_shop(project)
    ticket = make_ticket(shop)
    use(ticket, 100, at(D(2026, 12, 14)))
    first = run(project, staff)
    use(ticket, 200, at(D(2026, 12, 20)))
    # A use recorded late, dated before the first period's end, is not lost: next period.
    use(ticket, 300, at(D(2026, 12, 10)))
    second = run(project, staff, day=D(2026, 12, 31))
    assert second.period_start == D(2026, 12, 16)
    assert [s.face_value for s in Statement.objects.filter(run=first)] == [100]
    assert [s.face_value for s in Statement.objects.filter(run=second)] == [500]
    assert StatementLine.objects.count() == TicketUse.objects.count() == 3
    third = run(project, staff, day=D(2027, 1, 15))
    assert not third.statements.exists()


@pytest.mark.parametrize("day", [D(2026, 12, 15), D(2026, 12, 10)])
def test_a_period_that_overlaps_another_is_refused_in_japanese_and_nothing_saved(
    project, staff, day
):
    shop = make_shop(project)
    run(project, staff)
    use(make_ticket(shop), 100, at(D(2026, 12, 1)))
    with pytest.raises(SettlementError) as refused:
        run(project, staff, day=day)
    assert refused.value.code == "overlaps" if day.day == 15 else "not_closing_day"
    assert "重なります" in refused.value.message or "締め日ではありません" in refused.value.message
    assert SettlementRun.objects.count() == 1 and not StatementLine.objects.exists()


def test_an_earlier_closing_day_than_the_last_run_is_an_overlap(project, staff):
    run(project, staff, day=D(2026, 12, 31))
    with pytest.raises(SettlementError) as refused:
        run(project, staff, day=D(2026, 12, 15))
    assert refused.value.code == "overlaps"
    assert "2026-12-31 締めの精算期間がすでにあり" in refused.value.message


def test_a_day_that_is_not_a_closing_day_is_refused(project, staff):
    with pytest.raises(SettlementError) as refused:
        run(project, staff, day=D(2026, 12, 14))
    assert refused.value.code == "not_closing_day"
    assert not SettlementRun.objects.exists()


def test_the_number_of_queries_does_not_grow_with_the_number_of_shops(project, staff):
    def queries_for(shops: int, day) -> int:
        for _ in range(shops):
            shop = make_shop(project)
            use(make_ticket(shop), 100, at(day - datetime.timedelta(days=1)))
            use(make_ticket(shop), 200, at(day - datetime.timedelta(days=2)))
        with CaptureQueriesContext(connection) as queries:
            run(project, staff, day=day)
        return len(queries)

    SettlementPolicy.objects.create(project=project)
    assert queries_for(1, D(2026, 12, 15)) == queries_for(6, D(2026, 12, 31))
    assert Statement.objects.count() == 7


def test_a_fee_is_never_more_than_the_face_value(project):
    policy = SettlementPolicy(project=project, fee_per_statement=500)
    assert policy.fee_for(300) == 300
    assert policy.fee_for(0) == 0
    assert SettlementPolicy(project=project).fee_for(10_000) == 0


class TestRandomHistories(HypothesisTestCase):
    @hsettings(max_examples=15, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(1, 50_000),
                st.integers(1, 50_000),
                st.integers(0, 20_000),
                st.integers(0, 1),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def test_statements_split_exactly_as_the_rule_and_sum_to_the_uses(self, uses):
        project = make_project()
        make_round(project)
        staff = make_user(email=f"settle-h-{SettlementRun.objects.count()}@example.jp")
        shops = [make_shop(project), make_shop(project)]
        expected = {shop.pk: [0, 0] for shop in shops}
        for amount, paid, premium, which in uses:
            shop = shops[which]
            use(make_ticket(shop, paid=paid, value=paid + premium), amount, at(D(2026, 12, 1)))
            supporters, subsidy = cycle.split_face_value(amount, paid, paid + premium)
            expected[shop.pk][0] += supporters
            expected[shop.pk][1] += subsidy
        run(project, staff)
        for statement in Statement.objects.filter(run__project=project):
            assert [statement.supporter_part, statement.premium_part] == expected[statement.shop_id]
            assert statement.supporter_part + statement.premium_part == statement.face_value
        assert StatementLine.objects.filter(
            kind=LineKind.USE, statement__run__project=project
        ).count() == len(uses)
