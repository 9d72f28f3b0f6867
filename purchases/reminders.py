"""Emails 14 and 3 days before a supporter's tickets at a shop reach the end of their round's
usage period (`manage.py remind_expiry`, daily from cron; the task worker sends them).

Once each: an ExpiryReminder row per wallet, round and threshold is written in the same
transaction that queues the email, and its unique constraint turns a second run, or two at
once, into no email. A missed day catches up: a threshold is due while its days remain."""

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from kaika.mail import send_email_on_commit
from purchases.models import ExpiryReminder, Ticket, TicketStatus, Wallet

# Days before the last usable day, largest first.
THRESHOLDS = (14, 3)


def threshold_for(days_left: int) -> int | None:
    """The reminder due with `days_left` days after today (0: today is the last day): the
    smallest threshold that still covers it, so that a late run sends the 3-day one alone."""
    due = [t for t in THRESHOLDS if 0 <= days_left <= t]
    return min(due) if due else None


def expiry_reminders_send(*, now: datetime.datetime) -> int:
    """Queue the reminders due on `now`'s local day; the number queued by this run."""
    today = timezone.localdate(now)
    left = (
        Ticket.objects.filter(
            status=TicketStatus.VALID,
            balance__gt=0,
            round__usage_starts_on__lte=today,
            round__usage_ends_on__gte=today,
            round__usage_ends_on__lte=today + datetime.timedelta(days=max(THRESHOLDS)),
            supporter__is_active=True,
        )
        .exclude(supporter__email="")
        .values("supporter_id", "shop_id", "round_id", "round__usage_ends_on")
        .annotate(left=Sum("balance"))
        .order_by("supporter_id", "shop_id", "round_id")
    )
    rows = list(left)
    # One query for every wallet concerned, not one per reminder.
    wallets = {
        (w.supporter_id, w.shop_id): w
        for w in Wallet.objects.select_related("supporter", "shop__project").filter(
            supporter_id__in={row["supporter_id"] for row in rows},
            shop_id__in={row["shop_id"] for row in rows},
        )
    }
    sent = 0
    for row in rows:
        ends_on = row["round__usage_ends_on"]
        days_before = threshold_for((ends_on - today).days)
        wallet = wallets.get((row["supporter_id"], row["shop_id"]))
        if wallet is None:  # tickets always open one (services.wallet_open)
            continue
        with transaction.atomic():
            # The unique constraint decides: a concurrent run waits on the index, then finds
            # the row this one wrote and sends nothing.
            _reminder, created = ExpiryReminder.objects.get_or_create(
                wallet=wallet,
                round_id=row["round_id"],
                days_before=days_before,
                defaults={"balance": row["left"], "ends_on": ends_on, "sent_at": now},
            )
            if created:
                _send(wallet, balance=row["left"], ends_on=ends_on, today=today)
                sent += 1
    return sent


def _send(wallet: Wallet, *, balance: int, ends_on: datetime.date, today: datetime.date) -> None:
    # The supporter reads Japanese, whatever language the command runs in.
    with translation.override("ja"):
        context = {
            "supporter": wallet.supporter,
            "shop": wallet.shop,
            "balance": balance,
            "ends_on": ends_on,
            "days_left": (ends_on - today).days,
            "tickets_url": settings.KAIKA_SITE_URL + reverse("purchases:ticket_list"),
        }
        subject = render_to_string("purchases/email/expiry_subject.txt", context).strip()
        body = render_to_string("purchases/email/expiry_body.txt", context)
    send_email_on_commit(EmailMessage(subject=subject, body=body, to=[wallet.supporter.email]))
