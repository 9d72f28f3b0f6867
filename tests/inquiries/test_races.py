"""One contact form sent ten times at the same instant, on real PostgreSQL: one inquiry, one
set of emails, and every sending answered with that inquiry.

The debug hook KAIKA_DEBUG_PAUSE_AFTER_CHECKS holds every sending between its look-up of an
earlier one and its INSERT, so only the unique constraint can keep them to one. The negative
control runs the same race with that constraint dropped: it must make several inquiries,
which proves the race is really run.
"""

from contextlib import contextmanager

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from inquiries.models import Category, Inquiry
from inquiries.services import inquiry_create
from tests.concurrency import race
from tests.conftest import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SENDINGS = 10
KEY = "one-contact-form-sent-ten-times"


@pytest.fixture(autouse=True)
def checks_then_a_pause(settings):
    settings.KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0.05
    settings.KAIKA_STAFF_EMAILS = ["office@kaika.example.jp"]
    settings.KAIKA_INQUIRY_RATE_LIMITS = {"ip": (1000, 600), "email": (1000, 3600)}


def same_form_race(member) -> list[Inquiry]:
    now = timezone.now()
    return race(
        SENDINGS,
        lambda i: inquiry_create(
            name="山田 花子",
            email="hanako@example.jp",
            category=Category.TICKETS,
            subject="チケットが届きません",
            body="届いていません。",
            user=member,
            client_ip="192.0.2.1",
            idempotency_key=KEY,
            now=now,
        ),
    )


@contextmanager
def constraints_dropped():
    constraints = Inquiry._meta.constraints
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.remove_constraint(Inquiry, constraint)
    try:
        yield
    finally:
        Inquiry.objects.all().delete()
        with connection.schema_editor() as editor:
            for constraint in constraints:
                editor.add_constraint(Inquiry, constraint)


@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "signed-out"])
def test_one_contact_form_sent_ten_times_at_once_is_one_inquiry_and_one_set_of_emails(
    signed_in, mailoutbox
):
    member = make_user(email="hanako@example.jp") if signed_in else None
    outcomes = same_form_race(member)
    assert len({inquiry.pk for inquiry in outcomes}) == 1
    assert [inquiry.repeated for inquiry in outcomes].count(False) == 1
    assert Inquiry.objects.count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["hanako@example.jp", "office@kaika.example.jp"]


@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "signed-out"])
def test_negative_control_without_the_constraint_the_same_form_makes_several(signed_in, mailoutbox):
    member = make_user(email="hanako@example.jp") if signed_in else None
    with constraints_dropped():
        outcomes = same_form_race(member)
        made = Inquiry.objects.count()
    assert made > 1, "the race made one inquiry without the constraint: it cannot see a race"
    assert len({inquiry.pk for inquiry in outcomes}) == made
