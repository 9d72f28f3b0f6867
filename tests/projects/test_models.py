import datetime

import pytest
from django.db import IntegrityError, transaction

from projects.models import Listing, Round, RoundStatus, Shop, ShopStatus, search_key
from tests.projects.factories import make_listing, make_project, make_round, make_shop

NINE = datetime.datetime(2026, 5, 23, 9, 0, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def project(db):
    return make_project()


def test_a_round_opens_at_nine_to_the_second_and_closes_at_its_end(project):
    round_ = make_round(project, opens_at=NINE, closes_at=NINE + datetime.timedelta(days=21))
    assert round_.status_at(NINE - SECOND) == RoundStatus.SCHEDULED
    assert round_.status_at(NINE) == RoundStatus.OPEN
    assert round_.status_at(round_.closes_at - SECOND) == RoundStatus.OPEN
    assert round_.status_at(round_.closes_at) == RoundStatus.CLOSED
    assert round_.next_change_at(NINE - SECOND) == NINE
    assert round_.next_change_at(NINE) == round_.closes_at
    assert round_.next_change_at(round_.closes_at) is None


def test_a_staff_suspension_overrides_the_clock(project):
    round_ = make_round(project, opens_at=NINE, closes_at=NINE + datetime.timedelta(days=21))
    round_.suspended = True
    round_.save()
    assert round_.status_at(NINE + SECOND) == RoundStatus.SUSPENDED
    assert not Round.objects.open_at(NINE + SECOND).exists()


def test_open_at_returns_only_the_rounds_open_at_that_instant(project):
    first = make_round(
        project, number=1, opens_at=NINE, closes_at=NINE + datetime.timedelta(days=7)
    )
    make_round(
        project,
        number=2,
        opens_at=NINE + datetime.timedelta(days=30),
        closes_at=NINE + datetime.timedelta(days=37),
    )
    assert list(Round.objects.open_at(NINE - SECOND)) == []
    assert list(Round.objects.open_at(NINE)) == [first]
    assert list(Round.objects.open_at(NINE + datetime.timedelta(days=7))) == []


def test_the_current_round_is_the_running_one_then_the_next_then_the_last(project):
    day = datetime.timedelta(days=1)
    r1 = make_round(project, number=1, opens_at=NINE, closes_at=NINE + 7 * day)
    r2 = make_round(project, number=2, opens_at=NINE + 30 * day, closes_at=NINE + 37 * day)
    r3 = make_round(project, number=3, opens_at=NINE + 60 * day, closes_at=NINE + 67 * day)

    def current(now):
        return Round.objects.filter(project=project).current_at(now).first()

    assert current(NINE - day) == r1
    assert current(NINE + day) == r1
    assert current(NINE + 10 * day) == r2
    assert current(NINE + 31 * day) == r2
    assert current(NINE + 40 * day) == r3
    assert current(NINE + 100 * day) == r3


# The rounds of one project, as (opens_at, closes_at, suspended), and the
# number (1-based, in that list) of the round current_at picks at NINE.
DAY = datetime.timedelta(days=1)
MICRO = datetime.timedelta(microseconds=1)
CURRENT_ROUND_SCENARIOS = {
    "no round": ([], None),
    "running": ([(NINE - DAY, NINE + DAY, False)], 1),
    "opens this very microsecond": ([(NINE, NINE + DAY, False)], 1),
    "closed this very microsecond": (
        [(NINE - DAY, NINE, False), (NINE + DAY, NINE + 2 * DAY, False)],
        2,
    ),
    "suspended while running": (
        [(NINE - 9 * DAY, NINE - 5 * DAY, False), (NINE - DAY, NINE + DAY, True)],
        2,
    ),
    "between rounds: the next to open": (
        [
            (NINE - 9 * DAY, NINE - 5 * DAY, False),
            (NINE + 5 * DAY, NINE + 9 * DAY, False),
            (NINE + DAY, NINE + 2 * DAY, False),
        ],
        3,
    ),
    "all over: the latest to have run": (
        [
            (NINE - 30 * DAY, NINE - 20 * DAY, False),
            (NINE - 9 * DAY, NINE - MICRO, False),
            (NINE - 19 * DAY, NINE - 10 * DAY, False),
        ],
        2,
    ),
    "two opening at once: the first made": (
        [(NINE + DAY, NINE + 2 * DAY, False), (NINE + DAY, NINE + 3 * DAY, False)],
        1,
    ),
}


@pytest.mark.parametrize("scenario", list(CURRENT_ROUND_SCENARIOS))
def test_the_current_round_at_the_edges(project, scenario):
    spans, expected_number = CURRENT_ROUND_SCENARIOS[scenario]
    for number, (opens_at, closes_at, suspended) in enumerate(spans, start=1):
        make_round(
            project, number=number, opens_at=opens_at, closes_at=closes_at, suspended=suspended
        )
    current = project.rounds.current_at(NINE).first()
    assert (current.number if current else None) == expected_number


def test_listings_on_sale_in_a_round_are_the_active_ones_tied_to_it_or_to_no_round(project):
    this = make_round(project, number=1, opens_at=NINE, closes_at=NINE + 7 * DAY)
    other = make_round(project, number=2, opens_at=NINE + 30 * DAY, closes_at=NINE + 37 * DAY)
    shop = make_shop(project, now=NINE - 60 * DAY)
    neighbour = make_shop(project, now=NINE - 60 * DAY)
    make_listing(shop, title="この期だけ").rounds.set([this])
    make_listing(shop, title="次の期だけ").rounds.set([other])
    make_listing(shop, title="両方の期").rounds.set([this, other])
    make_listing(shop, title="いつでも")
    make_listing(shop, title="取り下げ", is_active=False)
    make_listing(shop, title="取り下げ(この期)", is_active=False).rounds.set([this])
    make_listing(neighbour, title="隣の店")
    standard = shop.listings.get(is_standard=True).title
    # The standard listing first, then in the order they were made; each once.
    assert [listing.title for listing in shop.listings.offered_in(this)] == [
        standard,
        "この期だけ",
        "両方の期",
        "いつでも",
    ]
    assert [listing.title for listing in shop.listings.offered_in(other)] == [
        standard,
        "次の期だけ",
        "両方の期",
        "いつでも",
    ]


def test_only_approved_shops_are_listed(project):
    listed = make_shop(project)
    pending = make_shop(project, approved=False)
    rejected = make_shop(project, approved=False, status=ShopStatus.REJECTED)
    withdrawn = make_shop(project, approved=False, status=ShopStatus.WITHDRAWN)
    assert list(Shop.objects.listed()) == [listed]
    assert {pending, rejected, withdrawn}.isdisjoint(Shop.objects.listed())


def test_search_key_folds_hiragana_half_width_kana_and_latin_case():
    assert search_key("やまぐち") == search_key("ヤマグチ") == search_key("ﾔﾏｸﾞﾁ")
    assert search_key("ＣＡＦＥ Kaika") == "cafe kaika"


@pytest.mark.parametrize(
    "query", ["ふく", "フク", "ﾌｸ", "しものせき", "ｼﾓﾉｾｷ", "下関", "SHIMO", "ｓｈｉｍｏ"]
)
def test_shop_search_finds_a_shop_by_name_or_kana_in_any_script(project, query):
    shop = make_shop(project, name="下関ふく処 Shimo", name_kana="シモノセキフクドコロ")
    make_shop(project, name="萩焼の店", name_kana="ハギヤキノミセ")
    assert list(Shop.objects.search(query)) == [shop]


@pytest.mark.parametrize("query", ["ふぐ", "萩 下関", "%", "_"])
def test_shop_search_has_no_false_positives(project, query):
    make_shop(project, name="下関ふく処 Shimo", name_kana="シモノセキフクドコロ")
    assert list(Shop.objects.search(query)) == []


def test_search_text_follows_a_rename_even_with_update_fields(project):
    shop = make_shop(project, name="旧店名", name_kana="キュウテンメイ")
    shop.name = "新店名"
    shop.save(update_fields=["name"])
    assert list(Shop.objects.search("新店名")) == [shop]
    assert list(Shop.objects.search("旧店名")) == []


def test_the_database_refuses_a_stock_below_units_sold(project):
    listing = make_listing(make_shop(project), stock_limit=10)
    Listing.objects.filter(pk=listing.pk).update(units_sold=8)
    with pytest.raises(IntegrityError), transaction.atomic():
        Listing.objects.filter(pk=listing.pk).update(stock_limit=7)
    # And a sale beyond the stock, the way the purchases app will write it, is refused too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Listing.objects.filter(pk=listing.pk).update(units_sold=11)


def test_remaining_stock_is_a_number_or_none_without_limit(project):
    shop = make_shop(project)
    limited = make_listing(shop, stock_limit=50)
    Listing.objects.filter(pk=limited.pk).update(units_sold=12)
    limited.refresh_from_db()
    assert limited.remaining_stock == 38
    assert not limited.is_sold_out
    standard = shop.listings.get(is_standard=True)
    assert standard.remaining_stock is None


def test_a_shop_has_at_most_one_standard_listing(project):
    shop = make_shop(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        Listing.objects.create(shop=shop, title="second", is_standard=True)


def test_premium_tickets_are_worth_150_percent_and_figures_start_at_zero(project):
    assert project.tickets_value(10_000) == 15_000
    assert project.amount_raised == 0
    assert project.supporters_count == 0
    assert project.progress_percent == 0
    project.amount_raised = project.total_budget  # reserved, not yet paid
    assert project.is_budget_exhausted
    assert project.progress_percent == 0  # the public's figure counts paid support
    project.amount_paid = project.total_budget
    assert project.progress_percent == 100
