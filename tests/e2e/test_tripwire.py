"""The tripwire in a real browser: Bob's My page handed to Alice's browser, as the 2021
cache did, is hidden before it is shown and reported."""

import time

import pytest
from django.test import Client

from ops.models import TripwireReport
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_page_made_for_someone_else_is_hidden_and_reported(live_server, page_for):
    alice = make_user(email="alice@example.jp", family_name="有栖川")
    bob = make_user(email="bob@example.jp", family_name="坊城")
    bob_client = Client()
    bob_client.force_login(bob)
    bobs_page = bob_client.get("/mypage/").content.decode()

    page = page_for("desktop")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mypage/")
    # Control: her own page is shown, and nothing is reported.
    assert page.is_visible("text=有栖川") and not page.evaluate("document.documentElement.hidden")
    assert not TripwireReport.objects.exists()

    # From now on "the cache" answers Alice's browser with Bob's page.
    page.route(
        "**/mypage/",
        lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=bobs_page
        ),
    )
    page.goto(live_server.url + "/mypage/")
    deadline = time.monotonic() + 10
    while not TripwireReport.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    # The script reloads once after reporting; ask once the reloaded page has settled.
    page.wait_for_timeout(500)
    page.wait_for_load_state()
    assert page.evaluate("sessionStorage.getItem('kaika-tripwire-reloaded')") == "1"
    assert page.evaluate("document.documentElement.hidden")
    assert not page.is_visible("text=坊城")
    report = TripwireReport.objects.first()
    assert report.verified and report.user_id == alice.pk and report.path == "/mypage/"
