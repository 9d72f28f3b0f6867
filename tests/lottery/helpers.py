"""Makers for the lottery tests: a lottery round whose window opens at 9:00 sharp."""

import datetime
from dataclasses import dataclass

from lottery.models import LotteryRound
from lottery.services import application_save, lottery_create
from projects.models import AllocationMode, Listing, Project, Round, Shop
from supporters.models import User
from tests.projects.factories import make_listing, make_project, make_round, make_shop

JST = datetime.timezone(datetime.timedelta(hours=9))
OPENING = datetime.datetime(2031, 8, 31, 9, 0, 0, tzinfo=JST)
BEFORE = OPENING - datetime.timedelta(days=1)
DURING = OPENING + datetime.timedelta(hours=1)
CLOSING = OPENING + datetime.timedelta(days=14)
AFTER = CLOSING + datetime.timedelta(hours=1)


@dataclass
class LotteryOffer:
    project: Project
    round: Round
    shop: Shop
    standard: Listing
    limited: Listing
    lottery: LotteryRound


def make_lottery_offer(*, stock=10, opening=OPENING, committed_at=None, **project_fields):
    project = make_project(**project_fields)
    round_ = make_round(
        project,
        number=1,
        opens_at=opening,
        closes_at=opening + datetime.timedelta(days=14),
        shop_applications_close_at=opening - datetime.timedelta(days=7),
        usage_starts_on=(opening + datetime.timedelta(days=15)).date(),
        usage_ends_on=(opening + datetime.timedelta(days=200)).date(),
        allocation_mode=AllocationMode.LOTTERY,
    )
    shop = make_shop(project, now=opening - datetime.timedelta(days=10))
    standard = shop.listings.get(is_standard=True)
    limited = make_listing(shop, unit_price=5_000, stock_limit=stock, per_person_limit=2)
    lottery = lottery_create(
        round_=round_,
        payment_hours=72,
        now=committed_at or opening - datetime.timedelta(days=1),
    )
    return LotteryOffer(project, round_, shop, standard, limited, lottery)


def people(count: int, prefix: str = "applicant") -> list[User]:
    return [User.objects.create(email=f"{prefix}{i}@example.jp") for i in range(count)]


def apply(offer: LotteryOffer, supporter, wishes: dict, now=DURING):
    return application_save(
        lottery=offer.lottery,
        supporter=supporter,
        wishes={listing.pk: units for listing, units in wishes.items()},
        now=now,
    )
