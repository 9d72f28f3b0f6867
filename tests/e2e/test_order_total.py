"""The shop page's running total in a real browser: the amount and the tickets' value follow
the units typed, before anything is confirmed (static/js/order-total.js)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import check_screen
from tests.projects.factories import make_listing, make_project, make_round, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_total_follows_the_units_typed_in_both_languages(live_server, page_for):
    project = make_project()
    make_round(project, number=1)
    shop = make_shop(project, name="カフェかめやま")
    make_listing(shop, title="ペア食事券", unit_price=5000, stock_limit=4, premium_applies=False)
    page = page_for("phone")
    page.goto(f"{live_server.url}/shops/{shop.pk}/")
    standard, limited = page.locator("form.order-form").all()
    total = standard.locator("[data-order-total]")
    expect(total).to_have_text("合計 1,000円(チケット 1,500円分)")
    standard.locator("input[name=units]").fill("12")
    expect(total).to_have_text("合計 12,000円(チケット 18,000円分)")
    check_screen(page, "shop-total-phone")
    standard.locator("input[name=units]").fill("21")  # above the 20,000-yen application cap
    expect(total).to_be_hidden()
    standard.locator("input[name=units]").fill("")
    expect(total).to_be_hidden()
    limited.locator("input[name=units]").fill("3")
    expect(limited.locator("[data-order-total]")).to_have_text("合計 15,000円(チケット 15,000円分)")

    page.goto(f"{live_server.url}/en/shops/{shop.pk}/")
    form = page.locator("form.order-form").first
    form.locator("input[name=units]").fill("2")
    expect(form.locator("[data-order-total]")).to_contain_text("¥2,000")
    expect(form.locator("[data-order-total]")).to_contain_text("¥3,000")
