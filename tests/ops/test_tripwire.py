import pytest
from django.test import Client
from django.urls import reverse

from ops.models import TripwireReport
from ops.switches import maintenance_state
from ops.tripwire import VIEWER_COOKIE, viewer_marker
from tests.conftest import PASSWORD, login_staff, make_user

URL = "/ops/tripwire/"


def test_per_user_pages_carry_the_viewers_marker_and_the_script(user_client, user):
    html = user_client.get(reverse("supporters:mypage")).content.decode()
    assert f'data-viewer="{viewer_marker(user.pk)}"' in html
    assert "js/tripwire.js" in html


def test_public_pages_carry_no_marker(user_client):
    html = user_client.get("/").content.decode()
    assert "data-viewer" not in html and "tripwire.js" not in html


def test_the_marker_is_keyed_and_differs_per_person(db):
    assert viewer_marker(1) != viewer_marker(2)
    assert "1" != viewer_marker(1) and len(viewer_marker(1)) == 32


def test_logging_in_sets_the_matching_cookie(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    cookie = response.cookies[VIEWER_COOKIE]
    assert cookie.value == viewer_marker(user.pk)
    assert not cookie["httponly"]
    # Only the login sets it: a cached page cannot carry a matching pair along.
    assert VIEWER_COOKIE not in client.get(reverse("supporters:mypage")).cookies


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


@pytest.mark.parametrize("data", [{}, {"path": "/mypage/"}])
def test_incomplete_reports_are_refused(client, db, data):
    assert client.post(URL, data).status_code == 400
