"""Emails before a supporter's tickets expire: 14 and 3 days before the last day of the
round's usage period, once each (a record with a unique constraint), none for a zero balance,
a void ticket or an inactive account."""

import datetime
import io
import threading
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.db.models.query import QuerySet

from projects.models import Project, UnusedValue
from purchases.models import ExpiryReminder, Ticket, TicketStatus
from purchases.reminders import expiry_reminders_send, threshold_for
from purchases.services import PaymentResult, payment_record
from supporters.services import user_delete
from tests.concurrency import race
from tests.conftest import make_user
from tests.projects.factories import make_shop
from tests.purchases.helpers import DURING, JST, buy
from tests.purchases.test_wallet import paid, take

pytestmark = pytest.mark.django_db

LAST_DAY = datetime.date(2031, 12, 31)  # the offer's round's last usable day


def days_before(days: int) -> datetime.datetime:
    """Six in the morning (JST, when cron runs it), `days` before the last usable day."""
    return datetime.datetime.combine(LAST_DAY - datetime.timedelta(days), datetime.time(6), JST)


def send(days: int, capture) -> int:
    with capture(execute=True):
        return expiry_reminders_send(now=days_before(days))


@pytest.mark.parametrize(
    ("days_left", "due"),
    [(15, None), (14, 14), (13, 14), (4, 14), (3, 3), (1, 3), (0, 3), (-1, None)],
)
def test_the_threshold_due_is_the_smallest_that_still_covers_the_days_left(days_left, due):
    assert threshold_for(days_left) == due


def test_a_supporter_is_reminded_14_and_3_days_before_once_each(
    offer, user, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    paid(offer, user, units=2)  # 3,000円 of tickets
    take(offer, Ticket.objects.first().order.supporter.wallets.get().code, 400)
    assert send(15, capture) == 0
    assert send(14, capture) == 1
    assert send(14, capture) == 0  # the same day again
    assert send(13, capture) == 0  # the next day: still the 14-day one, already sent
    assert send(3, capture) == 1
    assert send(2, capture) == 0
    assert len(mail.outbox) == 2
    first = mail.outbox[0]
    assert first.to == [user.email]
    assert offer.shop.name in first.subject and "2031年12月31日" in first.subject
    body = first.body
    assert "2,600円" in body and "2031年12月31日まで(あと14日)" in body
    assert offer.shop.name in body and "/mypage/tickets/" in body
    assert "残った額は失効し、返金はできません" in body
    assert "あと3日" in mail.outbox[1].body
    assert sorted(ExpiryReminder.objects.values_list("days_before", "balance")) == [
        (3, 2600),
        (14, 2600),
    ]


def test_the_management_command_run_twice_sends_once(
    offer, user, django_capture_on_commit_callbacks
):
    paid(offer, user)
    for _run in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            expiry_reminders_send(now=days_before(10))
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("remind_expiry", stdout=io.StringIO())  # today: nothing due
    assert len(mail.outbox) == 1


def test_a_late_run_sends_the_3_day_reminder_alone(offer, user, django_capture_on_commit_callbacks):
    paid(offer, user)
    assert send(2, django_capture_on_commit_callbacks) == 1
    assert list(ExpiryReminder.objects.values_list("days_before", flat=True)) == [3]


def test_no_reminder_for_a_zero_balance_a_void_ticket_or_an_inactive_account(
    offer, user, django_capture_on_commit_callbacks
):
    paid(offer, user)
    take(offer, user.wallets.get().code, 1500)  # used up
    void = make_user()
    paid(offer, void)
    Ticket.objects.filter(supporter=void).update(status=TicketStatus.VOID)
    deleted = make_user()
    paid(offer, deleted)
    user_delete(user=deleted, now=days_before(20))
    inactive = make_user()
    paid(offer, inactive)
    type(inactive).objects.filter(pk=inactive.pk).update(is_active=False)
    assert send(14, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_the_email_says_unused_value_is_refunded_on_request_when_the_project_says_so(
    offer, user, django_capture_on_commit_callbacks
):
    Project.objects.filter(pk=offer.project.pk).update(unused_value=UnusedValue.REFUNDED_ON_REQUEST)
    paid(offer, user)
    send(14, django_capture_on_commit_callbacks)
    assert "お申し出により返金いたします" in mail.outbox[0].body


def reminders_race() -> list[int]:
    """Two runs at once, both held after finding no reminder and before writing one (the
    race window get_or_create leaves open): only the unique constraint can stop the second."""
    barrier = threading.Barrier(2, timeout=10)
    held = threading.local()
    real_get = QuerySet.get

    def get_then_wait(self, *args, **kwargs):
        try:
            return real_get(self, *args, **kwargs)
        except ExpiryReminder.DoesNotExist:
            if self.model is ExpiryReminder and not getattr(held, "done", False):
                held.done = True
                barrier.wait()
            raise

    with mock.patch.object(QuerySet, "get", get_then_wait):
        # Any error in a run fails the test (the harness asserts none).
        results = race(2, lambda i: expiry_reminders_send(now=days_before(14)))
    return sorted(results)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_email(offer, user):
    paid(offer, user)
    mail.outbox.clear()  # the order's confirmation, sent on commit here
    assert reminders_race() == [0, 1]
    assert ExpiryReminder.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_without_the_unique_constraint_the_same_race_sends_twice(offer, user):
    """The negative control: the race above is real, and the constraint is what wins it."""
    paid(offer, user)
    mail.outbox.clear()
    (constraint,) = ExpiryReminder._meta.constraints
    with connection.schema_editor() as editor:
        editor.remove_constraint(ExpiryReminder, constraint)
    try:
        assert reminders_race() == [1, 1]
        assert len(mail.outbox) == 2
    finally:
        ExpiryReminder.objects.all().delete()
        with connection.schema_editor() as editor:
            editor.add_constraint(ExpiryReminder, constraint)


def test_one_email_per_supporter_and_shop_each_naming_its_shop_and_balance(
    offer, user, django_capture_on_commit_callbacks
):
    other_shop = make_shop(offer.project, now=days_before(200), name="二軒目の店")
    paid(offer, user)
    paid(offer, user)
    order = buy(offer, user, listing=other_shop.listings.get(is_standard=True))
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING),
        now=DURING,
    )
    someone = make_user()
    paid(offer, someone)
    assert send(14, django_capture_on_commit_callbacks) == 3
    sent = sorted((m.to[0], m.subject, "3,000円" in m.body) for m in mail.outbox)
    assert sent == sorted(
        [
            (user.email, f"[kaika] {offer.shop.name}のチケットは2031年12月31日までです", True),
            (user.email, "[kaika] 二軒目の店のチケットは2031年12月31日までです", False),
            (someone.email, f"[kaika] {offer.shop.name}のチケットは2031年12月31日までです", False),
        ]
    )
