"""Payment gateways. The card is typed on the provider's own page, never in our forms, so no
card number or security code ever reaches our database, logs or emails: the provider sends
back only a signed result (order code, amount, its payment reference, success or not).

`KAIKA_PAYMENT_GATEWAY` names the class; the default is the built-in sandbox
(purchases.sandbox), which behaves like a hosted card page with documented test cards.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.module_loading import import_string

from purchases.models import Order
from purchases.services import PaymentResult

DEFAULT_GATEWAY = "purchases.payments.SandboxGateway"


class InvalidPaymentResult(Exception):
    """A result whose signature does not check out (forged or tampered)."""


class PaymentGateway:
    """What the purchase flow needs from a provider."""

    name = ""

    def checkout_url(self, *, order: Order, return_url: str) -> str:
        """Where to send the supporter's browser to pay for `order`; the provider comes back
        to `return_url` with its signed result."""
        raise NotImplementedError

    def parse_result(self, request) -> PaymentResult:
        """The verified result carried by the provider's request to our return URL.
        Raises InvalidPaymentResult when it is not genuinely from the provider."""
        raise NotImplementedError


def sandbox_secret() -> str:
    # A real provider has its own shared secret; the sandbox lives in our process, so its
    # secret is derived from ours unless set (the salts below keep the uses apart).
    return getattr(settings, "KAIKA_SANDBOX_PAY_SECRET", "") or settings.SECRET_KEY


SESSION_SALT = "kaika.sandbox-pay.session"
RESULT_SALT = "kaika.sandbox-pay.result"


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def checkout_url(self, *, order: Order, return_url: str) -> str:
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


def get_gateway() -> PaymentGateway:
    return import_string(getattr(settings, "KAIKA_PAYMENT_GATEWAY", DEFAULT_GATEWAY))()
