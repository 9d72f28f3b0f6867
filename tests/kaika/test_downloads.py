"""Personal downloads are uncacheable by construction (kaika/downloads.py): a POST with its CSRF
token, under a nonce the browser draws for that one click, answered once."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from kaika.downloads import NONCE_PLACEHOLDER
from ops.models import ExposureAction, ExposureLog
from tests.conftest import PASSWORD, current_code, download_url, make_user
from tests.kaika.test_private_by_default import assert_private
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = pytest.mark.django_db

CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_RE = re.compile(
    r'<form method="post" action="([^"]+)" class="download-form"[^>]*>(.*?)</form>', re.S
)


def browser(user) -> Client:
    """A browser that signs in with its password and sends CSRF tokens like a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def data_page_token(client) -> str:
    page = client.get(reverse("supporters:data_rights")).content.decode()
    return CSRF_INPUT_RE.search(page).group(1)


def test_the_data_page_has_a_post_form_with_a_placeholder_the_script_replaces(user_client):
    page = user_client.get(reverse("supporters:data_rights")).content.decode()
    action, inside = FORM_RE.search(page).groups()
    assert action == reverse("supporters:data_export", kwargs={"nonce": NONCE_PLACEHOLDER})
    assert "js/download.js" in page and 'name="csrfmiddlewaretoken"' in inside
    # No link that a GET could follow to anyone's data.
    assert 'href="/mypage/data/export' not in page


def test_a_download_is_a_json_file_with_the_persons_own_data_in_readable_japanese(user):
    client = browser(user)
    token = data_page_token(client)
    response = client.post(download_url("supporters:data_export"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="kaika-my-data.json"'
    assert_private(response, "data download")
    text = response.content.decode("utf-8")
    assert "ヤマダ" in text  # the kana as written, not \\u escapes
    assert json.loads(text)["account"]["email"] == user.email
    row = ExposureLog.objects.get()
    assert row.action == ExposureAction.DATA_EXPORT and row.subject_id == user.pk


def test_the_old_get_address_and_a_get_of_the_new_one_give_no_data(user_client, user):
    assert user_client.get("/mypage/data/export.json").status_code == 404
    response = user_client.get(download_url("supporters:data_export"))
    assert response.status_code == 405
    assert user.email not in response.content.decode()
    assert not ExposureLog.objects.exists()


def test_a_nonce_answers_once_only(user):
    client = browser(user)
    token = data_page_token(client)
    url = download_url("supporters:data_export")
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 200
    again = client.post(url, {"csrfmiddlewaretoken": token})
    assert again.status_code == 410
    assert user.email not in again.content.decode()
    assert "すでに使われています" in again.content.decode()
    assert ExposureLog.objects.count() == 1


def test_a_nonce_someone_else_used_gives_the_next_person_nothing(user):
    """One URL never answers for two people: a cache keyed on it could hold only the first."""
    other = make_user(email="other@example.jp", family_name="他人")
    url = download_url("supporters:data_export")
    first = browser(user)
    assert first.post(url, {"csrfmiddlewaretoken": data_page_token(first)}).status_code == 200
    second = browser(other)
    response = second.post(url, {"csrfmiddlewaretoken": data_page_token(second)})
    assert response.status_code == 410
    body = response.content.decode()
    assert user.email not in body and other.email not in body and "他人" not in body


@pytest.mark.parametrize("nonce", [NONCE_PLACEHOLDER, "0123", "G" * 32, "A" * 32])
def test_the_placeholder_or_a_malformed_nonce_is_refused_with_a_reason(user, nonce):
    client = browser(user)
    url = reverse("supporters:data_export", kwargs={"nonce": nonce})
    response = client.post(url, {"csrfmiddlewaretoken": data_page_token(client)})
    assert response.status_code == 400
    assert "JavaScript" in response.content.decode() and user.email not in response.content.decode()
    assert_private(response, "refused download")


def test_a_post_without_the_csrf_token_or_with_another_browsers_is_refused(user):
    other = make_user(email="other@example.jp")
    client = browser(user)
    assert client.post(download_url("supporters:data_export")).status_code == 403
    # A token from someone else's page (as a shared cache would hand it out) does not match
    # this browser's CSRF cookie.
    others_token = data_page_token(browser(other))
    data_page_token(client)  # this browser's own CSRF cookie
    response = client.post(
        download_url("supporters:data_export"), {"csrfmiddlewaretoken": others_token}
    )
    assert response.status_code == 403
    assert not ExposureLog.objects.exists()


def test_a_signed_out_browser_is_sent_to_sign_in_and_gets_no_data(client, user):
    response = client.post(download_url("supporters:data_export"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert_private(response, "signed-out download")


def test_the_shop_figures_csv_is_a_private_download_too(client):
    operator = make_user(email="operator@example.jp")
    project = make_project()
    make_round(project, number=1)
    shop = make_shop(project, operators=[operator])
    client.force_login(operator)
    page = client.get(reverse("projects:manage_figures", kwargs={"shop_id": shop.pk}))
    assert FORM_RE.search(page.content.decode()).group(1) == reverse(
        "projects:manage_figures_csv", kwargs={"shop_id": shop.pk, "nonce": NONCE_PLACEHOLDER}
    )
    assert client.get(f"/shops/manage/{shop.pk}/figures.csv").status_code == 404
    url = download_url("projects:manage_figures_csv", shop_id=shop.pk)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode("utf-8").startswith("\ufeff期,")
    assert client.post(url).status_code == 410


def reauthenticated_with_recovery_codes(client: Client, user) -> None:
    """Signed in with an authenticator and its recovery codes, just reauthenticated (allauth
    shows the codes only then)."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(user)
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": current_code()})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})


def test_recovery_codes_download_only_by_post_under_a_nonce(client):
    from allauth.mfa.models import Authenticator

    user = make_user(email="twofactor@example.jp", totp=True)
    reauthenticated_with_recovery_codes(client, user)
    codes = Authenticator.objects.get(user=user, type="recovery_codes").wrap().get_unused_codes()
    page = client.get(reverse("mfa_view_recovery_codes"))
    assert page.status_code == 200, page.status_code
    assert FORM_RE.search(page.content.decode()).group(1) == reverse(
        "recovery_codes_download", kwargs={"nonce": NONCE_PLACEHOLDER}
    )
    # allauth's own download, a GET of one URL for everyone, now only leads to the page.
    old = client.get(reverse("mfa_download_recovery_codes"))
    assert old.status_code == 302 and old["Location"] == reverse("mfa_view_recovery_codes")
    assert codes[0] not in old.content.decode()

    url = download_url("recovery_codes_download")
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert response.content.decode().split() == codes
    assert_private(response, "recovery codes download")
    assert client.post(url).status_code == 410


def test_the_exposure_report_csv_is_a_private_download(client, staff_user):
    from tests.conftest import login_staff

    login_staff(client, staff_user)
    url = download_url("admin:ops_exposurelog_report_csv")
    assert client.get(url).status_code == 405
    window = {"start": "2021-08-31 08:50", "end": "2021-08-31 09:09"}
    response = client.post(url, window)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert_private(response, "exposure report CSV")
    assert client.post(url, window).status_code == 410
    # A window that does not parse goes back to the report's form, with no file.
    bad = client.post(download_url("admin:ops_exposurelog_report_csv"), {"start": "x"})
    assert bad.status_code == 302 and bad["Location"] == reverse("admin:ops_exposurelog_report")
