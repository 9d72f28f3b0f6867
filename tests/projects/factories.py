"""Small makers for catalog objects. Times are given relative to `now`, passed in."""

import datetime
import itertools

from django.utils import timezone

from projects.models import (
    Category,
    Listing,
    ListingReview,
    Municipality,
    Project,
    Round,
    Shop,
    ShopStatus,
)
from projects.services import shop_approve

_seq = itertools.count(1)


def make_project(**extra) -> Project:
    n = next(_seq)
    fields = {
        "name": f"頑張るお店応援プロジェクト{n}",
        "slug": f"project-{n}",
        "total_budget": 2_000_000_000,
    }
    return Project.objects.create(**{**fields, **extra})


def make_round(
    project: Project,
    *,
    number: int = 1,
    now: datetime.datetime | None = None,
    state="open",
    **extra,
) -> Round:
    """A round that is `state` ("open", "scheduled" or "closed") at `now`."""
    now = now or timezone.now()
    day = datetime.timedelta(days=1)
    opens_at = {"open": now - day, "scheduled": now + 3 * day, "closed": now - 30 * day}[state]
    closes_at = opens_at + 14 * day
    fields = {
        "project": project,
        "number": number,
        "shop_applications_close_at": opens_at - 7 * day,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "usage_starts_on": (closes_at + day).date(),
        "usage_ends_on": (closes_at + 180 * day).date(),
    }
    return Round.objects.create(**{**fields, **extra})


def make_shop(
    project: Project,
    *,
    operators=(),
    approved: bool = True,
    now: datetime.datetime | None = None,
    **extra,
) -> Shop:
    """A shop that applied before every round's deadline; approved (with its standard listing
    and rounds) unless told otherwise."""
    now = now or timezone.now()
    n = next(_seq)
    fields = {
        "project": project,
        "name": f"テスト食堂{n}",
        "name_kana": f"テストショクドウ{n}",
        "category": Category.RESTAURANT,
        "municipality": Municipality.YAMAGUCHI,
        "address": "山口県山口市亀山町1-1",
        "phone": "0830000000",
        "representative_name": "山田 太郎",
        "applied_at": now - datetime.timedelta(days=365),
        "status": ShopStatus.APPLIED,
        "applicant": operators[0] if operators else None,
    }
    shop = Shop.objects.create(**{**fields, **extra})
    shop.operators.set(operators)
    if approved:
        shop = shop_approve(shop=shop, now=now)
    return shop


def make_listing(shop: Shop, **extra) -> Listing:
    """A listing already approved by the office (on sale), unless told otherwise."""
    fields = {
        "title": "2名様ディナーコース",
        "unit_price": 10_000,
        "stock_limit": 50,
        "review_status": ListingReview.APPROVED,
        "reviewed_at": timezone.now(),
    }
    return Listing.objects.create(shop=shop, **{**fields, **extra})
