"""Every screen that exists, as an anonymous visitor, a supporter and a shop operator would see
it, at phone and desktop widths: a full-page screenshot (test-artifacts/screenshots/) and axe-core
with 0 serious or critical violations. Then labels and errors tied to fields, the keyboard, and
the language switch."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from inquiries.models import Inquiry
from ops.tripwire import VIEWER_COOKIE, viewer_marker
from projects.models import Listing, Shop
from supporters.models import User
from tests.e2e.conftest import screenshot, serious_accessibility_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.e2e.urls"),
]


@pytest.fixture
def demo(settings, tmp_path, django_capture_on_commit_callbacks):
    """The demo catalogue (60 shops with photos, round 2 open now) and its accounts."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.KAIKA_ALLOW_DEMO_DATA = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    operator = User.objects.get(email="shop@example.jp")
    shop = Shop.objects.operated_by(operator).get()
    return {
        "supporter": User.objects.get(email="supporter@example.jp"),
        "operator": operator,
        "operated_shop": shop,
        "listed_shop": Shop.objects.listed().order_by("pk").first(),
        "project": shop.project,
    }


def log_in(page, user) -> None:
    """A session made on the server and handed to the browser, with the tripwire's cookie a
    login sets (ops/tripwire.py): the login form has its own test."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    url = page.url or "http://localhost"
    page.context.add_cookies(
        [
            {"name": cookie.key, "value": cookie.value, "url": url},
            {"name": VIEWER_COOKIE, "value": viewer_marker(user.pk), "url": url},
        ]
    )


def look_at(page, url: str, name: str, status: int = 200) -> list[str]:
    response = page.goto(url)
    assert response.status == status, f"{name}: {url} gave {response.status}"
    screenshot(page, name)
    return [f"{name}: {v}" for v in serious_accessibility_violations(page)]


VIEWPORTS = ["phone", "desktop"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_public_screen_is_accessible(live_server, page_for, demo, viewport):
    page = page_for(viewport)
    shop, project = demo["listed_shop"], demo["project"]
    screens = {
        "home": "/",
        "home-en": "/en/",
        "shops": "/shops/",
        "shops-search": "/shops/?q=%E3%82%AB%E3%83%95%E3%82%A7&category=cafe",
        "shops-none": "/shops/?q=zzzzzz",
        "shops-page-2": "/shops/?page=2",
        "shops-en": "/en/shops/",
        "shop": shop.get_absolute_url(),
        "shop-en": "/en" + shop.get_absolute_url(),
        "project": project.get_absolute_url(),
        "round": project.rounds.get(number=2).get_absolute_url(),
        "round-scheduled": project.rounds.get(number=3).get_absolute_url(),
        "faq": "/faq/",
        "terms": "/terms/",
        "privacy": "/privacy/",
        "login": "/accounts/login/",
        "login-en": "/en/accounts/login/",
        "signup": "/accounts/signup/",
        "password-reset": "/accounts/password/reset/",
        "contact": "/contact/",
        "contact-en": "/en/contact/",
    }
    problems = []
    for name, path in screens.items():
        problems += look_at(page, live_server.url + path, f"{name}-{viewport}")
    for status in (400, 403, 500):
        problems += look_at(
            page, f"{live_server.url}/e2e/{status}/", f"{status}-{viewport}", status=status
        )
    problems += look_at(page, live_server.url + "/no-such-page/", f"404-{viewport}", status=404)
    assert problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_supporter_screen_is_accessible(live_server, page_for, demo, viewport):
    page = page_for(viewport)
    supporter = demo["supporter"]
    inquiry = Inquiry.objects.create(
        reference="Q-ABCDEFGH",
        user=supporter,
        name=supporter.full_name,
        email=supporter.email,
        category="ticket",
        subject="チケットの使い方について、詳しく教えていただけますでしょうか",
        body="電子チケットの使い方を教えてください。",
        language="ja",
        created_at=timezone.now(),
    )
    page.goto(live_server.url + "/")
    log_in(page, supporter)
    screens = {
        "mypage": "/mypage/",
        "mypage-en": "/en/mypage/",
        "profile-edit": "/mypage/profile/",
        "inquiries": "/mypage/inquiries/",
        "inquiry": f"/mypage/inquiries/{inquiry.reference}/",
        "contact-member": "/contact/",
        "email": "/accounts/email/",
        "password-change": "/accounts/password/change/",
    }
    problems = []
    for name, path in screens.items():
        problems += look_at(page, live_server.url + path, f"{name}-{viewport}")
    assert problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_operator_screen_is_accessible(live_server, page_for, demo, viewport):
    page = page_for(viewport)
    shop = demo["operated_shop"]
    listing = Listing.objects.create(
        shop=shop, title="限定ランチセット", unit_price=3000, stock_limit=20
    )
    page.goto(live_server.url + "/")
    log_in(page, demo["operator"])
    base = f"/shops/manage/{shop.pk}"
    screens = {
        "manage": "/shops/manage/",
        "manage-apply": "/shops/manage/apply/",
        "manage-shop": f"{base}/",
        "manage-shop-en": f"/en{base}/",
        "manage-edit": f"{base}/edit/",
        "manage-listing-new": f"{base}/listings/new/",
        "manage-listing-edit": f"{base}/listings/{listing.pk}/",
        "manage-listing-withdraw": f"{base}/listings/{listing.pk}/withdraw/",
        "manage-figures": f"{base}/figures/",
    }
    problems = []
    for name, path in screens.items():
        problems += look_at(page, live_server.url + path, f"{name}-{viewport}")
    assert problems == []


def described_by(page, selector: str) -> str:
    """The text a screen reader reads with a field: its aria-describedby targets."""
    return page.eval_on_selector(
        selector,
        """el => (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)
              .map(id => document.getElementById(id)?.textContent || '').join(' ')""",
    )


def test_errors_are_tied_to_their_fields(live_server, page_for, demo):
    page = page_for("phone")
    page.goto(live_server.url + "/contact/")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    check = page.locator("#id_name")
    expect(check).to_have_attribute("aria-invalid", "true")
    assert "お名前を入力してください。" in described_by(page, "#id_name")
    assert "件名を入力してください。" in described_by(page, "#id_subject")
    screenshot(page, "contact-errors-phone")
    assert serious_accessibility_violations(page) == []

    page.goto(live_server.url + "/accounts/login/")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    screenshot(page, "login-errors-phone")
    assert serious_accessibility_violations(page) == []


def test_every_input_has_a_visible_label(live_server, page_for, demo):
    """Placeholders vanish as you type: each field keeps a real <label> (or aria-label)."""
    page = page_for("phone")
    unlabeled = []
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/contact/"):
        page.goto(live_server.url + path)
        unlabeled += [
            f"{path} {name}"
            for name in page.eval_on_selector_all(
                "main input:not([type=hidden]):not([tabindex='-1']), main select, main textarea",
                """els => els.filter(el => !(el.labels && el.labels.length &&
                       [...el.labels].some(l => l.textContent.trim()))
                       && !el.getAttribute('aria-label')).map(el => el.name)""",
            )
        ]
    assert unlabeled == []


def test_the_keyboard_reaches_the_skip_link_and_the_main_actions(live_server, page_for, demo):
    page = page_for("desktop")
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    expect(page.locator(".skip-link")).to_be_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # Past the header: the first stop is inside <main>, the hero's call to action.
    assert page.evaluate("document.activeElement.closest('main') !== null")
    assert page.evaluate("document.activeElement.textContent.trim()") == "参加店舗を探す"
    page.keyboard.press("Enter")
    page.wait_for_url("**/shops/")

    # The shop search works from the keyboard alone.
    page.focus("#id_q")
    page.keyboard.type("カフェ")
    page.keyboard.press("Tab")  # category
    page.keyboard.press("Tab")  # municipality
    page.keyboard.press("Tab")  # search button
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url("**/shops/?q=*")
    assert "q=%E3%82%AB%E3%83%95%E3%82%A7" in page.url

    # And the contact form's submit button is reachable by Tab from its first field.
    page.goto(live_server.url + "/contact/")
    page.focus("#id_name")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    assert page.evaluate("document.activeElement.textContent.trim()") == "送信する"


def test_the_language_switch_is_a_plain_link_and_keeps_the_shop_list_public(
    live_server, page_for, demo
):
    page = page_for("phone")
    first = page.goto(live_server.url + "/shops/")
    assert "public" in first.headers["cache-control"]
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live_server.url + "/en/shops/")
    expect(page.locator("h1")).to_have_text("Shops")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="日本語").click()
    page.wait_for_url(live_server.url + "/shops/")
    expect(page.locator("h1")).to_have_text("参加店舗")
    # The choice lives only in the URL: no language cookie, no session, nothing per visitor.
    cookies = {c["name"] for c in page.context.cookies()}
    assert settings.LANGUAGE_COOKIE_NAME not in cookies
    assert settings.SESSION_COOKIE_NAME not in cookies
    for path in ("/shops/", "/en/shops/"):
        response = page.request.get(live_server.url + path)
        assert "public" in response.headers["cache-control"], path
        assert "set-cookie" not in response.headers, path
        assert "cookie" not in response.headers.get("vary", "").lower(), path


def test_the_accessibility_check_sees_a_broken_page(page_for):
    # Negative control: axe must report an unlabeled input and low-contrast text, or the zero
    # counts above prove nothing.
    page = page_for("phone")
    page.set_content(
        '<html lang="ja"><head><title>x</title></head><body><main>'
        '<input type="text" name="q"><p><span class="x">薄い文字</span></p></main></body></html>'
    )
    page.add_style_tag(content=".x { color: #eee; background: #fff; }")
    problems = " ".join(serious_accessibility_violations(page))
    assert "label" in problems and "color-contrast" in problems
