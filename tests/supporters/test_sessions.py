import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def log_in(client: Client, user) -> None:
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_the_session_key_changes_at_login(client):
    user = make_user()
    client.get(reverse("account_login"))
    session = client.session  # an anonymous session exists before login
    session["probe"] = 1
    session.save()
    before = session.session_key
    log_in(client, user)
    assert client.cookies["sessionid"].value != before


def test_the_old_session_row_is_gone_and_the_new_one_holds_the_login(client):
    user = make_user()
    client.get(reverse("account_login"))
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    log_in(client, user)
    after = client.cookies["sessionid"].value
    assert not Session.objects.filter(session_key=before).exists()
    stored = Session.objects.get(session_key=after).get_decoded()
    assert stored["_auth_user_id"] == str(user.pk)
    assert stored["probe"] == 1  # the anonymous session's data is carried over, as Django does
    assert client.get(reverse("supporters:mypage")).status_code == 200


def test_a_session_outlives_the_loss_of_the_cache(client):
    """Sessions are kept in the database and only read through the cache (cached_db)."""
    log_in(client, make_user())
    cache.clear()
    assert client.get(reverse("supporters:mypage")).status_code == 200


def test_password_change_ends_the_other_sessions_but_keeps_this_one():
    user = make_user()
    here, elsewhere = Client(), Client()
    log_in(here, user)
    log_in(elsewhere, user)
    assert elsewhere.get(reverse("supporters:mypage")).status_code == 200
    here.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "brand-new-pass-77",
            "password2": "brand-new-pass-77",
        },
    )
    assert here.get(reverse("supporters:mypage")).status_code == 200
    assert elsewhere.get(reverse("supporters:mypage")).status_code == 302


def test_logout_makes_the_old_session_cookie_useless():
    user = make_user()
    browser = Client()
    log_in(browser, user)
    cookie = browser.cookies["sessionid"].value
    browser.post(reverse("account_logout"))
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get(reverse("supporters:mypage")).status_code == 302


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
