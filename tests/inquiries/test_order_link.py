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
    "order_number": "",
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
