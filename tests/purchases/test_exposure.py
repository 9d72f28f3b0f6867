import pytest
from django.urls import reverse

from ops.models import ExposureLog
from tests.conftest import download_url
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


def test_tickets_the_cancel_page_and_the_data_download_are_in_the_exposure_log(user_client, user):
    """Spendable QR codes, a pending order's details and everything the site holds about the
    person: after a leak, whoever saw them is on the report."""
    from purchases.services import PaymentResult, payment_record
    from tests.purchases.helpers import DURING, buy, make_offer

    offer = make_offer()
    paid = buy(offer, user, units=1)
    payment_record(
        result=PaymentResult("sandbox", paid.code, "sbx_x", paid.amount, True, DURING), now=DURING
    )
    pending = buy(offer, user, units=1)
    ticket = paid.tickets.first()
    ExposureLog.objects.all().delete()
    visits = [
        (reverse("purchases:ticket_list"), "tickets"),
        (ticket.get_absolute_url(), "tickets"),
        (reverse("purchases:order_cancel", kwargs={"order_code": pending.code}), "orders"),
        # A POST under the browser's own nonce (kaika/downloads.py), still on the report.
        (download_url("supporters:data_export"), "data_export"),
    ]
    for url, action in visits:
        method = user_client.post if action == "data_export" else user_client.get
        assert method(url).status_code == 200
        logged = ExposureLog.objects.filter(subject_id=user.pk).order_by("-pk").first()
        assert logged is not None and logged.action == action, url
