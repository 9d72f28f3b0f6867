import pytest
from django.urls import reverse

from ops.models import ExposureLog
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = pytest.mark.django_db


def test_the_confirmation_page_and_order_history_are_in_the_exposure_log(user_client, user):
    project = make_project()
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    listing = shop.listings.get()
    page = user_client.get(
        reverse("purchases:order_confirm"),
        {"listing": listing.pk, "round": round_.pk, "units": 1},
    )
    assert page.status_code == 200
    user_client.get(reverse("purchases:order_list"))
    actions = list(ExposureLog.objects.filter(subject_id=user.pk).values_list("action", flat=True))
    assert "purchase" in actions and "orders" in actions
