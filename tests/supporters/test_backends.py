import pytest
from django.conf import settings
from django.contrib.auth import load_backend
from django.urls import reverse

from supporters.models import User
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend_path", settings.AUTHENTICATION_BACKENDS)
def test_unknown_or_inactive_users_get_no_session(backend_path, user):
    backend = load_backend(backend_path)
    assert backend.get_user(str(user.pk)) == user
    assert backend.get_user("999999999") is None
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(str(user.pk)) is None


def test_a_deactivated_account_is_signed_out_of_its_open_sessions(client, user):
    client.force_login(user)
    assert client.get(reverse("supporters:mypage")).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get(reverse("supporters:mypage"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_password_change_elsewhere_ends_the_other_sessions(client):
    person = make_user()
    assert client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    assert client.get(reverse("supporters:mypage")).status_code == 200
    person.set_password("a-new-long-password-77")
    person.save()
    # The session's auth hash no longer matches the row: signed out, sent to the login.
    response = client.get(reverse("supporters:mypage"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
