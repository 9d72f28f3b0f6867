"""What a person does in a real browser, with screenshots at phone and desktop widths and an
axe-core accessibility check (0 serious or critical violations) on every screen."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from supporters.models import User
from tests.e2e.conftest import check_screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_log_in_and_edit_the_profile(live_server, page_for):
    page = page_for("phone")
    page.goto(live_server.url + "/accounts/signup/")
    check_screen(page, "signup-phone")
    page.fill("#id_email", "browser@example.jp")
    page.fill("#id_password1", "browser-pass-2026")
    page.fill("#id_password2", "browser-pass-2026")
    page.fill("#id_family_name", "山口")
    page.fill("#id_given_name", "次郎")
    page.fill("#id_family_name_kana", "やまぐち")  # hiragana: stored as katakana
    page.fill("#id_given_name_kana", "ｼﾞﾛｳ")  # half-width kana
    page.fill("#id_birth_date", "1980-01-02")
    page.select_option("#id_gender", "male")
    page.select_option("#id_occupation", "student")
    page.fill("#id_postal_code", "７５３－０００１")  # full-width digits
    page.locator("#id_postal_code").dispatch_event("change")
    # The offline postal data fills prefecture and city.
    expect(page.locator("#id_city")).to_have_value("山口市")
    expect(page.locator("#id_prefecture")).to_have_value("35")
    page.fill("#id_street_address", "宮野上1-2")
    page.fill("#id_phone", "090-1111-2222")
    page.check("#id_terms_agreed")
    page.click("main form[action='/accounts/signup/'] button[type=submit]")
    page.wait_for_url("**/accounts/confirm-email/")

    link = re.search(r"(/accounts/confirm-email/[^\s]+/)", mail.outbox[-1].body).group(1)
    page.goto(live_server.url + link)
    check_screen(page, "confirm-email-phone")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mypage/")
    check_screen(page, "mypage-phone")
    assert "ヤマグチ ジロウ" in page.content()

    page.goto(live_server.url + "/mypage/profile/")
    check_screen(page, "profile-edit-phone")
    page.fill("#id_building", "テストビル101")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mypage/")
    assert "テストビル101" in page.content()
    user = User.objects.get(email="browser@example.jp")
    assert (user.family_name_kana, user.postal_code, user.phone) == (
        "ヤマグチ",
        "7530001",
        "09011112222",
    )


def test_failed_login_keeps_the_email_and_says_why(live_server, page_for):
    page = page_for("desktop")
    page.goto(live_server.url + "/accounts/login/")
    check_screen(page, "login-desktop")
    page.fill("input[name=login]", "nobody@example.jp")
    page.fill("input[name=password]", "wrong-password")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.input_value("input[name=login]") == "nobody@example.jp"
    assert page.input_value("input[name=password]") == ""
    check_screen(page, "login-failed-desktop")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_home_and_contact_form_screens(live_server, page_for, viewport):
    page = page_for(viewport)
    page.goto(live_server.url + "/")
    check_screen(page, f"home-{viewport}")
    page.goto(live_server.url + "/en/")
    check_screen(page, f"home-en-{viewport}")
    page.goto(live_server.url + "/contact/")
    check_screen(page, f"contact-{viewport}")
    page.fill("#id_name", "問合 太郎")
    page.fill("#id_email", f"ask-{viewport}@example.jp")
    page.select_option("#id_category", index=1)
    page.fill("#id_subject", "チケットについて")
    page.fill("#id_body", "使い方を教えてください。")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/contact/sent/")
    check_screen(page, f"contact-sent-{viewport}")
    assert re.search(r"Q-[A-Z2-7]{8}", page.content())
