"""The receipt (領収書) of a paid order: the owner's alone, never stored, issued by the office."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from ops.models import ExposureLog
from purchases.models import Order, OrderStatus
from purchases.services import PaymentResult, order_refund, payment_record
from tests.conftest import make_user
from tests.kaika.test_private_by_default import assert_private
from tests.purchases.helpers import DURING, buy

pytestmark = pytest.mark.django_db

OFFICE = {
    "name": "山口市プレミアム商品券事務局",
    "representative": "事務局長 山口 花子",
    "address": "〒753-8650 山口県山口市亀山町2-1",
    "phone": "083-000-1234",
    "email": "office@yamaguchi.example.jp",
    "hours": "平日 8:30〜17:15",
}


@pytest.fixture
def office(settings):
    settings.KAIKA_OFFICE = OFFICE
    settings.KAIKA_OFFICE_IS_DEMO = False
    settings.KAIKA_INVOICE_REGISTRATION_NUMBER = ""
    return OFFICE


def paid(offer, supporter, units=2) -> Order:
    order = buy(offer, supporter, units=units)
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING),
        now=DURING,
    )
    order.refresh_from_db()
    return order


def receipt_url(order) -> str:
    return reverse("purchases:receipt", kwargs={"order_code": order.code})


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_receipt_of_a_paid_order_is_issued_by_the_office(offer, office):
    supporter = make_user(family_name="山田", given_name="花子")
    order = paid(offer, supporter, units=3)
    response = signed_in(supporter).get(receipt_url(order))
    html = response.content.decode()
    assert response.status_code == 200
    assert_private(response, "receipt")
    assert "領収書" in html and "山田 花子 様" in html
    assert "3,000円" in html and order.code in html
    assert "プレミアム付き商品券の購入代金として" in html
    assert "非課税" in html  # 商品券: no consumption tax in the amount, no breakdown
    assert OFFICE["name"] in html and OFFICE["address"] in html and OFFICE["phone"] in html
    assert "2031年8月31日" in html  # the payment's date (DURING), the same at every view
    assert "登録番号" not in html and "再発行" not in html and "見本" not in html


def test_the_receipt_carries_the_invoice_registration_number_when_set(offer, office, settings):
    settings.KAIKA_INVOICE_REGISTRATION_NUMBER = "T1234567890123"
    supporter = make_user()
    order = paid(offer, supporter)
    html = signed_in(supporter).get(receipt_url(order)).content.decode()
    assert "登録番号 T1234567890123" in html


def test_a_demo_receipt_is_marked_as_a_sample(offer, settings):
    settings.KAIKA_OFFICE_IS_DEMO = True
    supporter = make_user()
    order = paid(offer, supporter)
    html = signed_in(supporter).get(receipt_url(order)).content.decode()
    assert "見本" in html and "効力はありません" in html


def test_another_supporter_gets_a_404(offer, office):
    owner, other = make_user(), make_user()
    order = paid(offer, owner)
    assert signed_in(other).get(receipt_url(order)).status_code == 404
    anonymous = Client().get(receipt_url(order))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_an_unpaid_order_has_no_receipt_yet(offer, office):
    owner = make_user()
    pending = buy(offer, owner, units=1)
    response = signed_in(owner).get(receipt_url(pending))
    html = response.content.decode()
    assert_private(response, "receipt of a pending order")
    assert "この申込はお支払いが済んでいません" in html
    assert "上記の金額を正に領収いたしました" not in html


def test_a_refunded_order_has_no_receipt(offer, office):
    supporter = make_user()
    order = paid(offer, supporter)
    order_refund(order=order, now=DURING)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    html = signed_in(supporter).get(receipt_url(order)).content.decode()
    assert "返金済みのため、領収書は発行できません" in html
    assert "上記の金額を正に領収いたしました" not in html


def test_the_receipt_is_on_the_incident_report(offer, office):
    supporter = make_user()
    order = paid(offer, supporter)
    ExposureLog.objects.all().delete()
    signed_in(supporter).get(receipt_url(order))
    assert list(ExposureLog.objects.values_list("action", "subject_id")) == [
        ("orders", supporter.pk)
    ]


def test_the_order_page_links_the_receipt_only_once_paid(offer, office):
    supporter = make_user()
    client = signed_in(supporter)
    pending = buy(offer, supporter, units=1)
    assert "receipt/" not in client.get(pending.get_absolute_url()).content.decode()
    order = paid(offer, supporter)
    assert f'href="{receipt_url(order)}"' in client.get(order.get_absolute_url()).content.decode()


def test_printing_shows_the_receipt_alone():
    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "site.css").read_text()
    print_rules = css[css.index("@media print") :]
    assert ".site-header, .site-footer" in print_rules and ".no-print" in print_rules
