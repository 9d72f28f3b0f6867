"""The tripwire in fresh browsers, through real fronts: a KAIKA-style cache (the negative
control, tests/front/nginx_kaika_2021.conf.template) hands one person's page to a browser that
never signed in and never typed anything, as in 2021. That browser must hide the page before
showing it and report it, and staff must hear of it. Through the shipped front the same steps
raise no alarm: not for the person on their own page, nor for the one who typed the data.

Every browser here starts without cookies. Each one records, at each page load, whether the
page was hidden when its HTML had been read (tripwire.js runs in <head>, before the body is
shown) and what that HTML held: a page that carried someone else's data and was not hidden is
exactly the failure.
"""

import itertools
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from ops.models import TripwireReport
from ops.tripwire import viewer_marker
from tests.conftest import make_user
from tests.front.stack import PASSWORD, create_people, fronts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
]

# The KAIKA-style cache keeps a page "1s": nginx counts whole seconds, so between one and two.
# Whoever must get a fresh answer from it waits STORED; a few tries at catching a stored copy.
STORED = 2.1
TRIES = 4
STAFF = "office@example.jp"
# What an anonymous visitor types into the signup form: unique strings to look for.
TYPED = {
    "#id_email": "typed-by-visitor@example.jp",
    "#id_family_name": "入力",
    "#id_given_name": "見本子",
    "#id_street_address": "打鍵町987番地",
    "#id_phone": "090-9876-0123",
}
TYPED_MARK = "打鍵町987番地"
ADDRESSES = itertools.count(1)

RECORD_LOADS = """
document.addEventListener("DOMContentLoaded", function () {
  var loads = JSON.parse(sessionStorage.getItem("test-loads") || "[]");
  loads.push({
    path: location.pathname,
    hidden: document.documentElement.hidden,
    // The HTML as it came (typed data is in the inputs' value attributes).
    html: document.documentElement.outerHTML
  });
  sessionStorage.setItem("test-loads", JSON.stringify(loads));
});
"""


def fresh_browser(browser):
    """A browser with no cookies and no history, recording each page it loads. Each has its
    own address, as the CDN in front of nginx reports it (tests/front/stack.py)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        locale="ja-JP",
        extra_http_headers={"X-Forwarded-For": f"10.1.0.{next(ADDRESSES)}"},
    )
    context.add_init_script(RECORD_LOADS)
    return context.new_page()


def loads(page) -> list[dict]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('test-loads') || '[]')")


def summary(page) -> list[tuple[str, bool]]:
    """Each load's path and whether it was hidden: for failure messages."""
    return [(load["path"], load["hidden"]) for load in loads(page)]


def shown_with(page, text: str) -> list[dict]:
    """The loads of this browser that showed `text` (that carried it and were not hidden)."""
    return [load for load in loads(page) if text in load["html"] and not load["hidden"]]


def carried(page, text: str) -> list[dict]:
    return [load for load in loads(page) if text in load["html"]]


def sign_in(page, base: str, email: str, *, wait: float = 0.0) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    time.sleep(wait)  # see type_signup
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mypage/")


def type_signup(page, base: str, *, wait: float = 0.0):
    """An anonymous visitor fills in the signup form with a mistake (the passwords differ)
    and sends it: the answer echoes what they typed. Returns that answer."""
    page.goto(base + "/accounts/signup/")
    for selector, value in TYPED.items():
        page.fill(selector, value)
    page.fill("#id_family_name_kana", "ニュウリョク")
    page.fill("#id_given_name_kana", "ミホンコ")
    page.fill("#id_birth_date", "1985-03-04")
    page.select_option("#id_gender", "female")
    page.select_option("#id_occupation", "employee")
    page.fill("#id_postal_code", "7530001")
    page.select_option("#id_prefecture", "35")
    page.fill("#id_city", "山口市")
    page.fill("#id_password1", "visitor-pass-2026")
    page.fill("#id_password2", "visitor-pass-2027")
    page.check("#id_terms_agreed")  # required: unticked, the browser would not send the form
    # Typing takes a person longer than the KAIKA-style cache keeps the form: the POST is
    # answered by the app, not with the stored form (its key is the URL alone).
    time.sleep(wait)
    with page.expect_navigation() as navigation:
        page.click("main form[action='/accounts/signup/'] button[type=submit]")
    page.wait_for_load_state()
    return navigation.value


def wait_for_reports(count: int = 1, timeout: float = 10) -> list[TripwireReport]:
    deadline = time.monotonic() + timeout
    while TripwireReport.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return list(TripwireReport.objects.order_by("at"))


def settle(page) -> None:
    # tripwire.js reloads once after reporting; read the records once that has happened.
    page.wait_for_timeout(800)
    page.wait_for_load_state()


def staff_emails() -> list[mail.EmailMessage]:
    """The emails the app nodes queued (no worker runs beside the stack), sent here."""
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    return [m for m in mail.outbox if STAFF in m.to]


def test_a_supporters_page_handed_to_a_browser_that_never_signed_in_is_hidden_and_reported(
    tmp_path, browser
):
    make_user(email=STAFF, is_staff=True)
    bob = create_people(1)[0]
    bobs_name = bob.markers["name"]
    with fronts(tmp_path, nodes=1) as stack:
        base = f"http://127.0.0.1:{stack.kaika_2021_port}"
        bobs_browser = fresh_browser(browser)
        sign_in(bobs_browser, base, bob.email, wait=STORED)
        for _ in range(TRIES):
            # Bob opens his page; the cache keeps it, and a stranger opens the same address.
            bobs_browser.goto(base + "/mypage/")
            stranger = fresh_browser(browser)
            response = stranger.goto(base + "/mypage/")
            if response.headers.get("x-cache-status") == "HIT":
                break
            stranger.context.close()
            time.sleep(STORED)
        else:
            pytest.fail("the KAIKA-style cache never handed Bob's page on: the test saw nothing")
        reports = wait_for_reports()
        settle(stranger)
        stranger_loads = summary(stranger)
        # Control: Bob, on his own page through the same cache, saw it and raised no alarm.
        bob_shown = shown_with(bobs_browser, bobs_name)

    assert carried(stranger, bobs_name), stranger_loads  # the leak did reach the browser
    assert not shown_with(stranger, bobs_name), f"Bob's page was shown: {stranger_loads}"
    assert bob_shown and not any(load["hidden"] for load in loads(bobs_browser))
    assert [(r.path, r.seen_marker, r.own_marker, r.verified) for r in reports][:1] == [
        ("/mypage/", viewer_marker(bob.user_id), "", False)
    ]
    assert {r.seen_marker for r in reports} == {viewer_marker(bob.user_id)}
    [email] = staff_emails()
    assert "表示の取り違え" in email.subject and "/mypage/" in email.body


def test_what_a_visitor_typed_handed_to_another_fresh_browser_is_hidden_and_reported(
    tmp_path, browser
):
    make_user(email=STAFF, is_staff=True)
    with fronts(tmp_path, nodes=1) as stack:
        base = f"http://127.0.0.1:{stack.kaika_2021_port}"
        for _ in range(TRIES):
            typist = fresh_browser(browser)
            answer = type_signup(typist, base, wait=STORED)
            stranger = fresh_browser(browser)
            response = stranger.goto(base + "/accounts/signup/")
            # The typist's answer came from the app (its stored form had expired), the
            # stranger's from the cache.
            if answer.headers.get("x-cache-status") in {"MISS", "EXPIRED"} and (
                response.headers.get("x-cache-status") == "HIT"
            ):
                break
            typist.context.close()
            stranger.context.close()
            time.sleep(STORED)
        else:
            pytest.fail("the KAIKA-style cache never handed the typed page on")
        reports = wait_for_reports()
        settle(stranger)
        stranger_loads = summary(stranger)
        # Control: the person who typed it sees their own answer, no alarm.
        typist_shown = shown_with(typist, TYPED_MARK)
        typist_mark = typist.evaluate(
            "(document.cookie.match(/(?:^|;\\s*)kaika_visitor=([0-9a-f]+)/) || [])[1] || ''"
        )

    assert carried(stranger, TYPED_MARK), stranger_loads
    assert not shown_with(stranger, TYPED_MARK), f"the typed data was shown: {stranger_loads}"
    assert typist_shown and not any(load["hidden"] for load in loads(typist))
    assert typist_mark
    assert [(r.path, r.seen_marker, r.own_marker, r.verified) for r in reports][:1] == [
        ("/accounts/signup/", typist_mark, "", False)
    ]
    [email] = staff_emails()
    assert "表示の取り違え" in email.subject and "/accounts/signup/" in email.body


def test_through_the_shipped_front_nobody_is_alarmed(tmp_path, browser):
    """The same steps through deploy/nginx.conf.template: every page reaches only the browser
    it was made for, and no check fires on a page that is really the browser's own."""
    bob = create_people(1)[0]
    with fronts(tmp_path, nodes=1, kaika_2021=False) as stack:
        base = f"http://127.0.0.1:{stack.port}"
        bobs_browser = fresh_browser(browser)
        sign_in(bobs_browser, base, bob.email)
        bobs_browser.goto(base + "/mypage/")
        # Signed out, his browser gets anonymous pages; signed in again, his own.
        bobs_browser.click("header form[action='/accounts/logout/'] button")
        bobs_browser.wait_for_url(base + "/")
        bobs_browser.goto(base + "/mypage/")  # sent to the login page
        assert "/accounts/login/" in bobs_browser.url
        sign_in(bobs_browser, base, bob.email)
        stranger = fresh_browser(browser)
        stranger.goto(base + "/mypage/")  # sent to the login page
        typist = fresh_browser(browser)
        type_signup(typist, base)
        typist.goto(base + "/accounts/signup/")  # the form again, sent with the browser's mark
        other = fresh_browser(browser)
        other.goto(base + "/accounts/signup/")
        for page in (bobs_browser, stranger, typist, other):
            page.wait_for_timeout(300)
        everyone = {
            "bob": loads(bobs_browser),
            "stranger": loads(stranger),
            "typist": loads(typist),
            "other": loads(other),
        }

    assert shown_with(bobs_browser, bob.markers["name"])
    assert not carried(stranger, bob.markers["name"]) and not carried(other, TYPED_MARK)
    assert shown_with(typist, TYPED_MARK)
    hidden = {who: [x["path"] for x in seen if x["hidden"]] for who, seen in everyone.items()}
    assert not any(hidden.values()), hidden
    assert not TripwireReport.objects.exists()
