"""Recording what personal data each response showed, one row per response.

Call `exposure_record(request, subject=..., action=...)` from any view that shows a person's
data (or from the hook that completes such a flow). Other apps add their action to
`ops.models.ExposureAction` and call this; they need nothing else.
"""

import datetime
import uuid

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ops.models import ExposureAction, ExposureLog

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"


def _keyed_hash(salt: str, value: str) -> str:
    # HMAC with the site's secret: the log alone (a backup, an export) reveals neither email
    # addresses nor session keys, yet the same input always gives the same hash.
    return salted_hmac(f"kaika.ops.{salt}", value, algorithm="sha256").hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    return _keyed_hash("email", normalise_email(email))


def session_hash(session_key: str | None) -> str:
    return _keyed_hash("session", session_key) if session_key else ""


def request_id(request) -> str:
    """nginx's $request_id when behind it (the same id is in its access log), else our own."""
    if not hasattr(request, "kaika_request_id"):
        given = request.META.get(REQUEST_ID_HEADER, "")[:64]
        request.kaika_request_id = given or uuid.uuid4().hex
    return request.kaika_request_id


def client_ip(request) -> str | None:
    try:
        # allauth's reading honours TRUSTED_PROXY_COUNT, as the rate limits do.
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return None


def exposure_record(
    request,
    *,
    action: ExposureAction,
    subject=None,
    email: str = "",
    now: datetime.datetime | None = None,
) -> ExposureLog:
    """Record that this response shows data about `subject` (a user) or about the owner of a
    typed `email` (failed login, contact form). A typed email that belongs to an account is
    resolved to it here, so the report needs no hashing over every account."""
    subject_id = getattr(subject, "pk", subject)
    if subject_id is None and email:
        subject_id = (
            get_user_model()
            .objects.filter(email__iexact=normalise_email(email))
            .values_list("pk", flat=True)
            .first()
        )
    if not email and subject is not None:
        email = getattr(subject, "email", "")
    session = getattr(request, "session", None)
    return ExposureLog.objects.create(
        at=now or timezone.now(),
        action=action,
        subject_id=subject_id,
        subject_email_hash=email_hash(email) if email else "",
        viewer_session_hash=session_hash(session.session_key if session is not None else None),
        request_id=request_id(request),
        client_ip=client_ip(request),
    )


def retention_cutoff(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(days=settings.KAIKA_EXPOSURE_LOG_RETENTION_DAYS)


def exposure_log_prune(*, now: datetime.datetime, batch_size: int = 10_000) -> int:
    """Delete rows older than the retention period, in batches (no long lock on the table)."""
    cutoff = retention_cutoff(now)
    deleted = 0
    while True:
        ids = list(
            ExposureLog.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += ExposureLog.objects.filter(pk__in=ids).delete()[0]
