"""The programme's books (settlements.books): one history computed by hand, to the yen."""

import datetime

import pytest
from django.db.models import F

from projects.models import Category, Municipality, ShopRound
from purchases.models import (
    Order,
    OrderStatus,
    Redemption,
    Ticket,
    TicketStatus,
    TicketUse,
    Wallet,
)
from settlements.books import ADDITIVE, Figures, books_of
from settlements.models import LineKind, Statement, StatementLine
from settlements.services import settlement_run
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import undo

pytestmark = pytest.mark.django_db

JST = datetime.timezone(datetime.timedelta(hours=9))
SALE = datetime.datetime(2031, 1, 5, 12, tzinfo=JST)
NOW = datetime.datetime(2031, 5, 1, 12, tzinfo=JST)


def at(month: int, day: int) -> datetime.datetime:
    return datetime.datetime(2031, month, day, 12, tzinfo=JST)


def order(shop, round_, supporter, *, paid: int, value: int, status=OrderStatus.PAID) -> Order:
    """An order written straight to the database, with one ticket of `value` yen if paid or
    refunded (a refunded order's ticket void, as order_refund leaves it)."""
    created = Order.objects.create(
        supporter=supporter,
        project=shop.project,
        round=round_,
        shop=shop,
        listing=shop.listings.get(is_standard=True),
        units=1,
        unit_price=paid,
        amount=paid,
        tickets_value=value,
        status=status,
        idempotency_key=f"books-{Order.objects.count()}",
        created_at=SALE,
        expires_at=SALE,
        paid_at=SALE if status in (OrderStatus.PAID, OrderStatus.REFUNDED) else None,
    )
    if status in (OrderStatus.PAID, OrderStatus.REFUNDED):
        void = status == OrderStatus.REFUNDED
        Ticket.objects.create(
            order=created,
            supporter=supporter,
            shop=shop,
            round=round_,
            label="t",
            face_value=value,
            balance=0 if void else value,
            status=TicketStatus.VOID if void else TicketStatus.VALID,
            issued_at=SALE,
        )
    return created


def spend(o: Order, amount: int, when: datetime.datetime) -> Redemption:
    ticket = o.tickets.get()
    wallet, _ = Wallet.objects.get_or_create(
        supporter=o.supporter, shop=o.shop, defaults={"created_at": when}
    )
    redemption = Redemption.objects.create(
        wallet=wallet, shop=o.shop, amount=amount, balance_after=0, used_at=when
    )
    TicketUse.objects.create(
        ticket=ticket,
        shop=o.shop,
        amount=amount,
        balance_after=0,
        used_at=when,
        redemption=redemption,
    )
    Ticket.objects.filter(pk=ticket.pk).update(balance=F("balance") - amount)
    ShopRound.objects.filter(shop=o.shop, round=o.round).update(
        tickets_used_amount=F("tickets_used_amount") + amount
    )
    return redemption


@pytest.fixture
def history(db):
    """Round 1 used until 31 March, round 2 until the end of the year; on 1 May:

    - s1 paid 10,000 for 12,000 at A in round 1, used 5,000 in February (7,000 expired);
    - s1 paid 5,000 for 6,000 at B in round 2, used 1,000 (10 April), and 2,000 (20 April)
      undone the same day;
    - s2's order at A was refunded, s2's order at B cancelled: neither counts;
    - s3 paid 3,000 for 3,600 at B in round 2, used it all on 15 April, settled, then undone.
    The run closing 15 April settles 5,000 at A and 1,000 + 3,600 at B.
    """
    project = make_project(premium_rate=20)
    r1 = make_round(
        project,
        number=1,
        opens_at=at(1, 1),
        closes_at=at(1, 14),
        shop_applications_close_at=at(1, 1) - datetime.timedelta(days=7),
        usage_starts_on=datetime.date(2031, 1, 15),
        usage_ends_on=datetime.date(2031, 3, 31),
    )
    r2 = make_round(
        project,
        number=2,
        opens_at=at(2, 1),
        closes_at=at(2, 14),
        shop_applications_close_at=at(2, 1) - datetime.timedelta(days=7),
        usage_starts_on=datetime.date(2031, 4, 1),
        usage_ends_on=datetime.date(2031, 12, 31),
    )
    a = make_shop(
        project,
        name="赤坂食堂",
        name_kana="アカサカショクドウ",
        category=Category.RESTAURANT,
        municipality=Municipality.YAMAGUCHI,
    )
    b = make_shop(
        project,
        name="萩カフェ",
        name_kana="ハギカフェ",
        category=Category.CAFE,
        municipality=Municipality.YAMAGUCHI,
    )
    s1, s2, s3 = (make_user(email=f"books-{n}@example.jp") for n in (1, 2, 3))
    o1 = order(a, r1, s1, paid=10_000, value=12_000)
    o2 = order(b, r2, s1, paid=5_000, value=6_000)
    order(a, r2, s2, paid=1_000, value=1_200, status=OrderStatus.REFUNDED)
    order(b, r2, s2, paid=2_000, value=2_400, status=OrderStatus.CANCELLED)
    o3 = order(b, r2, s3, paid=3_000, value=3_600)
    spend(o1, 5_000, at(2, 1))
    spend(o2, 1_000, at(4, 10))
    settled_then_undone = spend(o3, 3_600, at(4, 15))
    staff = make_user(email="books-staff@example.jp", is_staff=True)
    run = settlement_run(
        project=project, period_end=datetime.date(2031, 4, 15), staff=staff, now=at(4, 16)
    )
    undo(spend(o2, 2_000, at(4, 20)), at(4, 20))
    undo(settled_then_undone, at(4, 25))
    return {"project": project, "r1": r1, "r2": r2, "a": a, "b": b, "run": run}


ROUND_1 = Figures(
    supporters=1,
    orders=1,
    amount_raised=10_000,
    tickets_issued=12_000,
    redeemed=5_000,
    outstanding=0,
    expired=7_000,
    settled=5_000,
    awaiting_settlement=0,
    # 5,000 - floor(5,000 x 10,000 / 12,000) = 5,000 - 4,166
    premium_spent=834,
)
ROUND_2 = Figures(
    supporters=2,
    orders=2,
    amount_raised=8_000,
    tickets_issued=9_600,
    redeemed=1_000,
    outstanding=8_600,
    expired=0,
    settled=4_600,
    # s3's 3,600, paid to B and undone since: taken back by the next run.
    awaiting_settlement=-3_600,
    # 1,000 - floor(1,000 x 5,000 / 6,000) = 1,000 - 833
    premium_spent=167,
)


def test_the_books_of_a_history_computed_by_hand(history):
    books = books_of(project=history["project"], now=NOW)
    assert [row.label for row in books.by_round] == ["第1期", "第2期"]
    assert [row.figures for row in books.by_round] == [ROUND_1, ROUND_2]
    assert books.total == Figures(
        supporters=2,
        orders=3,
        amount_raised=18_000,
        tickets_issued=21_600,
        redeemed=6_000,
        outstanding=8_600,
        expired=7_000,
        settled=9_600,
        awaiting_settlement=-3_600,
        premium_spent=1_001,
    )
    by_shop = {row.label: row.figures for row in books.by_shop}
    assert by_shop["赤坂食堂"] == ROUND_1
    assert by_shop["萩カフェ"] == ROUND_2
    assert [(row.key, row.figures) for row in books.by_category] == [
        (Category.RESTAURANT, ROUND_1),
        (Category.CAFE, ROUND_2),
    ]
    [municipality] = books.by_municipality
    assert municipality.label == "山口市" and municipality.figures == books.total
    assert all(row.figures.balances for row in books.by_round) and books.total.balances
    # The books agree with the statements: what they call settled is what the statements hold.
    assert sum(s.face_value for s in Statement.objects.all()) == books.total.settled


def test_a_reversal_line_settles_the_use_undone_after_settlement(history):
    """The negative line the next run writes for a use undone after settlement (written here
    by hand, as settlements.services will) leaves nothing awaiting."""
    use = TicketUse.objects.get(amount=3_600)
    statement = Statement.objects.get(run=history["run"], shop=history["b"])
    StatementLine.objects.create(
        statement=statement,
        kind=LineKind.REVERSAL,
        reversed_use=use,
        used_at=at(4, 25),
        face_value=-3_600,
        supporter_part=-3_000,
        premium_part=-600,
    )
    figures = books_of(project=history["project"], now=NOW).by_round[1].figures
    assert (figures.redeemed, figures.settled, figures.awaiting_settlement) == (1_000, 1_000, 0)
    assert figures.balances


def test_tickets_expire_the_day_after_their_round_ends(history):
    on_the_last_day = books_of(project=history["project"], now=at(3, 31)).by_round[0].figures
    assert (on_the_last_day.outstanding, on_the_last_day.expired) == (7_000, 0)
    next_day = books_of(project=history["project"], now=at(4, 1)).by_round[0].figures
    assert (next_day.outstanding, next_day.expired) == (0, 7_000)


def test_one_round_alone(history):
    books = books_of(project=history["project"], now=NOW, round_=history["r2"])
    assert [row.figures for row in books.by_round] == [ROUND_2]
    assert books.total == ROUND_2
    assert [row.label for row in books.by_shop] == ["萩カフェ"]


def test_a_break_in_the_books_is_named():
    figures = Figures(tickets_issued=1_000, redeemed=300, outstanding=600, settled=300)
    assert figures.imbalances() == [
        "発行チケット額 1,000円 ≠ 利用額 + 未使用残高 + 期限切れ残高 900円"
    ]
    assert not figures.balances


def test_an_empty_project_has_zero_books(db):
    project = make_project()
    make_round(project)
    books = books_of(project=project, now=NOW)
    assert books.total == Figures()
    assert len(books.by_round) == 1 and books.by_shop == [] and books.by_category == []


def test_the_number_of_queries_does_not_grow_with_the_rows(history, django_assert_max_num_queries):
    books_of(project=history["project"], now=NOW)  # warm up (content types, etc.)
    with django_assert_max_num_queries(17) as first:
        books_of(project=history["project"], now=NOW)
    c = make_shop(history["project"], category=Category.BAR, municipality=Municipality.HAGI)
    for n in range(5):
        o = order(
            c, history["r2"], make_user(email=f"books-more-{n}@example.jp"), paid=1_000, value=1_200
        )
        spend(o, 100, at(4, 2))
    with django_assert_max_num_queries(len(first.captured_queries)):
        books = books_of(project=history["project"], now=NOW)
    assert len(books.by_shop) == 3 and len(books.by_municipality) == 2
    for name in ADDITIVE:
        assert getattr(books.total, name) == sum(getattr(r.figures, name) for r in books.by_shop)
