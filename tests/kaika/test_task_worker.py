"""Emails leave through django.tasks and a real worker: queued in PostgreSQL by the request's
transaction, sent by `manage.py db_worker` (the production setup), never by the request."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from tests.conftest import login_staff, make_user
from tests.purchases.helpers import DURING, buy, make_offer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(TASKS=DATABASE_TASKS)
def test_an_email_is_queued_on_commit_and_sent_by_the_db_worker(client):
    from django_tasks_db.models import DBTaskResult

    user = make_user()
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert mail.outbox == []  # the request only queued it
    assert DBTaskResult.objects.count() == 1

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


@override_settings(TASKS=DATABASE_TASKS)
def test_a_rolled_back_transaction_queues_no_email():
    from django_tasks_db.models import DBTaskResult

    from kaika.mail import send_email_on_commit

    with pytest.raises(RuntimeError), transaction.atomic():
        send_email_on_commit(mail.EmailMessage("件名", "本文", to=["x@example.jp"]))
        raise RuntimeError("the order failed")
    assert DBTaskResult.objects.count() == 0


@override_settings(TASKS=DATABASE_TASKS)
def test_an_order_confirmation_reaches_the_supporter_through_the_worker():
    from purchases.services import PaymentResult, payment_record

    supporter = make_user()
    order = buy(make_offer(), supporter, units=1, now=DURING)
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx-worker", order.amount, True, DURING),
        now=DURING,
    )
    assert mail.outbox == []
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    assert any(supporter.email in m.to for m in mail.outbox)


@override_settings(TASKS=DATABASE_TASKS)
def test_staff_see_that_an_email_was_sent_never_its_text_and_sent_ones_are_pruned(client):
    """A queued email holds a password-reset link: admin shows the task's status, not its
    arguments; the daily prune deletes it once sent (docs/deploy.md)."""
    from django_tasks_db.models import DBTaskResult

    user = make_user()
    client.post(reverse("account_reset_password"), {"email": user.email})
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    lines = mail.outbox[0].body.splitlines()
    reset_link = next(line for line in lines if "/password/reset/" in line)
    task = DBTaskResult.objects.get()
    assert reset_link.strip() in str(task.args_kwargs)  # what is kept until the prune
    staff = make_user(email="staff-tasks@example.jp", is_staff=True, is_superuser=True)
    login_staff(client, staff)
    for url in (
        reverse("admin:django_tasks_database_dbtaskresult_changelist"),
        reverse("admin:django_tasks_database_dbtaskresult_change", args=[task.pk]),
    ):
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert "send_email" in text
        assert "/password/reset/" not in text and user.email not in text

    call_command("prune_db_task_results", min_age_days=0, verbosity=0)
    assert not DBTaskResult.objects.exists()
