"""What becomes of unused paid value is the project's setting (forfeited by default, or
refunded on request), and a supporter reads it before buying: on the project's page, on the
shop's page beside the order form, on the confirmation page, and in the terms and the
特定商取引法 page (which send the reader to the project's page)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import Project, UnusedValue
from tests.purchases.helpers import confirm_url
from tests.purchases.test_ticket_pages import pay, signed_in
from tests.purchases.test_wallet import take

pytestmark = pytest.mark.django_db

FORFEITED = "利用期間を過ぎて使われなかったチケットの残額は失効し、換金・払い戻しはできません。"
REFUNDED = "使われなかったチケットの残額は、お申し出により、お支払いに使われたカードへ返金します"


def test_a_project_forfeits_unused_value_unless_it_says_otherwise(live_offer):
    assert live_offer["project"].unused_value == UnusedValue.FORFEITED


@pytest.mark.parametrize(
    ("setting", "says", "not_says"),
    [
        (UnusedValue.FORFEITED, FORFEITED, REFUNDED),
        (UnusedValue.REFUNDED_ON_REQUEST, REFUNDED, FORFEITED),
    ],
)
def test_the_setting_is_shown_before_buying(client, user, live_offer, setting, says, not_says):
    Project.objects.filter(pk=live_offer["project"].pk).update(unused_value=setting)
    project_page = client.get(live_offer["project"].get_absolute_url()).content.decode()
    shop_page = client.get(live_offer["shop"].get_absolute_url()).content.decode()
    assert 'class="order-form"' in shop_page  # beside the order form
    client.force_login(user)
    confirmation = client.get(confirm_url(live_offer)).content.decode()
    assert "申し込んでお支払いへ進む" in confirmation
    for html in (project_page, shop_page, confirmation):
        assert says in html and not_says not in html


@pytest.mark.parametrize("name", ["projects:terms", "projects:legal"])
def test_the_terms_and_the_legal_page_send_the_reader_to_the_project_s_page(client, name):
    html = client.get(reverse(name)).content.decode()
    assert (
        "各プロジェクトのページに記載のとおり、失効する(換金・払い戻しはできません)か、お申し出により返金します"
        in html
    )


# --- After the usage period: My page says what became of the value left -------------------


def expired_wallet_page(offer, user, setting) -> str:
    Project.objects.filter(pk=offer.project.pk).update(unused_value=setting)
    pay(offer, user)
    take(offer, user.wallets.get().code, 400)
    today = timezone.localdate()
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=today - datetime.timedelta(days=60),
        usage_ends_on=today - datetime.timedelta(days=1),
    )
    return signed_in(user).get(reverse("purchases:ticket_list")).content.decode()


def test_after_expiry_a_refunding_project_s_supporter_is_shown_how_to_ask(offer, user):
    page = expired_wallet_page(offer, user, UnusedValue.REFUNDED_ON_REQUEST)
    assert "利用期間を過ぎた残額1,100円は、お申し出により" in page
    assert f"{reverse('inquiries:contact')}?topic=unused_refund" in page
    form = signed_in(user).get(reverse("inquiries:contact"), {"topic": "unused_refund"})
    html = form.content.decode()
    assert 'value="利用期間を過ぎたチケットの残額の返金のお願い"' in html
    assert '<option value="tickets" selected>' in html


def test_after_expiry_a_forfeiting_project_s_supporter_is_told_it_is_forfeited(offer, user):
    page = expired_wallet_page(offer, user, UnusedValue.FORFEITED)
    assert "利用期間を過ぎた残額1,100円は失効しました" in page
    assert "topic=unused_refund" not in page


def test_nothing_is_said_about_unused_value_while_the_tickets_are_usable(offer, user):
    pay(offer, user)
    page = signed_in(user).get(reverse("purchases:ticket_list")).content.decode()
    assert "unused-value" not in page


def test_an_unknown_topic_prefills_nothing(client):
    html = client.get(reverse("inquiries:contact"), {"topic": "<script>"}).content.decode()
    assert "返金のお願い" not in html and "&lt;script&gt;" not in html
