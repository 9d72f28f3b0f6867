import pytest
from django.conf import settings
from django.contrib.auth import load_backend
from django.urls import reverse

from supporters.backends import user_by_pk
from supporters.models import User
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_the_session_user_is_the_row_the_orm_reads_field_for_field(user):
    ours = user_by_pk(str(user.pk))
    theirs = User.objects.get(pk=user.pk)
    fields = [f.attname for f in User._meta.concrete_fields]
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(theirs, f) for f in fields}
    assert not ours._state.adding and ours.get_session_auth_hash() == user.get_session_auth_hash()


@pytest.mark.parametrize("backend_path", settings.AUTHENTICATION_BACKENDS)
def test_unknown_malformed_or_inactive_users_get_no_session(backend_path, user):
    backend = load_backend(backend_path)
    assert backend.get_user(str(user.pk)) == user
    assert backend.get_user("999999999") is None
    assert backend.get_user("not-a-number") is None
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(str(user.pk)) is None


def test_a_password_change_elsewhere_ends_the_other_sessions(client):
    person = make_user()
    assert client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    assert client.get(reverse("supporters:mypage")).status_code == 200
    person.set_password("a-new-long-password-77")
    person.save()
    # The session's auth hash no longer matches the row: signed out, sent to the login.
    response = client.get(reverse("supporters:mypage"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
