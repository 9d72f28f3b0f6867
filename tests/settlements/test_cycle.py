import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlements import cycle

D = datetime.date


@pytest.mark.parametrize(
    ("day", "count", "expected"),
    [
        (D(2026, 12, 15), 0, D(2026, 12, 15)),  # a Tuesday
        (D(2026, 12, 15), 1, D(2026, 12, 16)),
        (D(2026, 12, 18), 1, D(2026, 12, 21)),  # Friday → Monday
        (D(2026, 12, 30), 1, D(2027, 1, 4)),  # 31 Dec to 3 Jan: banks closed
        (D(2026, 12, 31), 0, D(2027, 1, 4)),
        (D(2027, 1, 8), 1, D(2027, 1, 12)),  # 11 Jan 2027 is 成人の日
        (D(2026, 5, 1), 1, D(2026, 5, 7)),  # Golden Week, 振替休日 on the 6th
        (D(2026, 9, 18), 1, D(2026, 9, 24)),  # 敬老の日, 国民の休日, 秋分の日
    ],
)
def test_bank_business_days_skip_weekends_holidays_and_the_new_year(day, count, expected):
    assert cycle.bank_business_days_after(day, count) == expected


def test_closing_days_31_means_the_month_end():
    days = cycle.parse_closing_days("15,31")
    assert cycle.closing_days_in_month(days, 2027, 2) == [D(2027, 2, 15), D(2027, 2, 28)]
    assert cycle.is_closing_day(days, D(2028, 2, 29))
    assert not cycle.is_closing_day(days, D(2028, 2, 28))
    assert cycle.next_closing_day(days, D(2026, 12, 15)) == D(2026, 12, 31)
    assert cycle.next_closing_day(days, D(2026, 12, 31)) == D(2027, 1, 15)


@pytest.mark.parametrize("text", ["", "0", "32", "15,x", "-1"])
def test_closing_days_refuse_anything_but_days_of_the_month(text):
    with pytest.raises(ValueError):
        cycle.parse_closing_days(text)


@given(
    amount=st.integers(min_value=1, max_value=10**7),
    paid=st.integers(min_value=1, max_value=10**7),
    premium=st.integers(min_value=0, max_value=10**7),
)
def test_the_split_sums_to_the_face_value_and_favours_no_one_by_more_than_a_yen(
    amount, paid, premium
):
    value = paid + premium
    supporters, subsidy = cycle.split_face_value(amount, paid, value)
    assert supporters + subsidy == amount
    assert isinstance(supporters, int) and isinstance(subsidy, int)
    assert 0 <= supporters <= amount and subsidy >= 0
    # Exact share is amount * paid / value; the supporters' part is it rounded down.
    assert supporters * value <= amount * paid < (supporters + 1) * value
