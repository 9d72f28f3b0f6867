"""What a Japanese sales site must show (特定商取引法に基づく表記, the terms), and the header that
offers login, signup and My page on public pages while staying the same for everyone."""

import re

import pytest
from django.urls import reverse

from tests.conftest import make_user
from tests.projects.factories import make_project
from tests.projects.test_public_views import is_public

pytestmark = pytest.mark.django_db

SELLER = {
    "name": "山口市プレミアム商品券事務局",
    "representative": "事務局長 山口 花子",
    "address": "〒753-8650 山口県山口市亀山町2-1",
    "phone": "083-000-1234",
    "email": "office@yamaguchi.example.jp",
    "hours": "平日 8:30〜17:15",
}


@pytest.fixture
def seller(settings):
    settings.KAIKA_OFFICE = SELLER
    settings.KAIKA_OFFICE_IS_DEMO = False
    return SELLER


def test_the_disclosure_page_is_public_and_names_the_seller_from_settings(client, seller):
    response = client.get(reverse("projects:legal"))
    html = response.content.decode()
    assert response.status_code == 200 and is_public(response)
    assert "Cookie" not in response.get("Vary", "")
    assert "特定商取引法に基づく表記" in html
    for value in seller.values():
        assert value in html, value
    assert "デモ" not in html


def test_the_disclosure_page_gives_prices_payment_delivery_and_refunds(client, seller, settings):
    make_project(unit_price=1000, max_per_application=20_000, max_per_person_per_round=100_000)
    settings.KAIKA_ORDER_RESERVATION_MINUTES = 20
    html = client.get(reverse("projects:legal")).content.decode()
    assert "1口 1,000円 単位" in html and "20,000円" in html and "100,000円" in html
    assert "手数料・送料はかかりません" in html
    assert "クレジットカードのみ" in html and "コンビニ払い・銀行振込はご利用いただけません" in html
    assert "お申し込みから20分" in html
    assert "すぐに、マイページにチケット" in html and "チケット利用期間中" in html
    assert "お支払い前: マイページからいつでも取り消せます" in html
    assert "自動で返金します" in html
    # What happens to unused value is the project's to say (issue 22 makes it a setting).
    assert "各プロジェクトのページに記載のとおり" in html


def test_a_demo_site_says_its_seller_is_fictitious(client, settings):
    settings.KAIKA_OFFICE_IS_DEMO = True
    html = client.get(reverse("projects:legal")).content.decode()
    assert "このサイトはデモです" in html


def test_the_english_page_is_under_en(client, seller):
    response = client.get("/en/legal/")
    assert response.status_code == 200 and is_public(response)
    assert "Specified Commercial Transactions" in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/shops/", "/accounts/login/", "/contact/"])
def test_every_page_links_the_disclosure_and_names_the_operator_in_its_footer(client, seller, path):
    html = client.get(path).content.decode()
    footer = html[html.index('<footer class="site-footer">') :]
    assert f'href="{reverse("projects:legal")}"' in footer
    assert f"運営: {seller['name']}" in footer


def test_a_signed_in_page_links_the_disclosure_too(client, seller):
    client.force_login(make_user())
    html = client.get(reverse("supporters:mypage")).content.decode()
    assert f'href="{reverse("projects:legal")}"' in html


def test_the_terms_cover_the_programme_and_say_when_they_took_effect(client, settings):
    settings.KAIKA_TERMS_VERSION = "2027-01-15"
    response = client.get(reverse("projects:terms"))
    html = response.content.decode()
    assert is_public(response)
    for heading in (
        "会員登録とアカウント",
        "支援の申込みと契約の成立",
        "お支払い",
        "チケットの利用",
        "利用期間と失効",
        "取消しと返金",
        "参加店舗",
        "禁止事項",
        "利用の停止",
        "免責",
        "規約の変更",
        "準拠法と管轄",
    ):
        assert heading in html, heading
    assert "2027年1月15日 制定・施行" in html


# --- The header on public pages ------------------------------------------------------------


def header(html: str) -> str:
    return re.search(r'<header class="site-header">.*?</header>', html, re.S).group(0)


def test_public_pages_offer_login_signup_and_my_page_the_same_to_everyone(client, seller):
    anonymous = client.get(reverse("projects:terms"))
    client.force_login(make_user())
    signed_in = client.get(reverse("projects:terms"))
    nav = header(anonymous.content.decode())
    for name in ("account_login", "account_signup", "supporters:mypage"):
        assert f'href="{reverse(name)}"' in nav, name
    assert "ログアウト" not in nav
    # The same bytes whoever asks: a shared cache may hand either to anyone.
    assert anonymous.content == signed_in.content
    for response in (anonymous, signed_in):
        assert is_public(response) and "Cookie" not in response.get("Vary", "")
        assert "Set-Cookie" not in str(response.cookies) and not response.cookies


def test_signed_in_people_following_login_or_signup_land_on_my_page(client):
    client.force_login(make_user())
    for name in ("account_login", "account_signup"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("supporters:mypage"), name


def test_private_pages_still_show_the_signed_in_menu(client):
    client.force_login(make_user())
    nav = header(client.get(reverse("supporters:mypage")).content.decode())
    assert "ログアウト" in nav and f'href="{reverse("account_login")}"' not in nav
