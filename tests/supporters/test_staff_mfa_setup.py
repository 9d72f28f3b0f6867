"""A staff member sets up the authenticator on the way to admin: the recovery-codes page that
follows leads back, and the code just typed counts for this session (admin does not ask for
it again)."""

import pytest
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD, make_user

# Committed for real: allauth announces the new authenticator once its transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))


def set_up_the_authenticator(client, start="admin:index"):
    """The way a new staff member goes: admin sends them to set it up, allauth asks for the
    password again, then for a code of the new authenticator."""
    activate = reverse("mfa_activate_totp")
    if start is not None:
        asked = client.get(reverse(start))
        assert asked.status_code == 302 and asked.url == activate
    again = client.get(activate)
    assert again.status_code == 302 and again.url.startswith(reverse("account_reauthenticate"))
    client.post(again.url, {"password": PASSWORD})
    assert client.get(activate).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    done = client.post(activate, {"code": code_for(secret)})
    assert done.status_code == 302 and done.url == reverse("mfa_view_recovery_codes")
    return done.url


def test_staff_who_just_set_up_the_authenticator_go_on_to_admin_without_a_second_code(client):
    staff = make_user(email="new-staff@example.jp", is_staff=True, totp=False)
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})

    codes_url = set_up_the_authenticator(client)
    page = client.get(codes_url).content.decode()
    # Not a dead end: the way on is on the page.
    assert f'href="{reverse("admin:index")}">管理画面へ進む</a>' in page
    assert f'href="{reverse("supporters:mypage")}">マイページへ戻る</a>' in page

    assert client.get(reverse("admin:index")).status_code == 200


def test_a_supporter_setting_it_up_is_led_back_to_my_page_not_to_admin(client):
    operator = make_user(email="operator@example.jp")
    client.post(reverse("account_login"), {"login": operator.email, "password": PASSWORD})
    page = client.get(set_up_the_authenticator(client, start=None)).content.decode()
    assert f'href="{reverse("supporters:mypage")}">マイページへ戻る</a>' in page
    assert "管理画面へ進む" not in page


def test_the_code_of_another_session_still_does_not_open_admin(client):
    """Control: setting up counts for the session that typed the code, not for the account."""
    from django.test import Client

    staff = make_user(email="two-tabs@example.jp", is_staff=True, totp=False)
    other = Client()
    for c in (client, other):
        c.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    set_up_the_authenticator(client)
    asked = other.get(reverse("admin:index"))
    assert asked.status_code == 302
    assert asked.url.startswith(reverse("mfa_reauthenticate"))
