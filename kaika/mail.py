from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction

from kaika.tasks import send_email


def send_email_on_commit(message: EmailMessage) -> None:
    """Queue a rendered message for the worker, once the surrounding transaction commits.

    Never sent from inside a locked section, and never for a transaction that rolled back.
    """
    html_body = None
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html_body = str(content)
    transaction.on_commit(
        partial(
            send_email.enqueue,
            subject=str(message.subject),
            body=str(message.body),
            to=list(message.to),
            from_email=message.from_email,
            html_body=html_body,
            reply_to=list(message.reply_to) or None,
        )
    )


def staff_recipients() -> list[str]:
    """Who the office's notifications go to: KAIKA_STAFF_EMAILS, else every active staff user."""
    if settings.KAIKA_STAFF_EMAILS:
        return list(settings.KAIKA_STAFF_EMAILS)
    users = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return sorted(users.values_list("email", flat=True))
