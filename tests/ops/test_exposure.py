import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ops.exposure import email_hash, exposure_log_prune, session_hash
from ops.models import ExposureAction, ExposureLog
from supporters.models import User
from tests.conftest import PASSWORD, make_user
from tests.url_catalogue import PROFILE_POST, VALID_POSTS


def only_row() -> ExposureLog:
    rows = list(ExposureLog.objects.all())
    assert len(rows) == 1, [(r.action, r.subject_id) for r in rows]
    return rows[0]


def test_my_page_records_whose_data_which_session_which_request(user_client, user):
    user_client.get(reverse("supporters:mypage"), headers={"X-Request-ID": "nginx-req-1"})
    row = only_row()
    assert row.action == ExposureAction.MY_PAGE and row.subject_id == user.pk
    assert row.request_id == "nginx-req-1" and row.client_ip == "127.0.0.1"
    assert row.viewer_session_hash == session_hash(user_client.session.session_key)
    assert row.subject_email_hash == email_hash(user.email)
    # Keyed hashes only: neither the address nor the session key is stored.
    assert user.email not in row.subject_email_hash
    assert user_client.session.session_key not in row.viewer_session_hash


def test_a_request_id_is_generated_without_nginx(user_client):
    user_client.get(reverse("supporters:mypage"))
    assert len(only_row().request_id) == 32


def test_viewing_and_updating_the_profile_are_one_row_each(user_client, user):
    user_client.get(reverse("supporters:profile_edit"))
    assert only_row().action == ExposureAction.PROFILE_VIEWED
    ExposureLog.objects.all().delete()
    response = user_client.post(reverse("supporters:profile_edit"), PROFILE_POST)
    assert response.status_code == 302
    assert only_row().action == ExposureAction.PROFILE_UPDATED


def test_completing_a_login_is_recorded(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    row = only_row()
    assert row.action == ExposureAction.LOGIN_COMPLETED and row.subject_id == user.pk
    assert row.viewer_session_hash == session_hash(client.session.session_key)


def test_a_failed_login_records_the_owner_of_the_typed_email(client, user):
    client.post(reverse("account_login"), {"login": user.email.upper(), "password": "wrong-1"})
    row = only_row()
    assert row.action == ExposureAction.FAILED_LOGIN_ECHO
    assert row.subject_id == user.pk and row.subject_email_hash == email_hash(user.email)


def test_a_failed_login_with_an_unknown_email_keeps_only_its_hash(client, db):
    client.post(reverse("account_login"), {"login": "nobody@example.jp", "password": "wrong-1"})
    row = only_row()
    assert row.subject_id is None and row.subject_email_hash == email_hash("nobody@example.jp")


def test_signup_is_recorded(client, db):
    client.post(reverse("account_signup"), VALID_POSTS["account_signup"]({}))
    new = User.objects.get(email="walker-signup@example.jp")
    assert only_row().action == ExposureAction.SIGNUP and only_row().subject_id == new.pk


def test_an_anonymous_contact_from_a_members_address_is_resolved_to_the_member(client, user):
    data = {**VALID_POSTS["inquiries:contact"]({}), "email": user.email}
    assert client.post(reverse("inquiries:contact"), data).status_code == 302
    row = only_row()
    assert row.action == ExposureAction.CONTACT_SENT and row.subject_id == user.pk


def test_the_prefilled_contact_form_and_inquiry_history_are_recorded(user_client, user):
    user_client.get(reverse("inquiries:contact"))
    user_client.get(reverse("inquiries:inquiry_list"))
    assert list(ExposureLog.objects.values_list("action", flat=True).order_by("id")) == [
        ExposureAction.CONTACT_FORM_SHOWN,
        ExposureAction.INQUIRY_HISTORY,
    ]


@pytest.mark.parametrize("url", ["/", "/shops/", "/faq/", "/contact/"])
def test_pages_without_personal_data_record_nothing(client, db, url):
    assert client.get(url).status_code == 200
    assert not ExposureLog.objects.exists()


def test_rows_older_than_the_retention_are_pruned(db, settings):
    settings.KAIKA_EXPOSURE_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (31, 40, 29, 0):
        ExposureLog.objects.create(at=now - datetime.timedelta(days=days), action="mypage")
    assert exposure_log_prune(now=now, batch_size=1) == 2
    assert sorted((now - r.at).days for r in ExposureLog.objects.all()) == [0, 29]
    call_command("prune_exposure_log", stdout=io.StringIO())
    assert ExposureLog.objects.count() == 2


def test_another_supporters_email_typed_at_login_is_attributed_to_them(client, db):
    alice = make_user(email="alice@example.jp")
    client.post(reverse("account_login"), {"login": "alice@example.jp", "password": "nope-x"})
    assert only_row().subject_id == alice.pk


def test_a_record_keeps_its_time_request_address_and_nulls_as_given(rf, user):
    from django.contrib.sessions.backends.db import SessionStore

    from ops.exposure import exposure_record

    at = timezone.now().replace(microsecond=123456)
    request = rf.get("/mypage/", headers={"X-Request-ID": "req-42"}, REMOTE_ADDR="192.0.2.7")
    request.session = SessionStore()
    request.session.create()
    written = exposure_record(request, subject=user, action=ExposureAction.MY_PAGE, now=at)
    stored = ExposureLog.objects.get(pk=written.pk)
    assert (stored.at, stored.action, stored.subject_id, stored.request_id) == (
        at,
        ExposureAction.MY_PAGE,
        user.pk,
        "req-42",
    )
    assert stored.client_ip == "192.0.2.7" and stored.subject_email_hash == email_hash(user.email)
    assert stored.viewer_session_hash == session_hash(request.session.session_key)
    anonymous = rf.get("/contact/", REMOTE_ADDR="")
    typed = exposure_record(
        anonymous, email="Nobody@Example.jp", action=ExposureAction.CONTACT_SENT, now=at
    )
    other = ExposureLog.objects.get(pk=typed.pk)
    assert other.subject_id is None and other.client_ip is None and other.at == at
    assert other.subject_email_hash == email_hash("nobody@example.jp")
    assert other.viewer_session_hash == ""
