import datetime
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from projects.models import (
    Category,
    Listing,
    Municipality,
    Project,
    Round,
    Shop,
    ShopRound,
    ShopStatus,
)
from projects.views import SHOPS_PER_PAGE
from tests.conftest import using_postgres
from tests.projects.factories import make_listing, make_project, make_round, make_shop


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def open_round(project):
    return make_round(project, number=1)


def is_public(response) -> bool:
    cache_control = response.get("Cache-Control", "")
    return "public" in cache_control and "private" not in cache_control


def max_age(response, directive: str = "max-age") -> int:
    for part in response["Cache-Control"].split(","):
        if part.strip().startswith(f"{directive}="):
            return int(part.strip().removeprefix(f"{directive}="))
    raise AssertionError(response["Cache-Control"])


def round_opening_in(project, *, seconds: int) -> datetime.datetime:
    """A round of `project` that opens `seconds` from now; returns its opening time."""
    soon = timezone.now() + datetime.timedelta(seconds=seconds)
    make_round(
        project,
        opens_at=soon,
        closes_at=soon + datetime.timedelta(days=7),
        shop_applications_close_at=soon - datetime.timedelta(days=7),
    )
    return soon


def test_home_shows_the_open_round_its_countdown_and_zero_figures(client, open_round):
    response = client.get("/")
    html = response.content.decode()
    assert is_public(response)
    assert "第1期 募集中" in html
    assert "募集終了まで" in html
    assert 'data-unit="days">12<' in html or 'data-unit="days">13<' in html
    assert "お支払い済みの支援 0円 / 予算 2,000,000,000円" in html
    assert 'value="0"' in html and "支援者数" in html


def test_home_counts_down_to_the_opening_of_a_scheduled_round(client, project):
    make_round(project, number=2, state="scheduled")
    html = client.get("/").content.decode()
    assert "第2期 募集開始前" in html
    assert "募集開始まで" in html


def test_home_is_never_cached_past_the_opening(client, project):
    """A cached "opens in 20 s" must not be served after 9:00: max-age stops at the opening."""
    soon = round_opening_in(project, seconds=20)
    response = client.get("/")
    assert is_public(response)
    assert max_age(response) <= 20
    # Control: far from any change, the page keeps its normal lifetime.
    Round.objects.update(opens_at=soon + datetime.timedelta(days=1))
    assert max_age(client.get("/")) == 60


def test_home_says_when_a_round_is_suspended(client, open_round):
    open_round.suspended = True
    open_round.suspension_reason = "システム点検のため"
    open_round.save()
    html = client.get("/").content.decode()
    assert "一時停止中" in html and "システム点検のため" in html
    assert "募集終了まで" not in html


def test_home_without_any_project_still_renders(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "現在、実施中のプロジェクトはありません" in response.content.decode()


def test_home_shows_the_progress_the_purchases_app_will_count(client, open_round):
    Project.objects.update(amount_paid=500_000_000, supporters_count=1647)
    html = client.get("/").content.decode()
    assert 'value="500000000"' in html
    assert "25%" in html and "1,647" in html


def test_shop_list_shows_only_listed_shops_of_the_current_project(client, project, open_round):
    listed = make_shop(project, name="公開中の店")
    make_shop(project, name="審査中の店", approved=False)
    other = make_project(name="昔のプロジェクト")
    Project.objects.filter(pk=other.pk).update(
        created_at=project.created_at - datetime.timedelta(1)
    )
    make_shop(other, name="他のプロジェクトの店")
    response = client.get(reverse("projects:shop_list"))
    html = response.content.decode()
    assert is_public(response)
    assert listed.name in html
    assert "審査中の店" not in html and "他のプロジェクトの店" not in html


def test_shop_list_searches_by_kana_and_filters_by_category_and_municipality(
    client, project, open_round
):
    fugu = make_shop(
        project,
        name="ふく料理 関門",
        name_kana="フクリョウリカンモン",
        municipality=Municipality.SHIMONOSEKI,
    )
    cafe = make_shop(
        project,
        name="喫茶 かもめ",
        name_kana="キッサカモメ",
        category=Category.CAFE,
        municipality=Municipality.SHIMONOSEKI,
    )
    make_shop(
        project,
        name="萩の宿",
        name_kana="ハギノヤド",
        category=Category.LODGING,
        municipality=Municipality.HAGI,
    )
    url = reverse("projects:shop_list")

    def names(**params):
        response = client.get(url, params)
        assert is_public(response)
        return {s.name for s in response.context["shops"]}

    assert names(q="かんもん") == {fugu.name}
    assert names(municipality="shimonoseki") == {fugu.name, cafe.name}
    assert names(municipality="shimonoseki", category="cafe") == {cafe.name}
    assert names(q="はぎ", category="cafe") == set()
    assert len(names()) == 3
    # An unknown filter value is ignored, not an error page.
    assert len(names(category="nonsense")) == 3


def test_shop_list_paginates_and_keeps_the_filters_in_page_links(client, project, open_round):
    for _ in range(SHOPS_PER_PAGE + 1):
        make_shop(project, municipality=Municipality.UBE)
    response = client.get(reverse("projects:shop_list"), {"municipality": "ube"})
    assert len(response.context["shops"]) == SHOPS_PER_PAGE
    assert "?municipality=ube&amp;page=2" in response.content.decode()
    second = client.get(reverse("projects:shop_list"), {"municipality": "ube", "page": "2"})
    assert len(second.context["shops"]) == 1


def test_shop_list_issues_the_same_few_queries_for_3_or_40_shops(
    client, project, open_round, django_assert_num_queries, site_switch_cached
):
    url = reverse("projects:shop_list")
    for _ in range(3):
        make_shop(project)
    with django_assert_num_queries(3):  # project, count, page
        client.get(url, {"q": "テスト"})
    for _ in range(37):
        make_shop(project)
    with django_assert_num_queries(3):
        response = client.get(url, {"q": "テスト"})
    assert len(response.context["shops"]) == SHOPS_PER_PAGE


def test_shop_detail_shows_listings_with_remaining_stock_as_numbers(client, project, open_round):
    shop = make_shop(project)
    dinner = make_listing(shop, title="2名様ディナーコース", stock_limit=50)
    Listing.objects.filter(pk=dinner.pk).update(units_sold=12)
    ShopRound.objects.filter(shop=shop).update(supporters_count=7, amount_paid=34_000)
    make_listing(shop, title="販売停止のリターン", is_active=False)
    response = client.get(shop.get_absolute_url())
    html = response.content.decode()
    assert is_public(response)
    assert "プレミアム付きチケット" in html
    assert "2名様ディナーコース" in html and '残り <span class="figure">38</span> / 50' in html
    assert "販売停止のリターン" not in html
    assert '<span class="figure">7人</span>' in html and "34,000" in html


def test_shared_caches_keep_a_shop_page_longer_than_the_other_public_pages(
    client, project, open_round, settings
):
    """Shop pages are kept KAIKA_SHOP_PAGE_SHARED_MAX_AGE by the microcache and CDNs (issue 8);
    home and the shop list keep their one-second copy."""
    shop = make_shop(project)
    response = client.get(shop.get_absolute_url())
    assert is_public(response)
    assert max_age(response, "s-maxage") == settings.KAIKA_SHOP_PAGE_SHARED_MAX_AGE == 60
    # Browsers keep no copy: nginx sends no Age, so theirs would add a minute to the front's.
    assert max_age(response) == 0
    for url in ("/", "/shops/", f"/en{shop.get_absolute_url()}"):
        expected = 60 if url.startswith("/en/shops/") else 1
        assert max_age(client.get(url), "s-maxage") == expected, url

    settings.KAIKA_SHOP_PAGE_SHARED_MAX_AGE = 1
    assert max_age(client.get(shop.get_absolute_url()), "s-maxage") == 1
    settings.KAIKA_SHOP_PAGE_SHARED_MAX_AGE = 600
    assert max_age(client.get(shop.get_absolute_url()), "s-maxage") == 60  # never past max-age


def test_a_shop_page_copy_never_outlives_the_opening_of_the_round(client, project):
    """However long shop pages are kept, "opens in 12 s" is never served after the opening."""
    soon = round_opening_in(project, seconds=12)
    shop = make_shop(project)
    response = client.get(shop.get_absolute_url())
    assert is_public(response)
    assert max_age(response, "s-maxage") <= 12 and max_age(response) == 0
    # Control: far from any change, the shop page's own lifetime.
    Round.objects.update(opens_at=soon + datetime.timedelta(days=1))
    assert max_age(client.get(shop.get_absolute_url()), "s-maxage") == 60


def test_a_shop_page_says_when_its_figures_were_counted(client, project, open_round):
    shop = make_shop(project)
    moment = timezone.localtime()
    html = client.get(shop.get_absolute_url()).content.decode()
    counted = [(moment + datetime.timedelta(seconds=s)).strftime("%H:%M:%S") for s in range(0, 3)]
    assert any(f"{c} 時点の数字です" in html for c in counted), html
    assert "お申し込みの際に、その時の残りを確かめます。" in html
    english = client.get(f"/en{shop.get_absolute_url()}").content.decode()
    assert any(f"Figures as counted at {c} " in english for c in counted)


def test_shop_detail_never_shows_who_operates_or_supports_the_shop(client, project, open_round):
    from tests.conftest import make_user

    operator = make_user(email="owner-secret@example.jp", family_name="秘密", given_name="店主")
    shop = make_shop(project, operators=[operator])
    client.force_login(operator)
    response = client.get(shop.get_absolute_url())
    html = response.content.decode()
    assert is_public(response)
    assert "owner-secret@example.jp" not in html and "秘密" not in html
    assert "csrfmiddlewaretoken" not in html


def test_listings_offered_in_another_round_are_not_shown(client, project, open_round):
    later = make_round(project, number=2, state="scheduled")
    shop = make_shop(project)
    make_listing(shop, title="第2期限定").rounds.set([later])
    make_listing(shop, title="第1期限定").rounds.set([open_round])
    html = client.get(shop.get_absolute_url()).content.decode()
    assert "第1期限定" in html and "第2期限定" not in html


def test_shop_detail_issues_the_same_queries_for_1_or_20_listings(
    client, project, open_round, django_assert_num_queries, site_switch_cached
):
    shop = make_shop(project)
    with django_assert_num_queries(4):  # shop with its project, round, participation, listings
        client.get(shop.get_absolute_url())
    for n in range(19):
        make_listing(shop, title=f"限定{n}").rounds.set([open_round])
    with django_assert_num_queries(4):
        response = client.get(shop.get_absolute_url())
    assert len(response.context["listings"]) == 20


def test_unlisted_shops_are_not_found(client, project, open_round):
    pending = make_shop(project, approved=False)
    response = client.get(pending.get_absolute_url())
    assert response.status_code == 404
    assert "private" in response["Cache-Control"]
    listed = make_shop(project)
    for status in (ShopStatus.REJECTED, ShopStatus.WITHDRAWN):
        Shop.objects.filter(pk=listed.pk).update(status=status)
        assert client.get(listed.get_absolute_url()).status_code == 404, status
    for shop_id in (10**12, 2**63, 10**30):
        assert client.get(f"/shops/{shop_id}/").status_code == 404, shop_id


def test_a_shop_not_taking_part_in_the_current_round_shows_the_round_and_no_listings(
    client, project, open_round
):
    shop = make_shop(project)
    ShopRound.objects.filter(shop=shop).delete()
    response = client.get(shop.get_absolute_url())
    assert response.context["round"] == open_round and response.context["participation"] is None
    assert response.context["listings"] == []
    assert "このお店は、この期には参加していません。" in response.content.decode()


def test_project_and_round_pages_show_the_rules_and_the_rounds(client, project, open_round):
    make_round(project, number=2, state="scheduled")
    make_shop(project)
    html = client.get(project.get_absolute_url()).content.decode()
    assert "第1期" in html and "第2期" in html and "募集開始前" in html
    assert "15,000円分" in html and "20,000" in html and "100,000" in html
    round_page = client.get(open_round.get_absolute_url())
    assert is_public(round_page)
    assert round_page.context["shops_count"] == 1
    assert client.get("/projects/no-such-project/").status_code == 404
    assert client.get(f"/projects/{project.slug}/rounds/9/").status_code == 404


@pytest.mark.parametrize("name", ["projects:faq", "projects:terms", "projects:privacy"])
def test_static_pages_are_public_and_linked_from_every_page(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200 and is_public(response)
    assert f'href="{reverse(name)}"' in client.get("/").content.decode()


def test_the_header_links_to_the_shop_list(client, db):
    assert f'href="{reverse("projects:shop_list")}"' in client.get("/").content.decode()


def test_english_pages_are_served_under_en(client, project, open_round):
    shop = make_shop(project)
    response = client.get(f"/en/shops/{shop.pk}/")
    assert response.status_code == 200 and is_public(response)


@pytest.mark.postgres
def test_shop_search_uses_the_trigram_index_on_postgresql(project):
    assert using_postgres()
    from projects.models import Shop

    for _ in range(5):
        make_shop(project)
    query = Shop.objects.search("ショクドウ")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'projects_shop_search_trgm'"
        )
        (indexdef,) = cursor.fetchone()
        assert "gin_trgm_ops" in indexdef
        # With sequential scans priced out, the planner can serve the LIKE only by the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "projects_shop_search_trgm" in plan, plan


def test_the_running_total_figures_per_unit_come_from_the_listing(client, project, open_round):
    """static/js/order-total.js multiplies these: Listing.tickets_value per unit, the same page
    for everyone (a static script, no inline one)."""
    shop = make_shop(project)
    make_listing(shop, title="食事券", unit_price=5000, premium_applies=False)
    html = client.get(shop.get_absolute_url()).content.decode()
    totals = re.findall(
        r'data-order-total data-unit-price="(\d+)" data-unit-tickets="(\d+)" data-yen="([^"]+)"',
        html,
    )
    assert totals == [("1000", "1500", "#円"), ("5000", "5000", "#円")]
    assert '<script src="/static/js/order-total.js" defer></script>' in html
    assert "<script>" not in html
