import base64
import datetime
import logging
import secrets

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from inquiries.models import Inquiry, InquiryNote, InquiryReply, Status
from kaika import ratelimit
from kaika.debug import pause_after_checks
from kaika.errors import DomainError
from kaika.mail import send_email_on_commit, staff_recipients

logger = logging.getLogger("kaika.inquiries")


class InquiryError(DomainError):
    MESSAGES = {
        "rate_limited_ip": _(
            "短時間に多くのお問い合わせが送信されたため、受け付けを一時的に停止しています。"
            "しばらく時間をおいてから、もう一度お送りください。"
        ),
        "rate_limited_email": _(
            "このメールアドレスから短時間に多くのお問い合わせが送信されました。"
            "しばらく時間をおいてから、もう一度お送りください。"
        ),
        "reference_exhausted": _(
            "受付番号を発行できませんでした。お手数ですが、もう一度お送りください。"
        ),
    }


def new_reference() -> str:
    # 40 random bits as 8 base32 characters: not sequential, so it tells nobody how many
    # inquiries exist or what the neighbouring ones are.
    return "Q-" + base64.b32encode(secrets.token_bytes(5)).decode("ascii")


def _render_email(template: str, context: dict, to: list[str]) -> EmailMessage:
    subject = render_to_string(f"inquiries/email/{template}_subject.txt", context)
    body = render_to_string(f"inquiries/email/{template}_body.txt", context)
    return EmailMessage(subject=" ".join(subject.split()), body=body, to=to)


def _sent_with_key(*, member, email: str, key: str) -> Inquiry | None:
    """The inquiry this form already made: the member's, or (signed out) the typed address's."""
    sender = {"user": member} if member is not None else {"user": None, "email": email}
    inquiry = Inquiry.objects.filter(idempotency_key=key, **sender).first()
    if inquiry is not None:
        inquiry.repeated = True
    return inquiry


def inquiry_create(
    *,
    name: str,
    email: str,
    category: str,
    subject: str,
    body: str,
    order=None,
    user=None,
    client_ip: str,
    idempotency_key: str,
    language: str = "ja",
    now: datetime.datetime,
) -> Inquiry:
    """Record an inquiry, confirm it to the sender and tell the office, once committed.

    The same `idempotency_key` from the same sender returns the inquiry it made the first time
    (its `repeated` attribute then True): nothing is saved, sent or counted again.
    Raises InquiryError when the sender's IP address or email address is over its limit.
    """
    if not 16 <= len(idempotency_key) <= 64:
        raise ValueError("an inquiry needs its form's idempotency key")
    member = user if user is not None and user.is_authenticated else None
    if order is not None and (member is None or order.supporter_id != member.pk):
        # The form offers only the sender's own orders; this is the last line of defence.
        raise ValueError("an inquiry can only refer to the sender's own order")
    if done := _sent_with_key(member=member, email=email, key=idempotency_key):
        return done
    ip_limit, ip_period = settings.KAIKA_INQUIRY_RATE_LIMITS["ip"]
    # The contact form is how people tell the office something is wrong (in 2021 that is how
    # the leak was found): with the cache down it stays open (hit's default).
    if not ratelimit.hit("inquiries:ip", client_ip, limit=ip_limit, period=ip_period):
        raise InquiryError("rate_limited_ip")
    email_limit, email_period = settings.KAIKA_INQUIRY_RATE_LIMITS["email"]
    if not ratelimit.hit("inquiries:email", email, limit=email_limit, period=email_period):
        raise InquiryError("rate_limited_email")

    with transaction.atomic():
        inquiry = None
        pause_after_checks()
        for _attempt in range(5):
            try:
                # A savepoint per attempt: a reference collision (1 in 2^40) or a second
                # sending of the form must not poison the surrounding transaction.
                with transaction.atomic():
                    inquiry = Inquiry.objects.create(
                        reference=new_reference(),
                        user=member,
                        name=name,
                        email=email,
                        category=category,
                        subject=subject,
                        body=body,
                        order=order,
                        language=language,
                        idempotency_key=idempotency_key,
                        created_at=now,
                    )
                break
            except IntegrityError:
                # The same form sent at the same moment: the INSERT waited for the first
                # sending's commit and hit the unique constraint. Its inquiry is the answer.
                if done := _sent_with_key(member=member, email=email, key=idempotency_key):
                    return done
                logger.warning("inquiry reference collision; drawing another")
        if inquiry is None:
            raise InquiryError("reference_exhausted")

        # The sender's address is whatever was typed, so the confirmation echoes none of the
        # typed text (name, subject, body): the form cannot be used to send arbitrary content
        # to a stranger under our name.
        with translation.override(language):
            send_email_on_commit(
                _render_email("confirmation", {"inquiry": inquiry}, to=[inquiry.email])
            )
        recipients = staff_recipients()
        if recipients:
            with translation.override("ja"):
                send_email_on_commit(
                    _render_email("staff_notification", {"inquiry": inquiry}, to=recipients)
                )
        else:
            logger.warning("inquiry %s: no staff address to notify", inquiry.reference)
    inquiry.repeated = False
    return inquiry


def inquiry_reply(*, inquiry: Inquiry, author, body: str, now: datetime.datetime) -> InquiryReply:
    """Email a reply to the sender and keep it in the inquiry's history."""
    with transaction.atomic():
        # Locked so two staff members answering at once both get recorded in order, and the
        # status written last is the one for the latest reply.
        locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
        reply = InquiryReply.objects.create(
            inquiry=locked, author=author, body=body, sent_to=locked.email, created_at=now
        )
        if locked.status in (Status.NEW, Status.IN_PROGRESS):
            locked.status = Status.ANSWERED
            locked.save(update_fields=["status"])
        inquiry.status = locked.status
        with translation.override(locked.language):
            send_email_on_commit(
                _render_email("reply", {"inquiry": locked, "reply": reply}, to=[locked.email])
            )
    return reply


def inquiry_note_add(*, inquiry: Inquiry, author, body: str, now: datetime.datetime) -> InquiryNote:
    return InquiryNote.objects.create(inquiry=inquiry, author=author, body=body, created_at=now)
