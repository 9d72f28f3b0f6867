"""projects.reads against the ORM: the shop page's written-out statements must give the same
shop, round, participation and listings as the queries they replaced, on both databases."""

import datetime

import pytest

from projects import reads
from projects.models import Listing, Round, Shop, ShopRound, ShopStatus
from tests.conftest import make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop

NOW = datetime.datetime(2026, 5, 23, 9, 0, 0, 250_000, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
MICRO = datetime.timedelta(microseconds=1)

# Each scenario: the rounds of one project, as (opens_at, closes_at, suspended), and the
# number (1-based, in that list) of the round current_at picks.
SCENARIOS = {
    "no round": ([], None),
    "running": ([(NOW - DAY, NOW + DAY, False)], 1),
    "opens this very microsecond": ([(NOW, NOW + DAY, False)], 1),
    "closed this very microsecond": (
        [(NOW - DAY, NOW, False), (NOW + DAY, NOW + 2 * DAY, False)],
        2,
    ),
    "suspended while running": (
        [(NOW - 9 * DAY, NOW - 5 * DAY, False), (NOW - DAY, NOW + DAY, True)],
        2,
    ),
    "between rounds: the next to open": (
        [
            (NOW - 9 * DAY, NOW - 5 * DAY, False),
            (NOW + 5 * DAY, NOW + 9 * DAY, False),
            (NOW + DAY, NOW + 2 * DAY, False),
        ],
        3,
    ),
    "all over: the latest to have run": (
        [
            (NOW - 30 * DAY, NOW - 20 * DAY, False),
            (NOW - 9 * DAY, NOW - MICRO, False),
            (NOW - 19 * DAY, NOW - 10 * DAY, False),
        ],
        2,
    ),
    "two opening at once: the first made": (
        [(NOW + DAY, NOW + 2 * DAY, False), (NOW + DAY, NOW + 3 * DAY, False)],
        1,
    ),
}


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_shop_page_statement_finds_what_the_orm_finds(db, scenario):
    spans, expected_number = SCENARIOS[scenario]
    project = make_project()
    made = []
    for number, (opens_at, closes_at, suspended) in enumerate(spans, start=1):
        made.append(
            Round.objects.create(
                project=project,
                number=number,
                shop_applications_close_at=opens_at - 7 * DAY,
                opens_at=opens_at,
                closes_at=closes_at,
                usage_starts_on=(closes_at + DAY).date(),
                usage_ends_on=(closes_at + 9 * DAY).date(),
                suspended=suspended,
            )
        )
    shop = make_shop(project, now=NOW - 60 * DAY)
    orm_round = Round.objects.filter(project=project).current_at(NOW).first()
    assert (orm_round.number if orm_round else None) == expected_number  # the ORM's own answer

    found_shop, round_, participation = reads.shop_page(shop.pk, NOW)
    assert fields(found_shop) == fields(Shop.objects.get(pk=shop.pk))
    assert fields(found_shop.project) == fields(project)
    if orm_round is None:
        assert round_ is None and participation is None
        return
    assert fields(round_) == fields(orm_round) and round_.project is found_shop.project
    orm_participation = ShopRound.objects.filter(shop=shop, round=orm_round).first()
    assert orm_participation is not None
    assert fields(participation) == fields(orm_participation)
    # Not taking part in the current round: the round still comes back, without participation.
    ShopRound.objects.filter(pk=orm_participation.pk).delete()
    _, again_round, none = reads.shop_page(shop.pk, NOW)
    assert again_round.pk == orm_round.pk and none is None


def test_only_listed_shops_have_a_page(db):
    project = make_project()
    make_round(project, now=NOW)
    listed = make_shop(project, now=NOW - 60 * DAY)
    pending = make_shop(project, now=NOW - 60 * DAY, approved=False)
    assert reads.shop_page(listed.pk, NOW) is not None
    assert reads.shop_page(pending.pk, NOW) is None
    for status in (ShopStatus.REJECTED, ShopStatus.WITHDRAWN):
        Shop.objects.filter(pk=listed.pk).update(status=status)
        assert reads.shop_page(listed.pk, NOW) is None
    assert reads.shop_page(10**12, NOW) is None


def test_the_listings_statement_offers_what_offered_in_offers(db):
    project = make_project()
    this = make_round(project, now=NOW)
    other = make_round(project, number=2, now=NOW, state="scheduled")
    shop = make_shop(project, now=NOW - 60 * DAY)
    neighbour = make_shop(project, now=NOW - 60 * DAY)
    make_listing(shop, title="この期だけ").rounds.set([this])
    make_listing(shop, title="次の期だけ").rounds.set([other])
    make_listing(shop, title="両方の期").rounds.set([this, other])
    make_listing(shop, title="いつでも")
    make_listing(shop, title="取り下げ", is_active=False)
    make_listing(shop, title="取り下げ(この期)", is_active=False).rounds.set([this])
    make_listing(neighbour, title="隣の店")
    for round_ in (this, other):
        expected = list(shop.listings.offered_in(round_))
        got = reads.listings_offered(shop, round_)
        assert [fields(listing) for listing in got] == [fields(listing) for listing in expected]
        assert got[0].is_standard and all(listing.shop is shop for listing in got)
    assert {listing.title for listing in reads.listings_offered(shop, this)} == {
        Listing.objects.get(shop=shop, is_standard=True).title,
        "この期だけ",
        "両方の期",
        "いつでも",
    }


def test_operates_a_shop_agrees_with_the_orm_for_every_kind_of_shop(db):
    project = make_project()
    nobody, approved, pending, withdrawn = (make_user() for _ in range(4))
    make_shop(project, operators=[approved])
    make_shop(project, operators=[pending], approved=False)
    make_shop(project, operators=[withdrawn], approved=False, status=ShopStatus.WITHDRAWN)
    for user in (nobody, approved, pending, withdrawn):
        assert reads.operates_a_shop(user.pk) is user.operated_shops.exists(), user
    assert [reads.operates_a_shop(u.pk) for u in (nobody, approved, pending, withdrawn)] == [
        False,
        True,
        True,
        True,
    ]
