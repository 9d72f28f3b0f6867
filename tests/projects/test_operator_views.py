import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver, reverse
from PIL import Image

from projects.models import Listing, Shop, ShopRound, ShopStatus
from tests.conftest import download_url, make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop
from tests.url_catalogue import LISTING_POST, SHOP_APPLICATION_POST, VALID_POSTS


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def round_(project):
    return make_round(project)


@pytest.fixture
def operator(db):
    return make_user(email="operator-a@example.jp")


@pytest.fixture
def shop_a(project, round_, operator):
    return make_shop(project, operators=[operator], name="A店")


@pytest.fixture
def shop_b(project, round_):
    return make_shop(project, operators=[make_user(email="operator-b@example.jp")], name="B店")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def png_bytes(size=(40, 30), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 20)).save(buffer, format=fmt)
    return buffer.getvalue()


# --- Isolation: an operator of shop A can reach nothing of shop B ---------------------------

OPERATOR_URLS = sorted(
    name
    for name, values in get_resolver().namespace_dict["projects"][1].reverse_dict.items()
    if isinstance(name, str) and "shop_id" in values[0][0][1] and name != "shop_detail"
)


def test_the_isolation_tests_cover_every_operator_url():
    assert OPERATOR_URLS == [
        "manage_figures",
        "manage_figures_csv",
        "manage_listing_create",
        "manage_listing_edit",
        "manage_listing_withdraw",
        "manage_shop",
        "manage_shop_edit",
    ]


READ_ONLY = {"manage_figures", "manage_shop"}
# Answered to a POST under a nonce of the browser's own only (kaika/downloads.py).
DOWNLOADS = {"manage_figures_csv"}


def takes_listing(name) -> bool:
    return "listing" in name and name != "manage_listing_create"


def url_for(name, shop, listing=None):
    kwargs = {"shop_id": shop.pk}
    if takes_listing(name):
        kwargs["listing_id"] = listing.pk
    if name in DOWNLOADS:
        return download_url(f"projects:{name}", **kwargs)
    return reverse(f"projects:{name}", kwargs=kwargs)


def snapshot(shop):
    shop.refresh_from_db()
    listings = list(Listing.objects.filter(shop=shop).values().order_by("pk"))
    return (shop.description, shop.phone, shop.photo.name, listings)


def post_data(name, objects):
    key = f"projects:{name}"
    return VALID_POSTS[key](objects) if key in VALID_POSTS else {}


@pytest.mark.parametrize("name", OPERATOR_URLS)
def test_an_operator_of_shop_a_cannot_see_or_change_shop_b(operator_client, shop_a, shop_b, name):
    listing_a = make_listing(shop_a)
    listing_b = make_listing(shop_b, title="B店の限定リターン")
    before = snapshot(shop_b)

    # Shop B's ids, in full, and shop A's id with shop B's listing.
    urls = [url_for(name, shop_b, listing_b)]
    if takes_listing(name):
        urls.append(url_for(name, shop_a, listing_b))
    for url in urls:
        for method in ("get", "post"):
            data = post_data(name, {"shop": shop_b}) if method == "post" else None
            response = getattr(operator_client, method)(url, data or {})
            # Read-only pages refuse every POST alike (405), whoever's shop it names, and a
            # download every GET.
            refused = (method == "post" and name in READ_ONLY) or (
                method == "get" and name in DOWNLOADS
            )
            expected = 405 if refused else 404
            assert response.status_code == expected, f"{method.upper()} {url}"
            assert "B店" not in response.content.decode()
    assert snapshot(shop_b) == before

    # Control: the very same request on A's own shop and listing works, so the 404 above is
    # the scoping at work and not a broken URL.
    own = url_for(name, shop_a, listing_a)
    if name in DOWNLOADS:
        assert operator_client.post(own).status_code == 200
        return
    assert operator_client.get(own).status_code in (200, 302)
    if name not in READ_ONLY:
        response = operator_client.post(own, post_data(name, {"shop": shop_a}))
        assert response.status_code in (200, 302)


def test_negative_control_without_the_scoping_shop_b_would_leak(
    operator_client, shop_a, shop_b, monkeypatch
):
    """The probe above can see a leak: with the operator scoping switched off, the same
    request shows shop B."""
    from projects.models import ShopQuerySet

    monkeypatch.setattr(ShopQuerySet, "operated_by", lambda self, user: self.all())
    response = operator_client.get(url_for("manage_shop", shop_b))
    assert response.status_code == 200 and "B店" in response.content.decode()


@pytest.mark.parametrize("name", OPERATOR_URLS)
def test_operator_pages_need_a_login_and_are_never_cached(client, shop_a, name):
    listing = make_listing(shop_a)
    method = client.post if name in DOWNLOADS else client.get
    response = method(url_for(name, shop_a, listing))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert "no-store" in response["Cache-Control"]


def test_staff_without_operating_the_shop_get_404_too(client, staff_user, shop_b):
    client.force_login(staff_user)
    assert client.get(url_for("manage_shop", shop_b)).status_code == 404


def test_a_shop_may_have_several_operators_and_a_user_several_shops(
    operator_client, project, round_, operator
):
    partner = make_user()
    first = make_shop(project, operators=[operator, partner], name="一号店")
    second = make_shop(project, operators=[operator], name="二号店")
    html = operator_client.get(reverse("projects:manage_index")).content.decode()
    assert "一号店" in html and "二号店" in html
    operator_client.force_login(partner)
    assert operator_client.get(url_for("manage_shop", first)).status_code == 200
    assert operator_client.get(url_for("manage_shop", second)).status_code == 404


# --- Applying ------------------------------------------------------------------------------


def test_any_logged_in_user_can_apply_and_the_shop_waits_for_review(
    operator_client, operator, project, round_, client
):
    response = operator_client.post(reverse("projects:shop_apply"), SHOP_APPLICATION_POST)
    shop = Shop.objects.get(name=SHOP_APPLICATION_POST["name"])
    assert response.status_code == 302
    assert response["Location"] == url_for("manage_shop", shop)
    assert shop.status == ShopStatus.APPLIED
    assert shop.name_kana == "ウォーカーショクドウ"  # hiragana typed, katakana stored
    assert shop.phone == "0830000000"
    assert list(shop.operators.all()) == [operator] and shop.applicant == operator
    assert not Shop.objects.listed().filter(pk=shop.pk).exists()
    assert client.get(shop.get_absolute_url()).status_code == 404


def test_an_incomplete_application_shows_errors(operator_client, project):
    response = operator_client.post(reverse("projects:shop_apply"), {"name": "名前だけ"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Shop.objects.exists()


def test_listings_cannot_be_added_before_approval(operator_client, project, operator):
    pending = make_shop(project, operators=[operator], approved=False)
    response = operator_client.post(url_for("manage_listing_create", pending), LISTING_POST)
    assert response.status_code == 200
    assert "承認された店舗だけ" in response.content.decode()
    assert not pending.listings.exists()


# --- Profile and photo ---------------------------------------------------------------------


def edit_post(**extra):
    return {
        "description": "新しい紹介文",
        "opening_hours": "10:00-20:00",
        "address": "山口県山口市亀山町1-1",
        "phone": "083-111-2222",
        "website": "https://example.jp/",
        **extra,
    }


def test_an_operator_edits_the_profile_and_uploads_a_photo(operator_client, shop_a):
    photo = SimpleUploadedFile("../../etc/me.png", png_bytes(), content_type="image/png")
    response = operator_client.post(url_for("manage_shop_edit", shop_a), edit_post(photo=photo))
    assert response.status_code == 302
    shop_a.refresh_from_db()
    assert shop_a.description == "新しい紹介文" and shop_a.phone == "0831112222"
    # Stored under a random name chosen by us, with the extension of the real format.
    assert shop_a.photo.name.startswith("shops/") and shop_a.photo.name.endswith(".png")
    assert "etc" not in shop_a.photo.name and "me" not in shop_a.photo.name.removeprefix("shops/")


@pytest.mark.parametrize(
    ("filename", "content", "content_type"),
    [
        ("photo.png", b"<?php echo 'not an image'; ?>", "image/png"),
        ("photo.gif", None, "image/gif"),  # a real image, but not a format we accept
    ],
)
def test_a_photo_that_is_not_a_jpeg_png_or_webp_is_refused(
    operator_client, shop_a, filename, content, content_type
):
    if content is None:
        content = png_bytes(fmt="GIF")
    photo = SimpleUploadedFile(filename, content, content_type=content_type)
    response = operator_client.post(url_for("manage_shop_edit", shop_a), edit_post(photo=photo))
    assert response.status_code == 200
    assert response.context["form"].errors["photo"]
    shop_a.refresh_from_db()
    assert not shop_a.photo


def test_a_photo_over_5_mb_is_refused(operator_client, shop_a, monkeypatch):
    monkeypatch.setattr("projects.forms.MAX_PHOTO_BYTES", 100)
    photo = SimpleUploadedFile("big.png", png_bytes((200, 200)), content_type="image/png")
    response = operator_client.post(url_for("manage_shop_edit", shop_a), edit_post(photo=photo))
    assert "5MB" in str(response.context["form"].errors["photo"])


# --- Listings ------------------------------------------------------------------------------


def test_an_operator_adds_a_limited_listing_for_one_round(operator_client, shop_a, round_):
    response = operator_client.post(
        url_for("manage_listing_create", shop_a),
        {**LISTING_POST, "rounds": [round_.pk]},
    )
    assert response.status_code == 302
    listing = shop_a.listings.get(is_standard=False)
    assert listing.title == "2名様ディナーコース" and listing.stock_limit == 50
    assert list(listing.rounds.all()) == [round_]


def test_a_listing_starts_at_the_projects_unit_price(operator_client, shop_a):
    response = operator_client.get(url_for("manage_listing_create", shop_a))
    assert response.context["form"]["unit_price"].value() == 1000


def test_a_listing_cannot_be_tied_to_a_round_the_shop_does_not_join(operator_client, shop_a):
    elsewhere = make_round(make_project(), number=1)
    response = operator_client.post(
        url_for("manage_listing_create", shop_a), {**LISTING_POST, "rounds": [elsewhere.pk]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["rounds"]


def test_stock_cannot_be_set_below_what_is_sold(operator_client, shop_a):
    listing = make_listing(shop_a, stock_limit=50)
    Listing.objects.filter(pk=listing.pk).update(units_sold=30)
    response = operator_client.post(
        url_for("manage_listing_edit", shop_a, listing), {**LISTING_POST, "stock_limit": "29"}
    )
    assert response.status_code == 200
    assert "30口" in str(response.context["form"].errors["stock_limit"])
    listing.refresh_from_db()
    assert listing.stock_limit == 50


def test_withdrawing_a_listing_with_sales_keeps_it_deactivated(operator_client, shop_a):
    sold = make_listing(shop_a)
    Listing.objects.filter(pk=sold.pk).update(units_sold=3)
    unsold = make_listing(shop_a)
    operator_client.post(url_for("manage_listing_withdraw", shop_a, sold), {"confirm": "1"})
    operator_client.post(url_for("manage_listing_withdraw", shop_a, unsold), {"confirm": "1"})
    sold.refresh_from_db()
    assert not sold.is_active and sold.units_sold == 3
    assert not Listing.objects.filter(pk=unsold.pk).exists()


def test_a_withdrawal_needs_the_confirmation_form(operator_client, shop_a):
    listing = make_listing(shop_a)
    response = operator_client.post(url_for("manage_listing_withdraw", shop_a, listing), {})
    assert response.status_code == 200
    assert Listing.objects.filter(pk=listing.pk, is_active=True).exists()


def test_the_standard_listing_is_not_editable_by_operators(operator_client, shop_a):
    standard = shop_a.listings.get(is_standard=True)
    for name in ("manage_listing_edit", "manage_listing_withdraw"):
        response = operator_client.post(
            url_for(name, shop_a, standard), {**LISTING_POST, "confirm": "1", "unit_price": "1"}
        )
        assert response.status_code == 302
    standard.refresh_from_db()
    assert standard.unit_price == 1000 and standard.is_active


# --- Figures -------------------------------------------------------------------------------


def test_figures_per_round_are_shown_and_downloadable_as_csv(operator_client, shop_a):
    ShopRound.objects.filter(shop=shop_a).update(
        supporters_count=4, units_sold=12, amount_raised=12_000, tickets_issued_amount=18_000
    )
    page = operator_client.get(url_for("manage_figures", shop_a))
    assert "12,000" in page.content.decode() and "18,000" in page.content.decode()
    response = operator_client.post(url_for("manage_figures_csv", shop_a))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "期" and rows[0][3] == "支援者数"
    assert rows[1][0] == "第1期"
    assert rows[1][3:] == ["4", "12", "12000", "18000", "0"]


def test_figures_are_zero_until_purchases_exist(operator_client, shop_a):
    response = operator_client.post(url_for("manage_figures_csv", shop_a))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][3:] == ["0", "0", "0", "0", "0"]
