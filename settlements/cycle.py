"""The settlement calendar: closing days and bank business days (pure functions, no database).

A project closes its period on fixed days of the month (e.g. the 15th and the last day: a
day past the month's length means its last day) and pays N bank business days later. Banks
are shut on weekends, on Japanese public holidays (jpholiday, 振替休日 included) and from
31 December to 3 January (銀行休業日, by the Banking Act's order, not a public holiday).
"""

import datetime
from calendar import monthrange

import jpholiday

MONTH_END = 31


def is_bank_business_day(day: datetime.date) -> bool:
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return not ((day.month == 12 and day.day == 31) or (day.month == 1 and day.day <= 3))


def bank_business_days_after(day: datetime.date, count: int) -> datetime.date:
    """The `count`-th bank business day after `day` (0: `day` itself if banks are open,
    else the next day they are)."""
    current = day
    if count == 0:
        while not is_bank_business_day(current):
            current += datetime.timedelta(days=1)
        return current
    remaining = count
    while remaining:
        current += datetime.timedelta(days=1)
        if is_bank_business_day(current):
            remaining -= 1
    return current


def closing_days_in_month(closing_days: list[int], year: int, month: int) -> list[datetime.date]:
    last = monthrange(year, month)[1]
    return sorted({datetime.date(year, month, min(day, last)) for day in closing_days})


def is_closing_day(closing_days: list[int], day: datetime.date) -> bool:
    return day in closing_days_in_month(closing_days, day.year, day.month)


def next_closing_day(closing_days: list[int], after: datetime.date) -> datetime.date:
    """The first closing day strictly after `after`."""
    year, month = after.year, after.month
    for _ in range(13):
        for day in closing_days_in_month(closing_days, year, month):
            if day > after:
                return day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise ValueError("no closing day")  # unreachable with at least one day in 1..31


def parse_closing_days(text: str) -> list[int]:
    """`"15,31"` → [15, 31]. Raises ValueError on anything but days 1..31."""
    days = sorted({int(part) for part in text.split(",") if part.strip()})
    if not days or any(not 1 <= day <= MONTH_END for day in days):
        raise ValueError(text)
    return days


def split_face_value(amount: int, paid: int, tickets_value: int) -> tuple[int, int]:
    """(the supporters' part, the premium) of `amount` yen of a ticket whose order paid `paid`
    yen for `tickets_value` yen of tickets. The supporters' part is rounded down, the premium
    is the rest: the two always sum to `amount` exactly, and the subsidy never goes short.
    The run computes the same in SQL (settlements.services._use_rows); this is the rule."""
    if tickets_value <= 0:
        return amount, 0
    supporters = amount * paid // tickets_value
    return supporters, amount - supporters
