"""Payment gateways. The card is typed on the provider's own page, never in our forms, so no
card number or security code ever reaches our database, logs or emails: the provider tells
us only the order code, the amount, its payment reference and whether it succeeded.

`KAIKA_PAYMENT_GATEWAY` names the class. The default is the built-in sandbox
(purchases.sandbox), a hosted card page with documented test cards whose signed result comes
back with the browser. `StripeGateway` sends the supporter to Stripe Checkout and learns the
result from Stripe's webhooks only (docs/deploy.md says how to connect an account).
"""

import datetime
import functools
import json
import logging

import stripe
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import time_format
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from purchases.models import Order, OrderStatus, PaymentAttempt, PaymentAttemptStatus
from purchases.services import (
    PaymentNotice,
    PaymentResult,
    PurchaseError,
    payment_attempt_closed,
    payment_attempt_failed,
    payment_attempt_opened,
    payment_attempt_start,
)

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY = "purchases.payments.SandboxGateway"


class InvalidPaymentResult(Exception):
    """A result whose signature does not check out (forged, tampered or too old)."""


class PaymentGateway:
    """What the purchase flow needs from a provider."""

    name = ""

    def checkout_url(self, *, order: Order, site_url: str, now: datetime.datetime) -> str:
        """Where to send the supporter's browser to pay for `order`: one payment attempt.
        `site_url` is the site's address as the supporter reached it (scheme and host), for
        the provider's links back. Raises PurchaseError when the provider cannot be reached."""
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


def sandbox_secret() -> str:
    # A real provider has its own shared secret; the sandbox lives in our process, so its
    # secret is derived from ours unless set (the salts below keep the uses apart).
    return getattr(settings, "KAIKA_SANDBOX_PAY_SECRET", "") or settings.SECRET_KEY


SESSION_SALT = "kaika.sandbox-pay.session"
RESULT_SALT = "kaika.sandbox-pay.result"


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def checkout_url(self, *, order: Order, site_url: str, now: datetime.datetime) -> str:
        return_url = site_url + reverse("purchases:payment_return")
        token = signing.dumps(
            {"o": order.code, "a": order.amount, "r": return_url},
            key=sandbox_secret(),
            salt=SESSION_SALT,
            compress=True,
        )
        return reverse("sandbox_pay:checkout", kwargs={"token": token})

    def parse_result(self, request) -> PaymentResult:
        raw = request.GET.get("result", "")
        try:
            # HMAC-SHA256 over the whole payload: changing any field breaks it. No max_age on
            # purpose: a late result must still be recorded (and refunded), not dropped.
            data = signing.loads(raw, key=sandbox_secret(), salt=RESULT_SALT)
            return PaymentResult(
                order_code=str(data["o"]),
                reference=str(data["ref"]),
                amount=int(data["a"]),
                succeeded=bool(data["ok"]),
                at=datetime.datetime.fromisoformat(data["at"]),
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise InvalidPaymentResult from exc


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
}
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

    def checkout_url(self, *, order: Order, site_url: str, now: datetime.datetime) -> str:
        """A new Checkout Session for this attempt, in yen (a zero-decimal currency: the
        amounts are the yen figures as they are), card only (Apple Pay and Google Pay come
        with it); konbini is not offered (docs/deploy.md says why)."""
        attempt = payment_attempt_start(order=order, provider=self.name, now=now)
        expires_at = min(
            max(order.expires_at, now + STRIPE_SESSION_MINIMUM), now + STRIPE_SESSION_MAXIMUM
        )
        deadline = time_format(timezone.localtime(order.expires_at), "G:i")
        status_url = reverse("purchases:order_payment_status", kwargs={"order_code": order.code})
        language = translation.get_language() or settings.LANGUAGE_CODE
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
            # The order's code on the payment too, for reconciliation and refunds.
            "metadata": {"order_code": order.code},
            "payment_intent_data": {"metadata": {"order_code": order.code}},
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
            code = _stripe_error_code(error)
            payment_attempt_failed(attempt=attempt, error=code, now=now)
            # A timeout or Stripe's own trouble is a warning; anything else is our mistake
            # (a key, a parameter) and must be looked at.
            transient = isinstance(
                error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError
            )
            log = logger.warning if transient else logger.error
            log("Stripe did not create a checkout for order %s: %s", order.code, code)
            busy = isinstance(error, stripe.RateLimitError)
            raise PurchaseError(
                "payment_busy" if busy else "payment_unavailable", deadline=deadline
            ) from error
        payment_attempt_opened(
            attempt=attempt,
            checkout_id=session.id,
            expires_at=datetime.datetime.fromtimestamp(session.expires_at, datetime.UTC),
        )
        return session.url

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


def _stripe_error_code(error: stripe.StripeError) -> str:
    """What to record of an error: its kind and code, never its message."""
    if isinstance(error, stripe.APIConnectionError):
        return "connection"
    if isinstance(error, stripe.RateLimitError):
        return "rate_limit"
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error") or {}
    return str(details.get("code") or details.get("type") or type(error).__name__)[:100]


def _stripe_notice(event_type: str, obj: dict, base: dict) -> PaymentNotice:
    """A verified Stripe event in kaika's terms (payment_record applies its result)."""
    if event_type not in STRIPE_EVENTS:
        return PaymentNotice(**base, ignored="unhandled_type")
    if event_type == "charge.refunded":
        # A refund made in Stripe's dashboard (or, later, by kaika): recorded for staff.
        return PaymentNotice(
            **base,
            order_code=str((obj.get("metadata") or {}).get("order_code") or ""),
            refunded_reference=str(obj.get("payment_intent") or obj.get("id") or ""),
            amount=obj.get("amount_refunded"),
        )
    code = str(obj.get("client_reference_id") or "")
    # Sessions kaika made carry the order's code twice; any other (a payment link, another
    # integration on the same account) is none of ours.
    if not code or (obj.get("metadata") or {}).get("order_code") != code:
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
        order_code=code,
        reference=str(obj.get("payment_intent") or obj.get("id")),
        amount=int(obj.get("amount_total") or 0),
        succeeded=succeeded,
        # When Stripe recorded it, not when its notice reached us (redeliveries are late).
        at=base["created_at"],
    )
    return PaymentNotice(**notice, result=result)


def get_gateway() -> PaymentGateway:
    return import_string(getattr(settings, "KAIKA_PAYMENT_GATEWAY", DEFAULT_GATEWAY))()
