import datetime

import pytest
from django.utils import timezone

from projects.models import Listing, RoundStatus, Shop, ShopRound, ShopStatus
from projects.services import (
    CatalogError,
    listing_update,
    listing_withdraw,
    round_enrol_shops,
    round_resume,
    round_suspend,
    shop_approve,
    shop_reject,
)
from tests.conftest import make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop

DAY = datetime.timedelta(days=1)


@pytest.fixture
def project(db):
    return make_project()


def test_approval_lists_the_shop_with_the_standard_listing_and_emails_the_applicant(
    project, mailoutbox, django_capture_on_commit_callbacks
):
    make_round(project)
    applicant = make_user(email="owner@example.jp")
    shop = make_shop(project, operators=[applicant], approved=False)
    with django_capture_on_commit_callbacks(execute=True):
        shop_approve(shop=shop, now=timezone.now(), comment="営業実態を確認しました。")
    shop.refresh_from_db()
    assert shop.status == ShopStatus.APPROVED
    assert Shop.objects.listed().filter(pk=shop.pk).exists()
    standard = shop.listings.get()
    assert standard.is_standard and standard.premium_applies
    assert standard.unit_price == 1000 and standard.stock_limit is None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["owner@example.jp"]
    assert "承認" in mailoutbox[0].subject
    assert "営業実態を確認しました。" in mailoutbox[0].body
    # The link works from a mail client: absolute, on the site's address.
    assert f"http://127.0.0.1:8000/shops/manage/{shop.pk}/" in mailoutbox[0].body


def test_no_email_leaves_when_the_approval_rolls_back(
    project, mailoutbox, django_capture_on_commit_callbacks
):
    shop = make_shop(project, operators=[make_user()], approved=False)
    Shop.objects.filter(pk=shop.pk).update(status=ShopStatus.WITHDRAWN)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CatalogError):
        shop_approve(shop=shop, now=timezone.now())
    assert mailoutbox == []


def test_a_shop_cannot_be_approved_twice(project):
    shop = make_shop(project)
    with pytest.raises(CatalogError) as error:
        shop_approve(shop=shop, now=timezone.now())
    assert error.value.code == "shop_not_pending"
    assert shop.listings.count() == 1


def test_rejection_emails_the_comment_and_keeps_the_shop_unlisted(
    project, mailoutbox, django_capture_on_commit_callbacks
):
    shop = make_shop(project, operators=[make_user(email="r@example.jp")], approved=False)
    with django_capture_on_commit_callbacks(execute=True):
        shop_reject(shop=shop, now=timezone.now(), comment="所在地を確認できませんでした。")
    shop.refresh_from_db()
    assert shop.status == ShopStatus.REJECTED
    assert not shop.listings.exists()
    assert "所在地を確認できませんでした。" in mailoutbox[0].body


def test_the_application_date_decides_which_rounds_a_shop_joins(project):
    now = timezone.now()
    past = make_round(project, number=1, state="closed", now=now)
    open_ = make_round(project, number=2, now=now)
    later = make_round(project, number=3, state="scheduled", now=now)
    # Applied after round 2's deadline but before round 3's.
    applied_at = open_.shop_applications_close_at + DAY
    assert applied_at < later.shop_applications_close_at
    shop = make_shop(project, applied_at=applied_at, now=now)
    assert set(shop.rounds.all()) == {later}
    early = make_shop(project, applied_at=past.shop_applications_close_at - DAY, now=now)
    # A round already over is not joined retroactively.
    assert set(early.rounds.all()) == {open_, later}


def test_a_round_created_later_takes_the_approved_shops_that_applied_in_time(project):
    now = timezone.now()
    listed = make_shop(project, now=now)
    make_shop(project, approved=False, now=now)
    late = make_shop(project, applied_at=now + 10 * DAY, now=now)
    new_round = make_round(project, number=5, state="scheduled", now=now)
    assert round_enrol_shops(round_=new_round, now=now) == 1
    assert list(new_round.shops.all()) == [listed]
    assert not ShopRound.objects.filter(shop=late).exists()
    # Idempotent.
    round_enrol_shops(round_=new_round, now=now)
    assert new_round.shops.count() == 1


def test_stock_cannot_be_set_below_what_is_sold_even_if_the_form_saw_less(project):
    listing = make_listing(make_shop(project), stock_limit=50)
    stale = Listing.objects.get(pk=listing.pk)  # the operator's form loaded it at 0 sold
    Listing.objects.filter(pk=listing.pk).update(units_sold=30)  # sales meanwhile
    with pytest.raises(CatalogError) as error:
        listing_update(listing=stale, data={"stock_limit": 20}, now=timezone.now())
    assert error.value.code == "stock_below_sold"
    assert "30口" in error.value.message
    assert (
        listing_update(listing=stale, data={"stock_limit": 30}, now=timezone.now()).stock_limit
        == 30
    )


def test_a_listing_with_sales_is_deactivated_and_one_without_is_deleted(project):
    shop = make_shop(project)
    sold = make_listing(shop)
    Listing.objects.filter(pk=sold.pk).update(units_sold=1)
    unsold = make_listing(shop)
    assert listing_withdraw(listing=sold) is False
    sold.refresh_from_db()
    assert not sold.is_active
    assert listing_withdraw(listing=unsold) is True
    assert not Listing.objects.filter(pk=unsold.pk).exists()


def test_the_standard_listing_can_be_neither_changed_nor_withdrawn(project):
    standard = make_shop(project).listings.get(is_standard=True)
    with pytest.raises(CatalogError):
        listing_update(listing=standard, data={"unit_price": 1}, now=timezone.now())
    with pytest.raises(CatalogError):
        listing_withdraw(listing=standard)


def test_suspending_a_round_closes_it_until_resumed(project):
    now = timezone.now()
    round_ = make_round(project, now=now)
    with pytest.raises(CatalogError):
        round_suspend(round_=round_, reason="  ", now=now)
    round_suspend(round_=round_, reason="不具合の調査のため", now=now)
    assert round_.status_at(now) == RoundStatus.SUSPENDED
    assert round_.suspended_at == now
    round_resume(round_=round_)
    assert round_.status_at(now) == RoundStatus.OPEN
