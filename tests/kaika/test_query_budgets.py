"""Query budgets of the hot pages at 9:00: each page's SQL count is fixed here, and does not
grow with the number of shops, listings or orders. A page that starts issuing one query per
row (an N+1) or one more query per request fails here, not in production. The shop list and
shop page budgets live beside their other tests in tests/projects/test_public_views.py."""

import re

import pytest
from django.urls import reverse

from purchases.models import Order
from tests.conftest import make_user, using_postgres
from tests.projects.factories import make_listing, make_project, make_round, make_shop
from tests.purchases.helpers import confirm_url, form_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_offer():
    """A round open now (the views read the real clock), one shop and its standard listing."""
    project = make_project()
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    return {"project": project, "round": round_, "shop": shop, "listing": shop.listings.get()}


def test_home_costs_two_queries_whatever_the_number_of_shops(
    client, live_offer, django_assert_num_queries
):
    client.get(reverse("home"))  # the maintenance switch is now in the shared cache (1 s)
    with django_assert_num_queries(2):  # project, round
        client.get(reverse("home"))
    for _ in range(10):
        make_shop(live_offer["project"])
    with django_assert_num_queries(2):
        response = client.get(reverse("home"))
    assert response.status_code == 200


def test_my_page_costs_three_queries_whatever_the_supporter_has_bought(
    user_client, user, live_offer, django_assert_num_queries
):
    url = reverse("supporters:mypage")
    user_client.get(url)  # the session is now in the cache, as for a returning supporter
    # The user (the session comes from the cache), the exposure-log INSERT (one per page that
    # shows personal data, for the incident report), and whether they operate a shop (to
    # offer two-factor authentication).
    with django_assert_num_queries(3):
        user_client.get(url)
    for _ in range(3):
        page = user_client.get(confirm_url(live_offer, 1))
        user_client.post(reverse("purchases:order_confirm"), form_fields(page.content.decode()))
    assert Order.objects.filter(supporter=user).count() == 3
    with django_assert_num_queries(3):
        response = user_client.get(url)
    assert response.status_code == 200


def test_the_confirmation_page_costs_the_same_queries_for_a_first_or_a_fourth_order(
    user_client, user, live_offer, django_assert_num_queries
):
    user_client.get(reverse("supporters:mypage"))  # session cached
    # user, verified email; the terms (round; the listing with its shop and project and
    # whether both are in the round); the supporter's totals; and the exposure-log INSERT
    # (the page shows the supporter's name and address); and whether the round has a waiting
    # room (waitingroom.admission: one indexed row, none here).
    with django_assert_num_queries(7):
        page = user_client.get(confirm_url(live_offer, 1))
    assert page.status_code == 200 and not page.context["error"]
    for _ in range(3):
        fields = form_fields(user_client.get(confirm_url(live_offer, 1)).content.decode())
        user_client.post(reverse("purchases:order_confirm"), fields)
    make_listing(live_offer["shop"], title="限定コース", unit_price=5000)
    with django_assert_num_queries(7):
        user_client.get(confirm_url(live_offer, 1))


def test_posting_the_confirmation_creates_the_order_in_a_fixed_number_of_queries(
    user_client, user, live_offer, django_assert_num_queries
):
    user_client.get(reverse("supporters:mypage"))
    for expected_orders in (1, 2):
        fields = form_fields(user_client.get(confirm_url(live_offer, 1)).content.decode())
        # The 9:00 path on PostgreSQL: user, verified email, whether the project is closed to
        # the supporter (residents only, without their code), then the whole reservation as
        # one statement (kaika_order_reserve), inside a savepoint and its release here (in a
        # request, its own transaction). On SQLite the same in Python: the supporter's lock,
        # the terms (2), the totals, the INSERT and the 4 conditional UPDATEs, in a savepoint.
        # The page's own rows are read only on a refusal. Plus whether the round has a waiting
        # room (one indexed row; none here).
        with django_assert_num_queries(7 if using_postgres() else 14):
            response = user_client.post(reverse("purchases:order_confirm"), fields)
        assert response.status_code == 302
        assert re.search(r"/orders/K-\w+/pay/$", response["Location"])
        assert Order.objects.filter(supporter=user).count() == expected_orders


def test_other_supporters_orders_do_not_add_queries_to_a_confirmation(
    client, user_client, live_offer, django_assert_num_queries
):
    # The per-person sums are per supporter: other people's orders cost nothing more.
    for _ in range(3):
        fields = form_fields(user_client.get(confirm_url(live_offer, 1)).content.decode())
        user_client.post(reverse("purchases:order_confirm"), fields)
    assert Order.objects.count() == 3
    client.logout()
    client.force_login(make_user())
    client.get(reverse("supporters:mypage"))
    with django_assert_num_queries(7):  # as for a first order (see above)
        page = client.get(confirm_url(live_offer, 1))
    assert page.status_code == 200 and not page.context["error"]
