"""A listing goes on sale only once the office approves it, and again after a change of its
price or premium; its price follows the project's rules (a multiple of 1口's amount, no more
than one application, tickets that split into the denomination with no odd remainder)."""

import importlib

import pytest
from django.apps import apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Listing, ListingReview, Project
from projects.services import CatalogError, listing_approve, listing_create, listing_reject
from purchases import services as purchases_services
from purchases.services import PurchaseError, order_terms
from tests.conftest import make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop
from tests.purchases.helpers import buy, make_offer
from tests.url_catalogue import LISTING_POST

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return make_user(email="listing-operator@example.jp")


@pytest.fixture
def shop(operator):
    project = make_project()
    make_round(project)
    return make_shop(project, operators=[operator], name="審査食堂")


@pytest.fixture
def operator_client(operator):
    client = Client()  # beside staff_client, in a browser of its own
    client.force_login(operator)
    return client


def create_url(shop) -> str:
    return reverse("projects:manage_listing_create", kwargs={"shop_id": shop.pk})


def edit_url(listing) -> str:
    return reverse(
        "projects:manage_listing_edit",
        kwargs={"shop_id": listing.shop_id, "listing_id": listing.pk},
    )


def shop_page(client, shop) -> str:
    return client.get(shop.get_absolute_url()).content.decode()


def admin_decide(client, listings, action, comment, capture):
    chosen = {"action": action, ACTION_CHECKBOX_NAME: [x.pk for x in listings]}
    with capture(execute=True):
        return client.post(
            reverse("admin:projects_listing_changelist"),
            {**chosen, "apply": "1", "comment": comment},
        )


# --- Prices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price, accepted",
    [
        ("500", False),  # less than 1口 (1,000円)
        ("1234", False),  # the "351円券" listing
        ("1500", False),  # not a multiple of 1,000円
        ("1000000", False),  # more than one application (20,000円)
        ("1000", True),
        ("3000", True),  # 4,500円 of tickets: nine 500円 tickets
        ("20000", True),
    ],
)
def test_the_listing_form_takes_only_prices_that_follow_the_projects_rules(
    operator_client, shop, price, accepted
):
    response = operator_client.post(create_url(shop), {**LISTING_POST, "unit_price": price})
    assert (response.status_code == 302) is accepted
    assert shop.listings.filter(is_standard=False).exists() is accepted
    if not accepted:
        assert response.context["form"].errors["unit_price"]


def test_the_face_value_must_split_into_the_denomination(shop):
    project = shop.project
    Project.objects.filter(pk=project.pk).update(ticket_denomination=1000)
    project.refresh_from_db()
    listing = Listing(shop=shop, title="t", unit_price=1000, premium_applies=True)
    listing.shop.project = project
    with pytest.raises(ValidationError) as error:
        listing.clean()  # 1,500円 of tickets cannot be 1,000円 tickets
    assert "1,500円が1,000円券で割り切れません" in str(error.value)
    listing.unit_price = 2000  # 3,000円: three tickets
    listing.clean()
    listing.premium_applies = False
    listing.unit_price = 1000  # 1,000円 without premium: one ticket
    listing.clean()


def test_a_service_call_cannot_skip_the_price_rules(shop):
    with pytest.raises(CatalogError) as error:
        listing_create(shop=shop, data={"title": "351円券", "unit_price": 1234}, now=timezone.now())
    assert error.value.code == "listing_price"
    assert not shop.listings.filter(is_standard=False).exists()


def test_a_project_whose_own_unit_does_not_split_is_refused():
    project = Project(name="p", slug="p", total_budget=1, unit_price=1000, ticket_denomination=400)
    with pytest.raises(ValidationError) as error:
        project.full_clean()
    assert "unit_price" in error.value.message_dict


def test_the_database_refuses_a_zero_price_or_a_rejection_without_a_reason(shop):
    listing = make_listing(shop)
    with pytest.raises(IntegrityError), transaction.atomic():
        Listing.objects.filter(pk=listing.pk).update(unit_price=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Listing.objects.filter(pk=listing.pk).update(review_status=ListingReview.REJECTED)


# --- Review ----------------------------------------------------------------------------------


def test_a_new_listing_waits_for_review_off_sale(operator_client, client, shop):
    response = operator_client.post(create_url(shop), LISTING_POST, follow=True)
    listing = shop.listings.get(is_standard=False)
    assert listing.review_status == ListingReview.PENDING and listing.submitted_at
    assert "承認されるまで販売されません" in response.content.decode()
    assert (
        "審査待ち"
        in operator_client.get(
            reverse("projects:manage_shop", kwargs={"shop_id": shop.pk})
        ).content.decode()
    )
    assert "2名様ディナーコース" not in shop_page(client, shop)
    round_ = shop.project.rounds.get()
    assert list(shop.listings.offered_in(round_)) == [shop.listings.get(is_standard=True)]


def test_a_draft_is_kept_without_asking_for_review(operator_client, shop):
    operator_client.post(create_url(shop), {**LISTING_POST, "save_draft": "1"})
    assert shop.listings.get(is_standard=False).review_status == ListingReview.DRAFT


def test_staff_approve_in_admin_the_operators_are_emailed_and_the_listing_goes_on_sale(
    staff_client, client, operator, shop, mailoutbox, django_capture_on_commit_callbacks
):
    co_operator = make_user(email="second-operator@example.jp")
    shop.operators.add(co_operator)
    listing = listing_create(
        shop=shop, data={"title": "ランチ券", "unit_price": 3000}, now=timezone.now()
    )
    first = staff_client.post(
        reverse("admin:projects_listing_changelist"),
        {"action": "approve_listings", ACTION_CHECKBOX_NAME: [listing.pk]},
    )
    assert first.status_code == 200  # confirmed first
    assert Listing.objects.get(pk=listing.pk).review_status == ListingReview.PENDING
    response = admin_decide(
        staff_client, [listing], "approve_listings", "", django_capture_on_commit_callbacks
    )
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.review_status == ListingReview.APPROVED and listing.reviewed_at
    (email,) = mailoutbox
    assert sorted(email.to) == sorted([operator.email, co_operator.email])
    assert "ランチ券" in email.subject and "承認しました" in email.subject
    assert LogEntry.objects.filter(object_id=str(listing.pk)).count() == 1
    assert "ランチ券" in shop_page(client, shop)


def test_staff_send_a_listing_back_with_a_reason_which_the_operator_sees(
    staff_client, operator_client, shop, mailoutbox, django_capture_on_commit_callbacks
):
    listing = listing_create(
        shop=shop, data={"title": "怪しい券", "unit_price": 1000}, now=timezone.now()
    )
    refused = admin_decide(
        staff_client, [listing], "reject_listings", "", django_capture_on_commit_callbacks
    )
    assert refused.status_code == 200  # the form again: a rejection says why
    assert Listing.objects.get(pk=listing.pk).review_status == ListingReview.PENDING
    admin_decide(
        staff_client,
        [listing],
        "reject_listings",
        "内容がリターンの規程に合いません",
        django_capture_on_commit_callbacks,
    )
    listing.refresh_from_db()
    assert listing.review_status == ListingReview.REJECTED
    assert "内容がリターンの規程に合いません" in mailoutbox[-1].body
    manage = operator_client.get(reverse("projects:manage_shop", kwargs={"shop_id": shop.pk}))
    assert "内容がリターンの規程に合いません" in manage.content.decode()
    # Edited and sent again: waiting for review, the old reason gone.
    operator_client.post(edit_url(listing), {**LISTING_POST, "title": "見直した券"})
    listing.refresh_from_db()
    assert (listing.review_status, listing.review_comment) == (ListingReview.PENDING, "")


def test_a_change_of_price_or_premium_sends_an_approved_listing_back_to_review(
    operator_client, client, shop
):
    listing = make_listing(shop, title="コース", unit_price=10_000, per_person_limit=2)
    same = {**LISTING_POST, "title": "コース(改)"}
    operator_client.post(edit_url(listing), same)
    listing.refresh_from_db()
    assert listing.review_status == ListingReview.APPROVED and listing.title == "コース(改)"
    assert "コース(改)" in shop_page(client, shop)
    for change in ({"unit_price": "12000"}, {"premium_applies": ""}):
        Listing.objects.filter(pk=listing.pk).update(
            review_status=ListingReview.APPROVED, unit_price=10_000, premium_applies=True
        )
        data = {**same, **change}
        if not change.get("premium_applies", "on"):
            del data["premium_applies"]  # an unticked box is not sent
        operator_client.post(edit_url(listing), data)
        listing.refresh_from_db()
        assert listing.review_status == ListingReview.PENDING, change
        assert "コース(改)" not in shop_page(client, shop)


def test_approval_checks_the_price_again(shop):
    listing = make_listing(shop, review_status=ListingReview.PENDING, unit_price=1234)
    with pytest.raises(CatalogError) as error:
        listing_approve(listing=listing, now=timezone.now())
    assert error.value.code == "listing_price"
    assert Listing.objects.get(pk=listing.pk).review_status == ListingReview.PENDING


def test_the_standard_listing_cannot_be_sent_back(shop):
    with pytest.raises(CatalogError):
        listing_reject(listing=shop.listings.get(is_standard=True), now=timezone.now(), comment="x")


@pytest.mark.parametrize("path", [pytest.param("database", marks=pytest.mark.postgres), "python"])
@pytest.mark.parametrize(
    "status", [ListingReview.DRAFT, ListingReview.PENDING, ListingReview.REJECTED]
)
def test_an_unapproved_listing_cannot_be_bought_on_either_reservation_path(
    monkeypatch, path, status
):
    if path == "python":
        monkeypatch.setattr(
            purchases_services,
            "_order_create_in_database",
            purchases_services._order_create_in_python,
        )
    offer = make_offer()
    listing = offer.limited(unit_price=1000, review_status=status, review_comment="理由")
    with pytest.raises(PurchaseError) as error:
        buy(offer, make_user(), listing=listing)
    assert error.value.code == "listing_not_available"
    terms = order_terms(listing_id=listing.pk, round_id=offer.round.pk, units=1)
    assert not terms.listing.offered
    Listing.objects.filter(pk=listing.pk).update(review_status=ListingReview.APPROVED)
    assert buy(offer, make_user(), listing=listing).units == 1


# --- Listings made before the review existed -------------------------------------------------


def test_the_migration_approves_listings_on_sale_at_sound_prices_and_sends_back_the_rest(shop):
    migration = importlib.import_module("projects.migrations.0004_listing_review_and_price_rules")
    sound = make_listing(shop, unit_price=3000, review_status=ListingReview.DRAFT)
    odd = make_listing(shop, unit_price=1234, review_status=ListingReview.DRAFT)
    off = make_listing(shop, unit_price=1234, is_active=False, review_status=ListingReview.DRAFT)
    standard = shop.listings.get(is_standard=True)
    Listing.objects.filter(pk=standard.pk).update(review_status=ListingReview.DRAFT)
    migration.review_existing_listings(apps, None)
    statuses = dict(Listing.objects.values_list("pk", "review_status"))
    assert statuses == {
        standard.pk: ListingReview.APPROVED,
        sound.pk: ListingReview.APPROVED,
        odd.pk: ListingReview.REJECTED,
        off.pk: ListingReview.DRAFT,
    }
    assert "金額を見直して" in Listing.objects.get(pk=odd.pk).review_comment
