"""Consent to the terms and the privacy policy at signup: required, and recorded with its time
and the terms' version; the person can see it in their data download."""

import datetime
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from supporters.models import User
from tests.conftest import download_url, make_user
from tests.supporters.test_accounts import SIGNUP

pytestmark = pytest.mark.django_db


def test_signup_without_consent_is_refused_and_says_why(client):
    data = {key: value for key, value in SIGNUP.items() if key != "terms_agreed"}
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    assert "利用規約とプライバシーポリシーへの同意が必要です" in response.content.decode()
    assert not User.objects.exists()


def test_signup_records_when_and_to_which_terms_the_person_agreed(client, settings):
    settings.KAIKA_TERMS_VERSION = "2027-01-15"
    before = timezone.now()
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    user = User.objects.get()
    assert user.terms_version == "2027-01-15"
    assert before <= user.terms_agreed_at <= timezone.now()


def test_the_checkbox_links_the_terms_and_the_privacy_policy_in_both_languages(client):
    html = client.get(reverse("account_signup")).content.decode()
    label = html[html.index('<label for="id_terms_agreed"') :]
    label = label[: label.index("</label>")]
    assert (
        f'<a href="{reverse("projects:terms")}" target="_blank" rel="noopener">利用規約</a>'
        in label
    )
    assert f'href="{reverse("projects:privacy")}"' in label and "に同意します" in label
    assert 'type="checkbox" name="terms_agreed"' in html and "required" in html
    english = Client().get("/en/accounts/signup/").content.decode()
    assert 'href="/en/terms/"' in english and "I agree to the" in english


def test_the_data_download_shows_the_consent(client):
    user = make_user(
        terms_agreed_at=datetime.datetime(2027, 1, 15, 9, 0, tzinfo=datetime.UTC),
        terms_version="2027-01-15",
    )
    client.force_login(user)
    data = json.loads(client.post(download_url("supporters:data_export")).content)
    assert data["account"]["terms_agreed_at"] == "2027-01-15T09:00:00+00:00"
    assert data["account"]["terms_version"] == "2027-01-15"
