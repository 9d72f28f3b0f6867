import pytest
from django.test import Client
from django.urls import reverse

from inquiries.models import Inquiry
from tests.conftest import make_user
from tests.purchases.helpers import buy, make_offer

pytestmark = pytest.mark.django_db

POST = {
    "name": "山田 花子",
    "email": "ask@example.jp",
    "category": "tickets",
    "subject": "チケットについて",
    "body": "届いていません。",
    "website": "",
}


def test_a_supporter_picks_one_of_their_own_orders(user_client, user):
    order = buy(make_offer(), user, units=2)
    page = user_client.get(reverse("inquiries:contact")).content.decode()
    assert order.code in page
    response = user_client.post(reverse("inquiries:contact"), {**POST, "order": order.pk})
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.order == order
    detail = user_client.get(reverse("inquiries:inquiry_detail", args=[inquiry.reference]))
    assert order.code in detail.content.decode()


def test_another_persons_order_cannot_be_attached(user_client, user):
    offer = make_offer()
    buy(offer, user)
    theirs = buy(offer, make_user())
    response = user_client.post(reverse("inquiries:contact"), {**POST, "order": theirs.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["order"]
    assert not Inquiry.objects.exists()


def test_anonymous_senders_get_no_order_choice_and_cannot_attach_one():
    offer = make_offer()
    order = buy(offer, make_user())
    client = Client()
    assert 'name="order"' not in client.get(reverse("inquiries:contact")).content.decode()
    response = client.post(reverse("inquiries:contact"), {**POST, "order": order.pk})
    assert response.status_code == 302
    assert Inquiry.objects.get().order is None


def test_an_order_that_does_not_exist_is_refused(user_client, user):
    buy(make_offer(), user)
    response = user_client.post(reverse("inquiries:contact"), {**POST, "order": 999_999})
    assert response.status_code == 200
    assert response.context["form"].errors["order"]
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "signed-out"])
def test_there_is_no_free_text_order_number_to_type_one_that_does_not_exist(client, signed_in):
    """One way to name an order: a member picks one of their own. A typed number could not be
    checked, so there is no box for one, and one posted anyway is not recorded."""
    if signed_in:
        member = make_user()
        buy(make_offer(), member)
        client.force_login(member)
    page = client.get(reverse("inquiries:contact")).content.decode()
    assert 'name="order_number"' not in page
    assert ('name="order"' in page) is signed_in
    if not signed_in:
        assert "/accounts/login/?next=/contact/" in page
    response = client.post(reverse("inquiries:contact"), {**POST, "order_number": "K-NOSUCHORDER"})
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.order_number == ""
    assert inquiry.order is None
