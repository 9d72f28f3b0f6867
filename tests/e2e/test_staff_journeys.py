"""Staff in a real browser: log in with password and authenticator code, suspend a round in
admin, and the public shop page says so at once (its shared-cache lifetime is one second)."""

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD, current_code, make_user
from tests.e2e.conftest import screenshot, serious_accessibility_violations
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_suspend_a_round_and_the_shop_page_shows_it(live_server, page_for):
    project = make_project()
    round_ = make_round(project, number=2)
    shop = make_shop(project)
    staff = make_user(email="office@example.jp", is_staff=True, is_superuser=True)

    visitor = page_for("phone")
    visitor.goto(f"{live_server.url}/shops/{shop.pk}/")
    assert visitor.locator("form.order-form").count() > 0  # on sale

    admin = page_for("desktop")
    admin.goto(f"{live_server.url}/accounts/login/?next=/admin/")
    admin.fill("input[name=login]", staff.email)
    admin.fill("input[name=password]", PASSWORD)
    admin.click("main form button[type=submit]")
    admin.wait_for_url("**/accounts/2fa/authenticate/**")
    admin.fill("input[name=code]", current_code())
    admin.click("main form button[type=submit]")
    admin.wait_for_url("**/admin/")

    admin.goto(f"{live_server.url}/admin/projects/round/")
    admin.check(f"input[name=_selected_action][value='{round_.pk}']")
    admin.select_option("select[name=action]", "suspend_rounds")
    admin.click("button[name=index]")
    admin.fill("textarea[name=reason]", "システム点検のため")
    screenshot(admin, "admin-suspend-desktop")
    admin.click("input[type=submit], button[type=submit] >> nth=-1")
    admin.wait_for_load_state()
    round_.refresh_from_db()
    assert round_.suspended and round_.suspension_reason == "システム点検のため"

    visitor.reload()
    body = visitor.content()
    assert "システム点検のため" in body
    assert visitor.locator("form.order-form").count() == 0  # nothing on sale while suspended
    screenshot(visitor, "shop-suspended-phone")
    assert serious_accessibility_violations(visitor) == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_maintenance_page_is_clear_and_accessible(live_server, page_for, viewport):
    from ops.switches import maintenance_set

    staff = make_user(email=f"switch-{viewport}@example.jp", is_staff=True)
    maintenance_set(on=True, message="システム点検のため", by=staff, now=timezone.now())
    page = page_for(viewport)
    response = page.goto(f"{live_server.url}/shops/")
    assert response.status == 503
    assert "ただいまメンテナンス中です" in page.content()
    screenshot(page, f"maintenance-{viewport}")
    assert serious_accessibility_violations(page) == []
