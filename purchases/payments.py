"""Payment gateways. The card is typed on the provider's own page, never in our forms, so no
card number or security code ever reaches our database, logs or emails: the provider tells
us only the order code, the amount, its payment reference and whether it succeeded.

`KAIKA_PAYMENT_GATEWAY` names the class. The default is the built-in sandbox
(purchases.sandbox), a hosted card page with documented test cards whose signed result comes
back with the browser. `StripeGateway` sends the supporter to Stripe Checkout and learns the
result from Stripe's webhooks only (docs/deploy.md says how to connect an account). Both
refund through the same calls, and a refund always goes back through the gateway that took
the payment (`gateway_for`).
"""

import dataclasses
import datetime
import functools
import json
import logging
import secrets
from collections.abc import Iterator

import stripe
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import time_format
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from purchases.models import (
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
    Refund,
    RefundStatus,
)
from purchases.services import (
    PaymentNotice,
    PaymentResult,
    PurchaseError,
    RefundAnswer,
    payment_attempt_closed,
    payment_attempt_failed,
    payment_attempt_opened,
    payment_attempt_start,
    refund_answered,
)

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY = "purchases.payments.SandboxGateway"


class InvalidPaymentResult(Exception):
    """A result whose signature does not check out (forged, tampered or too old)."""


@dataclasses.dataclass(frozen=True)
class Checkout:
    """A checkout the provider made: its id, its hosted page, and when it ends by itself."""

    checkout_id: str
    url: str
    expires_at: datetime.datetime


@dataclasses.dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider lists it, for reconciliation."""

    reference: str
    order_code: str
    amount: int
    checkout_id: str


class PaymentGateway:
    """What the purchase flow needs from a provider."""

    name = ""

    def checkout_url(self, *, order: Order, site_url: str, now: datetime.datetime) -> str:
        """Where to send the supporter's browser to pay for `order`: its open checkout if it
        has one (Back, a reload, a second tab or an old link land on the page that takes one
        payment), else a new one. `site_url` is the site's address as the supporter reached
        it, for the provider's links back. Raises PurchaseError saying why the order cannot
        be paid now (paid, being confirmed, expired), or that the provider cannot be
        reached (the order is still held)."""
        attempt = payment_attempt_start(order=order, provider=self.name, now=now)
        try:
            if attempt.status == PaymentAttemptStatus.OPEN:
                state = self.checkout_state(attempt=attempt, now=now)
                if state == PaymentAttemptStatus.OPEN:
                    return attempt.url
                payment_attempt_closed(
                    provider=self.name, checkout_id=attempt.checkout_id, status=state, now=now
                )
                # Paid there, or ended: payment_attempt_start says which (or opens a new one).
                return self.checkout_url(order=order, site_url=site_url, now=now)
            checkout = self.checkout_create(
                order=order, attempt=attempt, site_url=site_url, now=now
            )
        except PurchaseError as error:
            if error.code not in ("payment_busy", "payment_unavailable"):
                raise
            if attempt.status != PaymentAttemptStatus.OPEN:
                detail = error.params.get("detail") or error.code
                payment_attempt_failed(attempt=attempt, error=detail, now=now)
            deadline = time_format(timezone.localtime(order.expires_at), "G:i")
            raise PurchaseError(error.code, deadline=deadline) from error
        payment_attempt_opened(
            attempt=attempt,
            checkout_id=checkout.checkout_id,
            url=checkout.url,
            expires_at=checkout.expires_at,
        )
        return checkout.url

    def checkout_create(
        self, *, order: Order, attempt: PaymentAttempt, site_url: str, now: datetime.datetime
    ) -> Checkout:
        """A new checkout at the provider for `attempt`, or PurchaseError("payment_busy" or
        "payment_unavailable") when it cannot be made."""
        raise NotImplementedError

    def checkout_state(self, *, attempt: PaymentAttempt, now: datetime.datetime) -> str:
        """The provider's state of an open attempt's checkout: a PaymentAttemptStatus, or
        PurchaseError("payment_unavailable") when it cannot be asked."""
        raise NotImplementedError

    def parse_result(self, request) -> PaymentResult:
        """The verified result carried by the browser back to our return URL, for a provider
        that sends one that way. Raises InvalidPaymentResult when it is not genuine."""
        raise InvalidPaymentResult("this provider's results come by webhook")

    def webhook_notice(self, *, payload: bytes, signature: str) -> PaymentNotice:
        """One verified event posted by the provider, read into kaika's terms. Raises
        InvalidPaymentResult when its signature does not check out."""
        raise InvalidPaymentResult("this provider sends no webhooks")

    def checkouts_close(self, *, now: datetime.datetime, order: Order | None = None) -> int:
        """End the provider's open checkouts of orders that can no longer take a payment (of
        `order` only, if given). Returns how many ended."""
        return 0

    def refund_create(self, *, refund: Refund) -> RefundAnswer:
        """Ask the provider to give `refund.amount` of its payment back, with the refund's
        idempotency key (asking twice is one refund)."""
        raise NotImplementedError

    def missed_notices(self, *, since: datetime.datetime) -> Iterator[PaymentNotice]:
        """The provider's notices since `since`, as it keeps them: given to
        payment_notice_record, those already applied are skipped by their id."""
        return iter(())

    def payments_since(self, *, since: datetime.datetime) -> Iterator[ProviderPayment]:
        """Every successful payment of ours the provider took since `since`."""
        return iter(())


GATEWAYS = {
    "sandbox": "purchases.payments.SandboxGateway",
    "stripe": "purchases.payments.StripeGateway",
}


def get_gateway() -> PaymentGateway:
    return import_string(getattr(settings, "KAIKA_PAYMENT_GATEWAY", DEFAULT_GATEWAY))()


def gateway_for(provider: str) -> PaymentGateway:
    """The gateway that took a payment: a refund goes back through it, whichever one takes
    new payments now."""
    return import_string(GATEWAYS[provider])()


# Owed refunds are left this long to the task that sends them after commit.
REFUND_TASK_GRACE = datetime.timedelta(minutes=1)


def refunds_send_owed(*, now: datetime.datetime, limit: int = 200) -> list[Refund]:
    """Send the refunds still owed a minute after they were (their provider could not be
    reached, or the task did not run): `expire_orders` calls this every minute."""
    owed = Refund.objects.to_send().filter(created_at__lte=now - REFUND_TASK_GRACE)
    return [refund_send(refund_id=pk, now=now) for pk in owed.values_list("pk", flat=True)[:limit]]


def refund_send(*, refund_id: int, now: datetime.datetime) -> Refund:
    """Ask the provider for an owed refund and record its answer (purchases.tasks runs this
    after the commit that owed it; `expire_orders` sends those still owed)."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.OWED:
        return refund
    answer = gateway_for(refund.provider).refund_create(refund=refund)
    return refund_answered(refund=refund, answer=answer, now=now)


def sandbox_secret() -> str:
    # A real provider has its own shared secret; the sandbox lives in our process, so its
    # secret is derived from ours unless set (the salts below keep the uses apart).
    return getattr(settings, "KAIKA_SANDBOX_PAY_SECRET", "") or settings.SECRET_KEY


SESSION_SALT = "kaika.sandbox-pay.session"
RESULT_SALT = "kaika.sandbox-pay.result"


# A sandbox payment whose refund fails (its card, 4000 0000 0000 5126, as at Stripe).
SANDBOX_REFUND_FAILS = "sbx_rf_"


class SandboxGateway(PaymentGateway):
    """kaika's own test provider. Its checkouts' state is the attempt itself (the sandbox's
    card page reads and completes it, as a provider keeps its sessions), and it holds no
    money: a refund of one of its payments succeeds, or fails for the refund-failing card."""

    name = "sandbox"

    def checkout_create(
        self, *, order: Order, attempt: PaymentAttempt, site_url: str, now: datetime.datetime
    ) -> Checkout:
        checkout_id = "sbx_cs_" + secrets.token_hex(12)
        token = signing.dumps(
            {
                "c": checkout_id,
                "o": order.code,
                "a": order.amount,
                "r": site_url + reverse("purchases:payment_return"),
                "b": site_url + order.get_absolute_url(),
            },
            key=sandbox_secret(),
            salt=SESSION_SALT,
            compress=True,
        )
        url = reverse("sandbox_pay:checkout", kwargs={"token": token})
        return Checkout(checkout_id=checkout_id, url=url, expires_at=order.expires_at)

    def checkout_state(self, *, attempt: PaymentAttempt, now: datetime.datetime) -> str:
        attempt.refresh_from_db(fields=["status"])
        if attempt.is_open_at(now):
            return PaymentAttemptStatus.OPEN
        if attempt.status == PaymentAttemptStatus.OPEN:
            return PaymentAttemptStatus.EXPIRED
        return attempt.status

    def parse_result(self, request) -> PaymentResult:
        raw = request.GET.get("result", "")
        try:
            # HMAC-SHA256 over the whole payload: changing any field breaks it. No max_age on
            # purpose: a late result must still be recorded (and refunded), not dropped.
            data = signing.loads(raw, key=sandbox_secret(), salt=RESULT_SALT)
            return PaymentResult(
                provider=self.name,
                order_code=str(data["o"]),
                reference=str(data["ref"]),
                amount=int(data["a"]),
                succeeded=bool(data["ok"]),
                at=datetime.datetime.fromisoformat(data["at"]),
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise InvalidPaymentResult from exc

    def checkouts_close(self, *, now: datetime.datetime, order: Order | None = None) -> int:
        # Its pages end by themselves (they read the attempt): only the record is closed.
        attempts = PaymentAttempt.objects.filter(
            provider=self.name, status=PaymentAttemptStatus.OPEN
        ).exclude(order__status=OrderStatus.PENDING, order__expires_at__gt=now)
        if order is not None:
            attempts = attempts.filter(order=order)
        return attempts.update(status=PaymentAttemptStatus.EXPIRED, closed_at=now)

    def refund_create(self, *, refund: Refund) -> RefundAnswer:
        if refund.payment_reference.startswith(SANDBOX_REFUND_FAILS):
            return RefundAnswer(status=RefundStatus.FAILED, error="expired_or_canceled_card")
        # The same key gives the same refund id, as a provider answers a repeated request.
        refund_id = "sbx_re_" + refund.idempotency_key.replace("-", "")[:24]
        return RefundAnswer(status=RefundStatus.DONE, refund_id=refund_id)

    def missed_notices(self, *, since: datetime.datetime) -> Iterator[PaymentNotice]:
        """Payments completed on the sandbox's page whose result never came back (the tab
        closed on the redirect): each as the notice it would have been."""
        attempts = PaymentAttempt.objects.filter(
            provider=self.name, status=PaymentAttemptStatus.COMPLETE, closed_at__gte=since
        ).exclude(payment_reference="")
        for attempt in attempts.select_related("order").iterator():
            order = attempt.order
            yield PaymentNotice(
                provider=self.name,
                event_id=f"sandbox:{attempt.checkout_id}",
                type="sandbox.checkout.completed",
                created_at=attempt.closed_at,
                object_id=attempt.checkout_id,
                order_code=order.code,
                amount=order.amount,
                result=PaymentResult(
                    provider=self.name,
                    order_code=order.code,
                    reference=attempt.payment_reference,
                    amount=order.amount,
                    succeeded=True,
                    at=attempt.closed_at,
                ),
            )

    def payments_since(self, *, since: datetime.datetime) -> Iterator[ProviderPayment]:
        attempts = PaymentAttempt.objects.filter(
            provider=self.name, status=PaymentAttemptStatus.COMPLETE, closed_at__gte=since
        ).exclude(payment_reference="")
        for attempt in attempts.select_related("order").iterator():
            yield ProviderPayment(
                reference=attempt.payment_reference,
                order_code=attempt.order.code,
                amount=attempt.order.amount,
                checkout_id=attempt.checkout_id,
            )


def sign_sandbox_result(payload: dict) -> str:
    return signing.dumps(payload, key=sandbox_secret(), salt=RESULT_SALT, compress=True)


def load_sandbox_session(token: str) -> dict:
    return signing.loads(token, key=sandbox_secret(), salt=SESSION_SALT)


# --- Stripe ---------------------------------------------------------------------------------

# Stripe ends a Checkout Session 30 minutes to 24 hours after creating it; a reservation
# ends sooner (15 minutes by default). The session is asked to live the least Stripe allows
# (a minute more, for the two clocks), and kaika expires it through the API once the
# reservation has ended (checkouts_close, run by `manage.py expire_orders`).
STRIPE_SESSION_MINIMUM = datetime.timedelta(minutes=31)
STRIPE_SESSION_MAXIMUM = datetime.timedelta(hours=23)
STRIPE_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "refund.updated",
    "refund.failed",
}
# A Stripe refund's status in kaika's terms ("pending" and "requires_action" are on the way).
_REFUND_STATUSES = {
    "succeeded": RefundStatus.DONE,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
_STRIPE_REASONS = {"duplicate": "duplicate", "late": "duplicate"}
# How many sessions one run of checkouts_close expires at most (each is one API call).
STRIPE_CLOSE_BATCH = 200


@functools.lru_cache(maxsize=8)
def stripe_client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    """One client per configuration, shared by the threads (its HTTP sessions are
    per thread): a new TLS connection per payment would cost each supporter a round trip."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        http_client=stripe.RequestsClient(timeout=timeout),
        # Timeouts, connection errors, 409s and 5xx are retried with the same idempotency
        # key: Stripe answers a retry with the first request's result, never a second session.
        max_network_retries=retries,
    )


class StripeGateway(PaymentGateway):
    name = "stripe"

    @property
    def client(self) -> stripe.StripeClient:
        return stripe_client(
            settings.STRIPE_SECRET_KEY,
            settings.STRIPE_API_BASE,
            settings.STRIPE_API_TIMEOUT,
            settings.STRIPE_MAX_NETWORK_RETRIES,
        )

    def checkout_create(
        self, *, order: Order, attempt: PaymentAttempt, site_url: str, now: datetime.datetime
    ) -> Checkout:
        """A new Checkout Session for this attempt, in yen (a zero-decimal currency: the
        amounts are the yen figures as they are), card only (Apple Pay and Google Pay come
        with it); konbini is not offered (docs/deploy.md says why)."""
        expires_at = min(
            max(order.expires_at, now + STRIPE_SESSION_MINIMUM), now + STRIPE_SESSION_MAXIMUM
        )
        deadline = time_format(timezone.localtime(order.expires_at), "G:i")
        status_url = reverse("purchases:order_payment_status", kwargs={"order_code": order.code})
        language = translation.get_language() or settings.LANGUAGE_CODE
        # The order's code and this site's name on the payment: reconciliation and refunds
        # find the order, and another site sharing the account leaves them alone.
        metadata = {"order_code": order.code, "kaika_site": settings.KAIKA_PAYMENT_SITE}
        params = {
            "mode": "payment",
            "client_reference_id": order.code,
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": order.unit_price,
                        "product_data": {
                            "name": f"{order.shop.name} {order.listing.display_title}"[:250]
                        },
                    },
                    "quantity": order.units,
                }
            ],
            "allowed_payment_method_types": ["card"],
            "success_url": f"{site_url}{status_url}",
            "cancel_url": f"{site_url}{order.get_absolute_url()}",
            "expires_at": int(expires_at.timestamp()),
            "locale": "ja" if language.startswith("ja") else "en",
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "custom_text": {
                "submit": {
                    "message": gettext(
                        "お支払い期限は%(deadline)sです。期限を過ぎたお支払いは返金となります。"
                    )
                    % {"deadline": deadline}
                }
            },
        }
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": attempt.idempotency_key}
            )
        except stripe.StripeError as error:
            raise _unavailable(error, f"order {order.code}") from error
        return Checkout(
            checkout_id=session.id,
            url=session.url,
            expires_at=datetime.datetime.fromtimestamp(session.expires_at, datetime.UTC),
        )

    def checkout_state(self, *, attempt: PaymentAttempt, now: datetime.datetime) -> str:
        try:
            session = self.client.v1.checkout.sessions.retrieve(attempt.checkout_id)
        except stripe.StripeError as error:
            raise _unavailable(error, f"session {attempt.checkout_id}") from error
        return {"open": PaymentAttemptStatus.OPEN, "complete": PaymentAttemptStatus.COMPLETE}.get(
            session.status, PaymentAttemptStatus.EXPIRED
        )

    def refund_create(self, *, refund: Refund) -> RefundAnswer:
        params = {
            "payment_intent": refund.payment_reference,
            "amount": refund.amount,
            "reason": _STRIPE_REASONS.get(refund.reason, "requested_by_customer"),
            "metadata": {
                "order_code": refund.order.code if refund.order else "",
                "kaika_site": settings.KAIKA_PAYMENT_SITE,
                "kaika_refund": str(refund.pk),
            },
        }
        try:
            answer = self.client.v1.refunds.create(
                params=params, options={"idempotency_key": refund.idempotency_key}
            )
        except _TRANSIENT as error:
            # Not asked, or no answer: still owed, sent again with the same key (one refund).
            code = _stripe_error_code(error)
            logger.warning("Stripe refund of %s not sent: %s", refund.payment_reference, code)
            return RefundAnswer(status=RefundStatus.OWED, error=code)
        except stripe.StripeError as error:
            return RefundAnswer(status=RefundStatus.FAILED, error=_stripe_error_code(error))
        return RefundAnswer(
            status=_REFUND_STATUSES.get(answer.status or "", RefundStatus.IN_PROGRESS),
            refund_id=answer.id,
            error=str(answer.to_dict().get("failure_reason") or ""),
        )

    def missed_notices(self, *, since: datetime.datetime) -> Iterator[PaymentNotice]:
        """Stripe keeps 30 days of events: those of the handled types, oldest first."""
        events = self.client.v1.events.list(
            params={
                "types": sorted(STRIPE_EVENTS),
                "created": {"gte": int(since.timestamp())},
                "limit": 100,
            }
        )
        for event in reversed(list(events.auto_paging_iter())):
            payload = event.to_dict()
            obj = payload["data"]["object"]
            yield _stripe_notice(
                payload["type"],
                obj,
                {
                    "provider": self.name,
                    "event_id": str(payload["id"]),
                    "type": str(payload["type"]),
                    "created_at": datetime.datetime.fromtimestamp(payload["created"], datetime.UTC),
                    "object_id": str(obj.get("id") or ""),
                },
            )

    def payments_since(self, *, since: datetime.datetime) -> Iterator[ProviderPayment]:
        sessions = self.client.v1.checkout.sessions.list(
            params={"created": {"gte": int(since.timestamp())}, "status": "complete", "limit": 100}
        )
        for session in sessions.auto_paging_iter():
            obj = session.to_dict()
            if obj.get("payment_status") != "paid" or not _ours(obj):
                continue
            yield ProviderPayment(
                reference=str(obj.get("payment_intent") or ""),
                order_code=str(obj.get("client_reference_id") or ""),
                amount=int(obj.get("amount_total") or 0),
                checkout_id=str(obj["id"]),
            )

    def webhook_notice(self, *, payload: bytes, signature: str) -> PaymentNotice:
        try:
            # Stripe's own check: HMAC-SHA256 of the timestamp and the body with the
            # endpoint's secret, and the timestamp within the library's tolerance (5 min),
            # so that a recorded delivery cannot be replayed later.
            stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
            event = json.loads(payload)
            obj = event["data"]["object"]
            base = {
                "provider": self.name,
                "event_id": str(event["id"]),
                "type": str(event["type"]),
                "created_at": datetime.datetime.fromtimestamp(event["created"], datetime.UTC),
                "object_id": str(obj.get("id") or ""),
            }
        except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
            raise InvalidPaymentResult from exc
        return _stripe_notice(event["type"], obj, base)

    def checkouts_close(self, *, now: datetime.datetime, order: Order | None = None) -> int:
        """Expire, through the API, the open sessions of orders whose reservation has ended,
        or that were cancelled, failed or paid (by another session). A session that completed
        meanwhile is left to its webhook: payment_record keeps that payment for a refund."""
        attempts = PaymentAttempt.objects.filter(
            provider=self.name, status=PaymentAttemptStatus.OPEN
        ).exclude(order__status=OrderStatus.PENDING, order__expires_at__gt=now)
        if order is not None:
            attempts = attempts.filter(order=order)
        closed = 0
        for attempt in attempts.order_by("created_at")[:STRIPE_CLOSE_BATCH]:
            status = self._session_expire(attempt.checkout_id)
            if status in (PaymentAttemptStatus.COMPLETE, PaymentAttemptStatus.EXPIRED):
                payment_attempt_closed(
                    provider=self.name, checkout_id=attempt.checkout_id, status=status, now=now
                )
                closed += 1
        return closed

    def _session_expire(self, checkout_id: str) -> str:
        """The session's status after asking Stripe to expire it ("" when Stripe could not be
        asked: the next run tries again)."""
        sessions = self.client.v1.checkout.sessions
        try:
            return sessions.expire(checkout_id).status or ""
        except stripe.InvalidRequestError:
            # Only an open session can be expired: this one completed or expired meanwhile.
            try:
                return sessions.retrieve(checkout_id).status or ""
            except stripe.StripeError as error:
                logger.warning("Stripe session %s: %s", checkout_id, _stripe_error_code(error))
        except stripe.StripeError as error:
            logger.warning("Stripe session %s: %s", checkout_id, _stripe_error_code(error))
        return ""


_TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def _unavailable(error: stripe.StripeError, about: str) -> PurchaseError:
    """Stripe could not be asked, or refused: the supporter is told to try again shortly."""
    code = _stripe_error_code(error)
    # A timeout or Stripe's own trouble is a warning; anything else is our mistake (a key, a
    # parameter) and must be looked at.
    transient = isinstance(error, _TRANSIENT)
    (logger.warning if transient else logger.error)("Stripe, %s: %s", about, code)
    return PurchaseError(
        "payment_busy" if isinstance(error, stripe.RateLimitError) else "payment_unavailable",
        detail=code,
    )


def _stripe_error_code(error: stripe.StripeError) -> str:
    """What to record of an error: its kind and code, never its message."""
    if isinstance(error, stripe.APIConnectionError):
        return "connection"
    if isinstance(error, stripe.RateLimitError):
        return "rate_limit"
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error") or {}
    return str(details.get("code") or details.get("type") or type(error).__name__)[:100]


def _ours(obj: dict) -> bool:
    """Made by this site: a payment link or another site sharing the Stripe account is not."""
    metadata = obj.get("metadata") or {}
    return metadata.get("kaika_site") == settings.KAIKA_PAYMENT_SITE


def _stripe_notice(event_type: str, obj: dict, base: dict) -> PaymentNotice:
    """A verified Stripe event in kaika's terms (payment_record applies its result)."""
    if event_type not in STRIPE_EVENTS:
        return PaymentNotice(**base, ignored="unhandled_type")
    if event_type == "charge.refunded":
        # The payment's refunds so far (kaika's, or one made in Stripe's dashboard).
        return PaymentNotice(
            **base,
            refunded_reference=str(obj.get("payment_intent") or obj.get("id") or ""),
            amount=obj.get("amount_refunded"),
            refund_status=RefundStatus.DONE,
        )
    if event_type in ("refund.updated", "refund.failed"):
        status = _REFUND_STATUSES.get(str(obj.get("status")), RefundStatus.IN_PROGRESS)
        return PaymentNotice(
            **base,
            refunded_reference=str(obj.get("payment_intent") or obj.get("charge") or ""),
            amount=obj.get("amount"),
            refund_id=str(obj.get("id") or ""),
            refund_status=status,
            refund_error=str(obj.get("failure_reason") or ""),
        )
    code = str(obj.get("client_reference_id") or "")
    # Sessions kaika made carry the order's code twice and this site's name; any other (a
    # payment link, another site on the same account) is none of ours.
    if not code or (obj.get("metadata") or {}).get("order_code") != code or not _ours(obj):
        return PaymentNotice(**base, ignored="not_ours")
    ended = "expired" if event_type == "checkout.session.expired" else "complete"
    notice = {
        **base,
        "order_code": code,
        "checkout_status": ended,
        "amount": obj.get("amount_total"),
    }
    if obj.get("currency") != "jpy" or obj.get("mode") != "payment":
        return PaymentNotice(**notice, ignored="not_yen_payment")
    if event_type == "checkout.session.expired":
        return PaymentNotice(**notice)
    if event_type == "checkout.session.async_payment_failed":
        succeeded = False
    elif obj.get("payment_status") == "paid":
        succeeded = True
    else:
        # Completed, with a delayed payment method's money still to come (its own event).
        return PaymentNotice(**notice)
    result = PaymentResult(
        provider=base["provider"],
        order_code=code,
        reference=str(obj.get("payment_intent") or obj.get("id")),
        amount=int(obj.get("amount_total") or 0),
        succeeded=succeeded,
        # When Stripe recorded it, not when its notice reached us (redeliveries are late).
        at=base["created_at"],
    )
    return PaymentNotice(**notice, result=result)
