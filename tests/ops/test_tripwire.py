import re

import pytest
from django.test import Client
from django.urls import reverse

from ops.models import TripwireReport
from ops.switches import maintenance_state
from ops.tripwire import VIEWER_COOKIE, VIEWER_COOKIE_AGE, VISITOR_COOKIE, viewer_marker
from tests.conftest import PASSWORD, current_code, login_staff, make_user
from tests.supporters.test_accounts import SIGNUP, confirmation_link

URL = "/ops/tripwire/"
MARK = "0123456789abcdef0123456789abcdef"  # a kaika_visitor value as tripwire.js writes it


def test_per_user_pages_carry_the_viewers_marker_and_the_script(user_client, user):
    html = user_client.get(reverse("supporters:mypage")).content.decode()
    assert f'data-viewer="{viewer_marker(user.pk)}"' in html
    assert "js/tripwire.js" in html


@pytest.mark.parametrize("signed_in", [True, False])
def test_public_pages_carry_no_marker(client, user, signed_in):
    if signed_in:
        client.force_login(user)
    client.cookies[VISITOR_COOKIE] = MARK
    html = client.get("/").content.decode()
    assert "data-viewer" not in html and "data-visitor" not in html
    assert "tripwire.js" not in html


def test_the_marker_is_keyed_and_differs_per_person(db):
    assert viewer_marker(1) != viewer_marker(2)
    assert "1" != viewer_marker(1) and len(viewer_marker(1)) == 32


def viewer_cookie(response) -> str | None:
    """What the response does to kaika_viewer: None if nothing, "" if it deletes it."""
    morsel = response.cookies.get(VIEWER_COOKIE)
    return None if morsel is None else morsel.value


def test_logging_in_sets_the_matching_cookie(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    cookie = response.cookies[VIEWER_COOKIE]
    assert cookie.value == viewer_marker(user.pk)
    assert not cookie["httponly"]
    # It outlives the session, whose expiry moves on each time the session is saved again.
    assert cookie["max-age"] == VIEWER_COOKIE_AGE > client.session.get_expiry_age()
    # Only the login sets it: a cached page cannot carry a matching pair along.
    assert viewer_cookie(client.get(reverse("supporters:mypage"))) is None


def test_logging_out_deletes_the_cookie(client, user):
    """A browser that signed out has no viewer: the pages it gets next are anonymous ones."""
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(reverse("account_logout"))
    assert viewer_cookie(response) == "" and response.cookies[VIEWER_COOKIE]["max-age"] == 0


def test_deleting_the_account_deletes_the_cookie(client, user):
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(
        reverse("supporters:data_rights"), {"password": PASSWORD, "confirm": "on"}
    )
    assert response.status_code == 302 and viewer_cookie(response) == ""


def test_a_two_factor_login_sets_the_cookie_once_the_code_is_given(client, db):
    staff = make_user(email="office@example.jp", is_staff=True)
    first = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert first.url == reverse("mfa_authenticate") and viewer_cookie(first) is None
    second = client.post(reverse("mfa_authenticate"), {"code": current_code()})
    assert viewer_cookie(second) == viewer_marker(staff.pk)


def test_confirming_the_email_after_signup_logs_in_and_sets_the_cookie(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signup = client.post(reverse("account_signup"), SIGNUP)
    assert viewer_cookie(signup) is None  # not signed in until the address is confirmed
    confirmed = client.post(confirmation_link(mailoutbox[0]))
    assert confirmed.url == reverse("supporters:mypage")
    assert viewer_cookie(confirmed) == viewer_marker(int(client.session["_auth_user_id"]))


def test_reauthenticating_leaves_the_cookie_alone(client, user):
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302 and viewer_cookie(response) is None


def visitor_attribute(response) -> str | None:
    match = re.search(r'<html[^>]* data-visitor="([^"]*)"', response.content.decode())
    return match.group(1) if match else None


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/contact/"],
)
def test_private_pages_for_anonymous_visitors_echo_the_browsers_mark(client, db, path):
    response = client.get(path)
    assert visitor_attribute(response) == "" and "tripwire.js" in response.content.decode()
    client.cookies[VISITOR_COOKIE] = MARK
    assert visitor_attribute(client.get(path)) == MARK


def test_what_a_visitor_typed_comes_back_with_their_mark_only(client, db):
    client.cookies[VISITOR_COOKIE] = MARK
    failed = client.post(reverse("account_login"), {"login": "typed@example.jp", "password": "x"})
    assert "typed@example.jp" in failed.content.decode() and visitor_attribute(failed) == MARK
    signup = client.post(reverse("account_signup"), {**SIGNUP, "password2": "different-2026"})
    assert "亀山町１－１" in signup.content.decode() and visitor_attribute(signup) == MARK
    # Signed-in pages carry the viewer marker instead.
    assert visitor_attribute(Client().get("/mypage/", follow=True)) == ""


@pytest.mark.parametrize("value", ['"><script>alert(1)</script>', "ABCDEF", "0" * 31, "0" * 33])
def test_only_a_mark_of_the_scripts_shape_is_echoed(client, db, value):
    client.cookies[VISITOR_COOKIE] = value
    assert visitor_attribute(client.get("/accounts/login/")) == ""


def report(client, person, seen_person):
    return client.post(
        URL,
        {
            "path": "/mypage/",
            "seen": viewer_marker(seen_person.pk),
            "own": viewer_marker(person.pk),
        },
    )


def test_a_report_is_recorded_verified_and_staff_are_emailed_once(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(email="office@example.jp", is_staff=True)
    alice, bob = make_user(), make_user()
    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert report(client, alice, bob).status_code == 200
        assert report(client, alice, bob).status_code == 200
    rows = list(TripwireReport.objects.all())
    assert len(rows) == 2 and all(r.verified and r.user_id == alice.pk for r in rows)
    assert [m.to for m in mailoutbox] == [["office@example.jp"]]
    assert "表示の取り違え" in mailoutbox[0].subject


def test_a_report_from_a_browser_that_never_signed_in_is_kept_and_staff_are_told(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    """How a cache handing a supporter's page to strangers shows itself: nobody to verify."""
    make_user(email="office@example.jp", is_staff=True)
    bob = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"path": "/mypage/", "seen": viewer_marker(bob.pk)})
    assert response.status_code == 200
    report = TripwireReport.objects.get()
    assert (report.own_marker, report.verified, report.user_id) == ("", False, None)
    [email] = mailoutbox
    assert email.to == ["office@example.jp"] and "/mypage/" in email.body
    assert "照合用のクッキーがありませんでした" in email.body


def test_a_forged_report_is_kept_but_not_verified(client, db):
    alice, bob = make_user(), make_user()
    assert report(client, alice, bob).status_code == 200  # not logged in as alice
    assert not TripwireReport.objects.get().verified


def test_a_burst_of_verified_reports_switches_on_maintenance(
    db, settings, django_capture_on_commit_callbacks
):
    settings.KAIKA_TRIPWIRE_AUTO_MAINTENANCE = (3, 60)
    people = [make_user() for _ in range(4)]
    victim = people[-1]
    for n, person in enumerate(people[:3]):
        client = Client(REMOTE_ADDR=f"198.51.{100 + n}.7")  # three networks
        client.force_login(person)
        # Control: forged reports, however many, never stop the site.
        for _ in range(3):
            Client().post(URL, {"path": "/mypage/", "seen": "a" * 32, "own": f"{n}" * 32})
        assert not maintenance_state().on
        with django_capture_on_commit_callbacks(execute=True):
            report(client, person, victim)
    assert maintenance_state().on
    assert Client().get("/").status_code == 503


def test_accounts_reporting_from_one_network_do_not_stop_the_site_but_staff_hear_of_it(
    db, settings, mailoutbox, django_capture_on_commit_callbacks
):
    """Five accounts of one person, copying one account's page and reporting it from the
    others: verified reports, but from one connection. Staff are told; the site stays up."""
    settings.KAIKA_TRIPWIRE_AUTO_MAINTENANCE = (5, 60)
    make_user(email="office@example.jp", is_staff=True)
    accounts = [make_user() for _ in range(6)]
    copied = accounts[0]
    with django_capture_on_commit_callbacks(execute=True):
        for n, person in enumerate(accounts[1:]):
            client = Client(REMOTE_ADDR=f"203.0.113.{10 + n}")  # one /24
            client.force_login(person)
            report(client, person, copied)
    assert TripwireReport.objects.filter(verified=True).count() == 5
    assert not maintenance_state().on
    assert [m.to for m in mailoutbox] == [["office@example.jp"]]
    # The same reports from five networks are a leak as it really looks: the site stops.
    with django_capture_on_commit_callbacks(execute=True):
        for n, person in enumerate(accounts[1:]):
            client = Client(REMOTE_ADDR=f"2001:db8:{n}::1")  # five /48s
            client.force_login(person)
            report(client, person, copied)
    assert maintenance_state().on


def test_automatic_maintenance_can_be_turned_off(db, settings):
    settings.KAIKA_TRIPWIRE_AUTO_MAINTENANCE = (0, 60)
    alice, bob = make_user(), make_user()
    client = Client()
    client.force_login(alice)
    report(client, alice, bob)
    assert not maintenance_state().on


def test_reports_are_listed_read_only_in_admin(client, staff_user):
    alice = make_user()
    report(client, alice, staff_user)
    login_staff(client, staff_user)
    assert client.get(reverse("admin:ops_tripwirereport_changelist")).status_code == 200


@pytest.mark.parametrize("data", [{}, {"path": "/mypage/"}, {"seen": "a" * 32, "own": "b" * 32}])
def test_incomplete_reports_are_refused(client, db, data):
    assert client.post(URL, data).status_code == 400
