"""What becomes of unused paid value is the project's setting (forfeited by default, or
refunded on request), and a supporter reads it before buying: on the project's page, on the
shop's page beside the order form, on the confirmation page, and in the terms and the
特定商取引法 page (which send the reader to the project's page)."""

import pytest
from django.urls import reverse

from projects.models import Project, UnusedValue
from tests.purchases.helpers import confirm_url

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
