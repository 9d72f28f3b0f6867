"""Notices to the people a leak may have affected: each person gets each notice once.

The record is written before the email is queued, in the same transaction, and is unique per
(person, notice): running the command again, or twice at the same time, sends no duplicate.
"""

import datetime

from django.core.mail import EmailMessage
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import translation

from kaika.mail import send_email_on_commit
from ops.models import NoticeSent

TEMPLATE_DIR = "ops/notices"


class NoticeError(Exception):
    pass


def notice_templates(notice: str) -> tuple[str, str]:
    names = (f"{TEMPLATE_DIR}/{notice}/subject.txt", f"{TEMPLATE_DIR}/{notice}/body.txt")
    for name in names:
        try:
            get_template(name)
        except TemplateDoesNotExist as error:
            raise NoticeError(f"No notice template {name}") from error
    return names


def notice_send(*, user, notice: str, context: dict, now: datetime.datetime) -> bool:
    """Queue `notice` for `user` unless it was already sent; True if queued now."""
    subject_template, body_template = notice_templates(notice)
    with transaction.atomic():
        _, created = NoticeSent.objects.get_or_create(
            user=user, notice=notice, defaults={"email": user.email, "sent_at": now}
        )
        if not created:
            return False
        # Notices are written in Japanese, the language every supporter signed up in.
        with translation.override("ja"):
            subject = render_to_string(subject_template, context).strip()
            body = render_to_string(body_template, context)
        # Sent by the task worker once this row is committed; a rollback sends nothing.
        send_email_on_commit(EmailMessage(subject=subject, body=body, to=[user.email]))
    return True
