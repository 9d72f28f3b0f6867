import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from projects.models import ShopStatus
from tests.conftest import PASSWORD, current_code, login_staff, make_user
from tests.projects.factories import make_project, make_shop


def test_staff_without_two_factor_are_sent_to_set_it_up_before_admin(client, db):
    staff = make_user(email="new-staff@example.jp", is_staff=True, totp=False)
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    # Control: the same account with TOTP set up is let in.
    other = make_user(email="set-up@example.jp", is_staff=True)
    login_staff(client, other)
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_login_is_allauths_login(client, db):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login") + "?next=")


def test_staff_log_in_with_password_then_an_authenticator_code(client, db):
    staff = make_user(email="office@example.jp", is_staff=True)
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    # The password alone does not open admin.
    assert client.get(reverse("admin:index")).status_code == 302
    client.post(reverse("mfa_authenticate"), {"code": current_code()})
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_session_opened_with_the_password_alone_is_asked_for_the_code_before_admin(client, db):
    """A supporter logged in with their password is made staff (or sets TOTP up) while
    signed in: that session never gave a code, so admin asks for one first."""
    from django.contrib.auth import get_user_model

    person = make_user(email="promoted@example.jp", totp=True)
    client.force_login(person)
    get_user_model().objects.filter(pk=person.pk).update(is_staff=True, is_superuser=True)
    asked = client.get(reverse("admin:index"))
    assert asked.status_code == 302
    assert asked.url == reverse("mfa_reauthenticate") + "?next=%2Fadmin%2F"
    client.post(asked.url, {"code": current_code()})
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    ("shop_status", "shown"),
    [
        (None, False),
        (ShopStatus.APPROVED, True),
        (ShopStatus.APPLIED, True),
        (ShopStatus.WITHDRAWN, True),
    ],
)
def test_my_page_offers_two_factor_to_shop_operators(client, db, shop_status, shown):
    """Whatever the shop's status: its operator's account reaches its data."""
    user = make_user()
    if shop_status is not None:
        make_shop(make_project(), operators=[user], approved=False, status=shop_status)
    client.force_login(user)
    html = client.get(reverse("supporters:mypage")).content.decode()
    assert (reverse("mfa_index") in html) is shown


def test_every_staff_change_in_admin_is_listed_read_only(client, staff_user):
    login_staff(client, staff_user)
    switch_url = reverse("admin:ops_siteswitch_change", args=[1])
    client.get(reverse("admin:ops_siteswitch_changelist"))
    client.post(switch_url, {"message": "点検", "ends_at_0": "", "ends_at_1": ""})
    entry = LogEntry.objects.get()
    assert entry.user == staff_user and entry.object_repr
    listing = client.get(reverse("admin:admin_logentry_changelist")).content.decode()
    assert "staff@example.jp" in listing
    detail = client.get(reverse("admin:admin_logentry_change", args=[entry.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.post(reverse("admin:admin_logentry_delete", args=[entry.pk])).status_code == 403
