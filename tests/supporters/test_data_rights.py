import json

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inquiries.models import Inquiry
from supporters.models import DataRightsRequest, User
from tests.conftest import PASSWORD, download_url, login_staff, make_user
from tests.kaika.test_private_by_default import assert_private
from tests.projects.factories import make_project, make_shop

pytestmark = pytest.mark.django_db


def make_inquiry(user, reference="Q-DATARGT2"):
    return Inquiry.objects.create(
        reference=reference,
        user=user,
        name=user.full_name,
        email=user.email,
        category="other",
        subject="件名",
        body="本文",
        created_at=timezone.now(),
    )


def test_a_supporter_downloads_everything_held_about_them(user_client, user):
    make_inquiry(user)
    other = make_user(family_name="他人")
    make_inquiry(other, reference="Q-OTHERXX2")
    response = user_client.post(download_url("supporters:data_export"))
    assert response.status_code == 200
    assert_private(response, "data export")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["email"] == user.email
    assert data["profile"]["family_name_kana"] == "ヤマダ"
    assert [i["reference"] for i in data["inquiries"]] == ["Q-DATARGT2"]
    assert "他人" not in response.content.decode()
    assert "password" not in response.content.decode()
    assert DataRightsRequest.objects.filter(kind="export", user=user).count() == 1


def test_deleting_the_account_needs_the_password(user_client, user):
    response = user_client.post(
        reverse("supporters:data_rights"), {"password": "wrong", "confirm": "on"}
    )
    assert response.status_code == 200
    assert "パスワードが正しくありません" in response.content.decode()
    user.refresh_from_db()
    assert user.is_active and user.family_name == "山田"


def test_deleting_the_account_erases_the_person_and_keeps_the_shop(user):
    shop = make_shop(make_project(), operators=[user])
    make_inquiry(user)
    email = user.email
    here, elsewhere = Client(), Client()
    for c in (here, elsewhere):
        c.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    response = here.post(reverse("supporters:data_rights"), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("supporters:account_deleted")
    assert_private(here.get(response["Location"]), "account deleted page")

    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()
    assert user.email.endswith("@deleted.invalid")
    assert (user.family_name, user.phone, user.postal_code, user.birth_date) == ("", "", "", None)
    assert not Inquiry.objects.filter(email=email).exists()
    assert not EmailAddress.objects.filter(email=email).exists()
    shop.refresh_from_db()
    assert list(shop.operators.all()) == []
    # Every session of theirs has ended, and the address can no longer log in.
    assert elsewhere.get(reverse("supporters:mypage")).status_code == 302
    login = Client().post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert login.status_code == 200
    # Staff see the request; the address is kept only as a keyed hash.
    request = DataRightsRequest.objects.get(kind="delete")
    assert email not in request.email_hash and len(request.email_hash) == 64
    assert User.objects.filter(pk=user.pk).exists()  # orders and tickets keep pointing at it


def test_staff_see_the_requests_in_admin(client, staff_user, user):
    DataRightsRequest.objects.create(
        kind="delete", user=user, email_hash="0" * 64, created_at=timezone.now()
    )
    login_staff(client, staff_user)
    page = client.get(reverse("admin:supporters_datarightsrequest_changelist"))
    assert page.status_code == 200
    assert "退会" in page.content.decode()


def test_the_download_includes_orders_and_deletion_keeps_them_detached(user_client, user):
    from tests.purchases.helpers import buy, make_offer

    order = buy(make_offer(), user, units=2)
    data = json.loads(user_client.post(download_url("supporters:data_export")).content)
    assert [o["code"] for o in data["orders"]] == [order.code]
    user_client.post(reverse("supporters:data_rights"), {"password": PASSWORD, "confirm": "on"})
    order.refresh_from_db()
    assert order.supporter_id == user.pk  # kept for accounting
    user.refresh_from_db()
    assert user.full_name == "" and user.email.endswith("@deleted.invalid")


def test_the_download_has_every_apps_part(user_client):
    # Each app registers its part from its AppConfig.ready() (kaika/data_rights.py).
    data = json.loads(user_client.post(download_url("supporters:data_export")).content)
    assert set(data) == {
        "exported_at",
        "account",
        "profile",
        "shops_operated",
        "orders",
        "tickets",
        "inquiries",
        "resident_codes",
        "lottery_applications",
    }
