"""A stand-in for Stripe on loopback. Stripe cannot be reached from the test machines, so the
real `stripe` package talks to this over HTTP (settings.STRIPE_API_BASE), and the webhook
events it sends are signed with Stripe's scheme, so the library's verification runs for real.

Only what kaika calls, shaped after Stripe's API reference (docs.stripe.com/api, API version
API_VERSION below, the one the pinned `stripe` package sends):

  POST /v1/checkout/sessions              create: parameters checked, idempotent by key
  GET  /v1/checkout/sessions              list, newest first, with Stripe's pagination (limit,
                                          starting_after, ending_before) and filters (created,
                                          status, payment_intent, customer, ...)
  GET  /v1/checkout/sessions/{id}         retrieve
  POST /v1/checkout/sessions/{id}/expire  expire an open session (anything else: 400)
  POST /v1/refunds                        create a refund of a payment (payment_intent or
                                          charge), whole or in part; idempotent by key
  GET  /v1/refunds/{id}                   retrieve
  GET  /v1/events                         list (type or types, created), newest first, paged

and each session's hosted payment page (its `url`, /c/pay/{id}), with Stripe's test cards:

  4242 4242 4242 4242  succeeds: the session completes, the browser goes to success_url
  4000 0000 0000 5126  succeeds, but its refunds fail asynchronously: each is "succeeded" when
                       made, then (`fail_refunds()`, or `refunds_fail_after` seconds) "failed"
                       with failure_reason expired_or_canceled_card, and refund.updated and
                       refund.failed are sent; the amount is refundable again
  4000 0000 0000 0002  declined (card_declined / generic_decline): the page says so and the
                       session stays open for another card

A paid session has its PaymentIntent (`payment_intents`, with the metadata of
payment_intent_data) and that payment's charge (`charges`); refunds are in `refunds`. A refund
sends refund.created and charge.refunded (the charge with amount_refunded so far); `refund()`
is one made in Stripe's dashboard, through the same path.

Errors as Stripe sends them ({"error": {"type", "code", "message", "param"}}): unknown or
invalid parameters (400, invalid_request_error), a wrong key (401), an idempotency key reused
with other parameters (400, idempotency_error), refunds Stripe refuses (amount_too_large,
charge_already_refunded, payment_intent_unexpected_state, resource_missing), and the faults a
test asks for with `fail_next`: "429" (rate limited; not saved under the key), "500"
(api_error; saved under the key like any result whose execution began, so a retry gets the
same 500), "timeout" (carried out and saved, but answered after `slow_seconds`, when the
client has given up).

Every change makes an event (`events`). With `webhook_url` set, each is posted there, signed,
from a thread (like Stripe, a little after the browser's redirect); otherwise it waits in
`outbox` for the test to hand to Django's test client (`deliver`). Within `lose_events()` they
are recorded but never sent nor kept in `outbox` (`lost`): webhooks that never arrived.
`paid_session()` makes and pays a session kaika never asked for (an orphan payment).
"""

import contextlib
import copy
import hashlib
import hmac
import html
import http.client
import http.server
import json
import operator
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from stripe._api_version import _ApiVersion
from stripe._request_options import RequestOptions
from stripe.params import EventListParams, RefundCreateParams
from stripe.params.checkout import SessionCreateParams, SessionListParams

API_VERSION = _ApiVersion.CURRENT
WEBHOOK_PATH = "/payments/stripe/webhook/"
CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_REFUND_FAILS = "4000000000005126"
CARDS_THAT_PAY = {CARD_SUCCEEDS, CARD_REFUND_FAILS}
# The top-level parameters of "Create a Checkout Session", "List all Checkout Sessions" and
# "Create a refund" in this API version (the pinned library's types are generated from
# Stripe's published OpenAPI description).
_OPTIONS = set(RequestOptions.__annotations__)
SESSION_PARAMETERS = set(SessionCreateParams.__annotations__) - _OPTIONS
SESSION_LIST_PARAMETERS = set(SessionListParams.__annotations__) - _OPTIONS
REFUND_PARAMETERS = set(RefundCreateParams.__annotations__) - _OPTIONS
EVENT_LIST_PARAMETERS = set(EventListParams.__annotations__) - _OPTIONS
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
SESSION_STATUSES = {"open", "complete", "expired"}
PAYMENT_METHOD_TYPES = {"card", "konbini", "link", "paypay"}
MINIMUM_YEN = 50  # Stripe's minimum charge in JPY
API_KEY = "sk_test_standin_0000000000000000"
WEBHOOK_SECRET = "whsec_standin0000000000000000000000"


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's Stripe-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">
    keyed with the endpoint's secret (the whole whsec_... string)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post_event(client, payload: str, signature: str | None):
    """One webhook delivery to the app through Django's test client."""
    extra = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(WEBHOOK_PATH, data=payload, content_type="application/json", **extra)


def parse_form(body: str) -> dict:
    """Stripe's form encoding (line_items[0][price_data][currency]=jpy) as nested values."""
    root: dict = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _with_lists(root)


def _with_lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_with_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _with_lists(v) for k, v in node.items()}


def _error(kind: str, message: str, *, code: str | None = None, param: str | None = None):
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def _missing(kind: str, object_id: str, param: str) -> dict:
    return _error(
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def _unknown_parameters(params: dict, known: set[str]) -> None:
    for name in params:
        if name not in known:
            raise _Refusal(
                400,
                _error(
                    "invalid_request_error",
                    f"Received unknown parameter: {name}",
                    code="parameter_unknown",
                    param=name,
                ),
            )


def _integer(value, param: str) -> int:
    """A form-encoded integer parameter, refused as Stripe does when it is not one."""
    try:
        return int(str(value), 10)
    except ValueError:
        raise _Refusal(
            400,
            _error(
                "invalid_request_error",
                f"Invalid integer: {value}",
                code="parameter_invalid_integer",
                param=param,
            ),
        ) from None


_CREATED = {f"created[{op}]" for op in ("gt", "gte", "lt", "lte")}
_COMPARE = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


class _Refusal(Exception):
    def __init__(self, status: int, body: dict):
        self.status, self.body = status, body


class StripeStandIn:
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        webhook_secret: str = WEBHOOK_SECRET,
        webhook_url: str | None = None,
        delivery_delay: float = 0.0,
    ):
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.delivery_delay = delivery_delay
        self.slow_seconds = 2.0
        self.sessions: dict[str, dict] = {}
        self.payment_intent_metadata: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        # 4000 0000 0000 5126: its refunds fail on `fail_refunds()`, or by themselves this
        # many seconds after they were made (Stripe: "some time later").
        self.refunds_fail_after: float | None = None
        self.refunds_to_fail: list[str] = []
        self.losing_events = False
        self.lost: list[dict] = []
        self.cards: dict[str, str] = {}  # payment intent -> the test card that paid it
        self.idempotency: dict[str, tuple[tuple, int, dict]] = {}
        self.faults: list[str] = []
        self.requests: list[dict] = []
        self.declines: list[dict] = []
        self.events: list[dict] = []
        self.outbox: list[dict] = []
        self.deliveries: list[tuple[str, int | None]] = []
        self.lock = threading.RLock()
        self._context = threading.local()  # the API request being answered, for its events
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.standin = self
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # --- What tests use -----------------------------------------------------------------

    def fail_next(self, *faults: str) -> None:
        """The next API requests fail, one fault each: "timeout", "500" or "429"."""
        with self.lock:
            self.faults.extend(faults)

    def session_of(self, order_code: str) -> list[dict]:
        with self.lock:
            return [s for s in self.sessions.values() if s["client_reference_id"] == order_code]

    def pay(self, session_id: str, card: str = CARD_SUCCEEDS) -> tuple[int, str]:
        """Submit the hosted page's form as a browser would: (status, Location or body)."""
        path = f"/c/pay/{session_id}"
        body = urllib.parse.urlencode(
            {
                "email": "payer@example.jp",
                "cardnumber": card,
                "exp-date": "12 / 34",
                "cvc": "123",
                "name": "YAMADA HANAKO",
            }
        )
        connection = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=10)
        try:
            connection.request(
                "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            response = connection.getresponse()
            return response.status, response.getheader("Location") or response.read().decode()
        finally:
            connection.close()

    def complete_unpaid(self, session_id: str) -> dict:
        """A delayed payment method: the session completes, the money is still to come."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self._intent_create(session, status="requires_action")
            session.update(status="complete", url=None, payment_intent=intent["id"])
            session["customer_details"] = self._customer_details("payer@example.jp", "")
            return self._event("checkout.session.completed", session)

    def settle(self, session_id: str, *, succeeded: bool) -> dict:
        """The delayed payment's outcome, for a session completed unpaid. (Refunds of it are
        made as a card's would be: the stand-in has no refund instructions by email.)"""
        with self.lock:
            session = self.sessions[session_id]
            intent = self.payment_intents.get(session["payment_intent"])
            if intent is None:
                intent = self._intent_create(session, status="requires_action")
                session["payment_intent"] = intent["id"]
            if succeeded:
                session["payment_status"] = "paid"
                if intent["status"] != "succeeded":
                    self._intent_succeeded(intent, session, card=None)
                return self._event("checkout.session.async_payment_succeeded", session)
            if intent["status"] != "succeeded":  # a failure notice after the success: as is
                intent["status"] = "requires_payment_method"
            return self._event("checkout.session.async_payment_failed", session)

    def refund(
        self, session_id: str, amount: int | None = None, *, reason: str | None = None
    ) -> dict:
        """A refund made in Stripe's dashboard, of the session's payment (all that is left of
        it unless `amount`): the same path as POST /v1/refunds, so the same refund.created
        and charge.refunded events. Returns the charge.refunded event. Stripe's refusal
        (amount_too_large, ...) is raised as a ValueError carrying its message."""
        with self.lock:
            params: dict = {"payment_intent": self.sessions[session_id]["payment_intent"]}
            if amount is not None:
                params["amount"] = amount
            if reason is not None:
                params["reason"] = reason
            try:
                _, events = self._refund_create(params)
            except _Refusal as refusal:
                raise ValueError(refusal.body["error"]["message"]) from None
            return next(e for e in events if e["type"] == "charge.refunded")

    def fail_refunds(self, refund_id: str | None = None) -> list[dict]:
        """Time passes for the refunds of 4000 0000 0000 5126 (all, or `refund_id`): each
        turns "failed" (expired_or_canceled_card) as Stripe's testing docs describe, its
        amount no longer counts as refunded, and Stripe's refund.updated and refund.failed
        are sent. Returns those events."""
        events = []
        with self.lock:
            for each in list(self.refunds_to_fail):
                if refund_id in (None, each):
                    self.refunds_to_fail.remove(each)
                    events.extend(self._refund_fail(self.refunds[each]))
        return events

    @contextlib.contextmanager
    def lose_events(self):
        """Webhooks that never arrive: the events made meanwhile are in `events` (and `lost`),
        as Stripe has them, but neither posted to `webhook_url` nor kept in `outbox`."""
        with self.lock:
            before, self.losing_events = self.losing_events, True
        try:
            yield self
        finally:
            with self.lock:
                self.losing_events = before

    def paid_session(
        self,
        *,
        order_code: str | None = None,
        amount: int = 1000,
        metadata: dict | None = None,
        card: str = CARD_SUCCEEDS,
    ) -> dict:
        """A session kaika never made (or never heard back about), paid on the hosted page:
        an orphan payment. Made from the parameters kaika sends, so with `order_code` it
        carries the code as kaika's own do (client_reference_id, the session's and the
        payment's metadata) unless `metadata` says otherwise. Returns the paid session; its
        payment is payment_intents[session["payment_intent"]]."""
        if metadata is None:
            metadata = {"order_code": order_code} if order_code else {}
        params = {
            "mode": "payment",
            "success_url": "http://testserver/paid/?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://testserver/",
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": str(amount),
                        "product_data": {"name": f"Order {order_code or '(none)'}"},
                    },
                    "quantity": "1",
                }
            ],
            "metadata": dict(metadata),
            "payment_intent_data": {"metadata": dict(metadata)},
        }
        if order_code:
            params["client_reference_id"] = order_code
        try:
            session = self._session_create(params)
        except _Refusal as refusal:
            raise ValueError(refusal.body["error"]["message"]) from None
        status, detail = self.pay(session["id"], card)
        if status != 303:
            raise ValueError(f"the hosted page did not take card {card}: {detail}")
        with self.lock:
            return copy.deepcopy(self.sessions[session["id"]])

    def delivery(
        self, event: dict, *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[str, str]:
        """An event's body (pretty-printed JSON, as Stripe sends it) and its signature."""
        payload = json.dumps(event, indent=2, ensure_ascii=False)
        return payload, sign(payload, secret or self.webhook_secret, timestamp)

    def deliver(self, client) -> list:
        """Post the events kept so far to the app through Django's test client, in order."""
        responses = []
        while True:
            with self.lock:
                if not self.outbox:
                    return responses
                event = self.outbox.pop(0)
            responses.append(post_event(client, *self.delivery(event)))

    # --- The API ------------------------------------------------------------------------

    def handle(self, handler, method: str) -> None:
        url = urllib.parse.urlsplit(handler.path)
        path = url.path
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)).decode()
        if path.startswith("/c/pay/"):
            return self._hosted_page(handler, method, path.removeprefix("/c/pay/"), body)
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._send_json(
                handler, 401, _error("invalid_request_error", "Invalid API Key provided.")
            )
        # A GET's parameters come in the query string, form-encoded the same way.
        params = parse_form(body if method == "POST" else url.query)
        key = handler.headers.get("Idempotency-Key") if method == "POST" else None
        request_id = "req_" + secrets.token_hex(8)
        ids = {"Request-Id": request_id}
        with self.lock:
            self.requests.append({"method": method, "path": path, "params": params, "key": key})
            fault = self.faults.pop(0) if self.faults else None
        if fault == "429":
            return self._send_json(
                handler,
                429,
                _error(
                    "invalid_request_error",
                    "Too many requests hit the API too quickly.",
                    code="rate_limit",
                ),
            )
        fingerprint = (path, json.dumps(params, sort_keys=True))
        if key:
            with self.lock:
                saved = self.idempotency.get(key)
            if saved is not None:
                if saved[0] != fingerprint:
                    return self._send_json(
                        handler,
                        400,
                        _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            f"parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.",
                        ),
                    )
                if fault == "timeout":
                    time.sleep(self.slow_seconds)
                return self._send_json(handler, saved[1], saved[2], {"Idempotent-Replayed": "true"})
        # The events this request makes name it, as Stripe's do (event.request).
        self._context.request = {"id": request_id, "idempotency_key": key}
        try:
            if fault == "500":
                status, result = 500, _error("api_error", "An unknown error occurred.")
            else:
                status, result = 200, self._api(method, path, params)
        except _Refusal as refusal:
            # Refused before execution began (validation): not saved, a retry may succeed.
            return self._send_json(handler, refusal.status, refusal.body, ids)
        finally:
            self._context.request = None
        if key:
            with self.lock:
                self.idempotency[key] = (fingerprint, status, result)
        if fault == "timeout":
            time.sleep(self.slow_seconds)
        self._send_json(handler, status, result, ids)

    def _api(self, method: str, path: str, params: dict) -> dict:
        unrecognized = _Refusal(
            404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        )
        if path == "/v1/checkout/sessions":
            if method == "POST":
                return self._session_create(params)
            return self._session_list(params)
        if path == "/v1/refunds" and method == "POST":
            return self._refund_create(params)[0]
        if path == "/v1/events" and method == "GET":
            return self._event_list(params)
        match = re.fullmatch(r"/v1/refunds/(\w+)", path)
        if match is not None and method == "GET":
            with self.lock:
                refund = self.refunds.get(match.group(1))
                if refund is None:
                    raise _Refusal(404, _missing("refund", match.group(1), "id"))
                return copy.deepcopy(refund)
        match = re.fullmatch(r"/v1/checkout/sessions/(cs_\w+)(/expire)?", path)
        if match is None:
            raise unrecognized
        with self.lock:
            session = self.sessions.get(match.group(1))
            if session is None:
                raise _Refusal(404, _missing("checkout.session", match.group(1), "session"))
            self._expire_if_due(session)
            if match.group(2) and method == "POST":
                if session["status"] != "open":
                    raise _Refusal(
                        400,
                        _error(
                            "invalid_request_error",
                            'Only Checkout Sessions with a status in ["open"] can be '
                            f"expired. This Checkout Session has a status of "
                            f'"{session["status"]}".',
                        ),
                    )
                self._expire(session, request=self._request())
            elif match.group(2) or method != "GET":
                raise unrecognized
            return copy.deepcopy(session)

    def _session_create(self, params: dict) -> dict:
        def invalid(message: str, param: str):
            raise _Refusal(
                400, _error("invalid_request_error", message, code="parameter_invalid", param=param)
            )

        _unknown_parameters(params, SESSION_PARAMETERS)
        if params.get("mode") != "payment":
            invalid("This stand-in only makes sessions in payment mode.", "mode")
        if not params.get("success_url"):
            raise _Refusal(
                400,
                _error(
                    "invalid_request_error",
                    "Missing required param: success_url.",
                    code="parameter_missing",
                    param="success_url",
                ),
            )
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            invalid("line_items is required in payment mode.", "line_items")
        total, currencies = 0, set()
        for i, item in enumerate(items):
            price = item.get("price_data") or {}
            try:
                amount, quantity = int(price["unit_amount"]), int(item["quantity"])
                price["product_data"]["name"]
            except (KeyError, TypeError, ValueError):
                invalid("Each line item needs price_data and a quantity.", f"line_items[{i}]")
            currencies.add(price.get("currency"))
            total += amount * quantity
        if currencies != {"jpy"}:
            invalid("This stand-in only takes jpy.", "line_items[0][price_data][currency]")
        if total < MINIMUM_YEN:
            invalid("The Checkout Session's total amount must be at least ¥50.", "line_items")
        allowed = params.get("allowed_payment_method_types") or ["card"]
        if not set(allowed) <= PAYMENT_METHOD_TYPES:
            invalid("Invalid payment method type.", "allowed_payment_method_types")
        now = int(time.time())
        expires_at = int(params.get("expires_at") or now + 24 * 3600)
        if not now + 30 * 60 <= expires_at <= now + 24 * 3600:
            invalid(
                "The expires_at timestamp must be between 30 minutes and 24 hours from the "
                "Checkout Session's creation.",
                "expires_at",
            )
        if len(params.get("client_reference_id") or "") > 200:
            invalid("client_reference_id is at most 200 characters.", "client_reference_id")
        message = ((params.get("custom_text") or {}).get("submit") or {}).get("message") or ""
        if len(message) > 1200:
            invalid("custom_text[submit][message] is at most 1200 characters.", "custom_text")
        session_id = "cs_test_" + secrets.token_urlsafe(45).replace("-", "a").replace("_", "b")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "allowed_payment_method_types": allowed,
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": "jpy",
            "custom_text": {"submit": {"message": message} if message else None},
            "customer": None,
            "customer_details": None,
            "customer_email": None,
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": allowed,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "ui_mode": "hosted_page",
            "url": f"{self.url}/c/pay/{session_id}",
        }
        with self.lock:
            self.sessions[session_id] = session
            intent_data = params.get("payment_intent_data") or {}
            self.payment_intent_metadata[session_id] = intent_data.get("metadata") or {}
        return copy.deepcopy(session)

    def _event_list(self, params: dict) -> dict:
        """Stripe's "List all events" (it keeps 30 days): newest first, `type` or `types[]`,
        `created[...]`, and the same cursors as every list. Lost events are listed too:
        only their delivery was lost."""
        _unknown_parameters(params, EVENT_LIST_PARAMETERS)
        limit = _integer(params.get("limit", 10), "limit")
        if not 1 <= limit <= 100:
            raise _Refusal(400, _error("invalid_request_error", "Invalid limit.", param="limit"))
        if "type" in params and "types" in params:
            raise _Refusal(
                400,
                _error(
                    "invalid_request_error",
                    "You may only specify one of these parameters: type, types.",
                    code="parameters_exclusive",
                    param="types",
                ),
            )
        types = params.get("types") or ([params["type"]] if "type" in params else None)
        created = params.get("created") or {}
        if not isinstance(created, dict):
            created = dict.fromkeys(("gte", "lte"), created)
        _unknown_parameters({f"created[{op}]": v for op, v in created.items()}, _CREATED)
        bounds = {op: _integer(v, f"created[{op}]") for op, v in created.items()}
        after, before = params.get("starting_after"), params.get("ending_before")
        with self.lock:
            ordered = sorted(reversed(self.events), key=lambda e: e["created"], reverse=True)
            cursor = after or before
            if cursor:
                ids = [e["id"] for e in ordered]
                if cursor not in ids:
                    param = "starting_after" if after else "ending_before"
                    raise _Refusal(400, _missing("event", cursor, param))
                at = ids.index(cursor)
                ordered = ordered[at + 1 :] if after else ordered[:at]
            chosen = [
                e
                for e in ordered
                if (types is None or e["type"] in types)
                and all(_COMPARE[op](e["created"], v) for op, v in bounds.items())
            ]
            page = chosen[-limit:] if before else chosen[:limit]
            return {
                "object": "list",
                "data": copy.deepcopy(page),
                "has_more": len(chosen) > limit,
                "url": "/v1/events",
            }

    def _session_list(self, params: dict) -> dict:
        """Newest first. A cursor is a session's place in that order, whether or not it
        passes the filters; ending_before gives the page just before it, still newest first
        (the library's auto_paging_iter turns such pages around)."""
        _unknown_parameters(params, SESSION_LIST_PARAMETERS)
        limit = _integer(params.get("limit", 10), "limit")
        if not 1 <= limit <= 100:
            bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 100"
            raise _Refusal(
                400,
                _error("invalid_request_error", f"This value must be {bound}.", param="limit"),
            )
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            raise _Refusal(
                400,
                _error(
                    "invalid_request_error",
                    "You may only specify one of these parameters: ending_before, starting_after.",
                    code="parameters_exclusive",
                    param="ending_before",
                ),
            )
        created = params.get("created")
        if isinstance(created, dict):
            _unknown_parameters({f"created[{op}]": v for op, v in created.items()}, _CREATED)
            bounds = {op: _integer(v, f"created[{op}]") for op, v in created.items()}
        elif created is not None:
            bounds = dict.fromkeys(("gte", "lte"), _integer(created, "created"))
        else:
            bounds = {}
        status = params.get("status")
        if status is not None and status not in SESSION_STATUSES:
            raise _Refusal(
                400,
                _error(
                    "invalid_request_error",
                    "Invalid status: must be one of complete, expired, or open",
                    param="status",
                ),
            )
        details = params.get("customer_details")
        if details is not None and not (isinstance(details, dict) and details.get("email")):
            raise _Refusal(
                400,
                _error(
                    "invalid_request_error",
                    "Missing required param: customer_details[email].",
                    code="parameter_missing",
                    param="customer_details[email]",
                ),
            )
        same = ("payment_intent", "customer", "customer_account", "payment_link", "subscription")

        def wanted(session: dict) -> bool:
            return (
                all(_COMPARE[op](session["created"], v) for op, v in bounds.items())
                and status in (None, session["status"])
                and all(session.get(name) == params[name] for name in same if name in params)
                and (
                    details is None
                    or (session["customer_details"] or {}).get("email") == details["email"]
                )
            )

        with self.lock:
            for session in list(self.sessions.values()):
                self._expire_if_due(session)
            # Created in the same second: the later made first (sorting keeps the order).
            ordered = sorted(
                reversed(self.sessions.values()), key=lambda s: s["created"], reverse=True
            )
            cursor = after or before
            if cursor:
                if cursor not in self.sessions:
                    param = "starting_after" if after else "ending_before"
                    raise _Refusal(400, _missing("checkout.session", cursor, param))
                at = next(i for i, s in enumerate(ordered) if s["id"] == cursor)
                ordered = ordered[at + 1 :] if after else ordered[:at]
            chosen = [s for s in ordered if wanted(s)]
            page = chosen[-limit:] if before else chosen[:limit]
            return {
                "object": "list",
                "data": copy.deepcopy(page),
                "has_more": len(chosen) > limit,
                "url": "/v1/checkout/sessions",
            }

    # --- Payments and refunds -----------------------------------------------------------

    def _intent_create(self, session: dict, *, status: str) -> dict:
        """The session's PaymentIntent, with the metadata of its payment_intent_data."""
        intent = {
            "id": "pi_" + secrets.token_hex(12),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": 0,
            # Not a field of Stripe's PaymentIntent: the stand-in's tally of what its charge
            # has had refunded (pending and succeeded refunds), kept equal to the charge's.
            "amount_refunded": 0,
            "created": int(time.time()),
            "currency": "jpy",
            "latest_charge": None,
            "livemode": False,
            "metadata": copy.deepcopy(self.payment_intent_metadata.get(session["id"]) or {}),
            "payment_method_types": list(session["payment_method_types"]),
            "status": status,
        }
        self.payment_intents[intent["id"]] = intent
        return intent

    def _intent_succeeded(self, intent: dict, session: dict, *, card: str | None) -> dict:
        """The money is in: the intent succeeds and has its charge. Stripe copies the
        intent's metadata onto the charge when it is made."""
        details = session.get("customer_details") or {}
        if card:
            method = {
                "type": "card",
                "card": {"brand": "visa", "exp_month": 12, "exp_year": 2034, "last4": card[-4:]},
            }
            self.cards[intent["id"]] = card
        else:
            method = {"type": intent["payment_method_types"][-1]}
        charge = {
            "id": "ch_" + secrets.token_hex(12),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "billing_details": {
                "address": None,
                "email": details.get("email"),
                "name": details.get("name") or None,
                "phone": None,
            },
            "captured": True,
            "created": int(time.time()),
            "currency": "jpy",
            "livemode": False,
            "metadata": copy.deepcopy(intent["metadata"]),
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method_details": method,
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge["id"]] = charge
        intent.update(status="succeeded", amount_received=intent["amount"])
        intent["latest_charge"] = charge["id"]
        return charge

    def _refund_create(self, params: dict) -> tuple[dict, list[dict]]:
        """Create a refund (the API's and the dashboard's): Stripe's checks, then the refund,
        succeeded at once, and its refund.created and charge.refunded events."""

        def refused(message: str, param: str | None, code: str | None = None):
            raise _Refusal(400, _error("invalid_request_error", message, code=code, param=param))

        _unknown_parameters(params, REFUND_PARAMETERS)
        if params.get("origin") or params.get("customer"):
            # Refunds of a customer's balance: nothing kaika does.
            refused("This stand-in only refunds payments (payment_intent or charge).", "origin")
        intent_id, charge_id = params.get("payment_intent"), params.get("charge")
        if not intent_id and not charge_id:
            refused(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                "payment_intent",
                "parameter_missing",
            )
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            refused(
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                "reason",
            )
        if str(params.get("currency") or "jpy").lower() != "jpy":
            refused("The refund's currency must be the payment's: jpy.", "currency")
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            refused("Invalid object", "metadata")
        with self.lock:
            if charge_id:
                charge = self.charges.get(charge_id)
                if charge is None:
                    raise _Refusal(400, _missing("charge", charge_id, "charge"))
                if intent_id and charge["payment_intent"] != intent_id:
                    refused(
                        f"The charge {charge_id} does not belong to PaymentIntent {intent_id}.",
                        "charge",
                    )
                intent = self.payment_intents[charge["payment_intent"]]
            else:
                intent = self.payment_intents.get(intent_id)
                if intent is None:
                    raise _Refusal(400, _missing("payment_intent", intent_id, "payment_intent"))
                if intent["status"] != "succeeded":
                    refused(
                        f"This PaymentIntent ({intent_id}) does not have a successful charge "
                        "to refund.",
                        "payment_intent",
                        "payment_intent_unexpected_state",
                    )
                charge = self.charges[intent["latest_charge"]]
            left = charge["amount"] - charge["amount_refunded"]
            if left <= 0:
                refused(
                    f"Charge {charge['id']} has already been refunded.",
                    None,
                    "charge_already_refunded",
                )
            amount = left
            if params.get("amount") is not None:
                amount = _integer(params["amount"], "amount")
                if amount < 1:
                    refused(
                        "This value must be greater than or equal to 1.",
                        "amount",
                        "parameter_invalid_integer",
                    )
                if amount > left:
                    refused(
                        f"Refund amount (¥{amount:,}) is greater than unrefunded amount on "
                        f"charge (¥{left:,})",
                        "amount",
                        "amount_too_large",
                    )
            refund = {
                "id": "re_" + secrets.token_hex(12),
                "object": "refund",
                "amount": amount,
                "balance_transaction": "txn_" + secrets.token_hex(12),
                "charge": charge["id"],
                "created": int(time.time()),
                "currency": "jpy",
                "description": None,
                "destination_details": None,
                "failure_balance_transaction": None,
                "failure_reason": None,
                "instructions_email": params.get("instructions_email"),
                "metadata": {k: v for k, v in metadata.items() if v != ""},
                "next_action": None,
                "payment_intent": intent["id"],
                "pending_reason": None,
                "reason": reason,
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": "succeeded",
                "transfer_reversal": None,
            }
            self.refunds[refund["id"]] = refund
            self._refunded(charge, amount)
            request = self._request()
            events = [
                self._event("refund.created", refund, request=request),
                self._event("charge.refunded", charge, request=request),
            ]
            if self.cards.get(intent["id"]) == CARD_REFUND_FAILS:
                self.refunds_to_fail.append(refund["id"])
                if self.refunds_fail_after is not None:
                    timer = threading.Timer(
                        self.refunds_fail_after, self.fail_refunds, args=(refund["id"],)
                    )
                    timer.daemon = True
                    timer.start()
            return copy.deepcopy(refund), events

    def _refunded(self, charge: dict, amount: int) -> None:
        """What the charge has had refunded (pending and succeeded refunds)."""
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.payment_intents[charge["payment_intent"]]["amount_refunded"] = charge[
            "amount_refunded"
        ]

    def _refund_fail(self, refund: dict) -> list[dict]:
        previous = {
            "failure_balance_transaction": None,
            "failure_reason": None,
            "status": refund["status"],
        }
        refund.update(
            status="failed",
            failure_reason="expired_or_canceled_card",
            failure_balance_transaction="txn_" + secrets.token_hex(12),
        )
        self._refunded(self.charges[refund["charge"]], -refund["amount"])
        return [
            self._event("refund.updated", refund, previous=previous),
            self._event("refund.failed", refund),
        ]

    # --- Sessions and events ------------------------------------------------------------

    def _customer_details(self, email: str, name: str) -> dict:
        return {"address": None, "email": email, "name": name, "phone": None, "tax_exempt": "none"}

    def _expire_if_due(self, session: dict) -> None:
        if session["status"] == "open" and time.time() >= session["expires_at"]:
            self._expire(session)

    def _expire(self, session: dict, *, request: dict | None = None) -> None:
        session.update(status="expired", url=None)
        self._event("checkout.session.expired", session, request=request)

    def _request(self) -> dict | None:
        """The API request being answered on this thread (None for the dashboard's, the
        hosted page's and time's doings)."""
        return getattr(self._context, "request", None)

    def _event(
        self, kind: str, obj: dict, *, request: dict | None = None, previous: dict | None = None
    ) -> dict:
        data = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": dict(request or {"id": None, "idempotency_key": None}),
            "type": kind,
        }
        with self.lock:
            self.events.append(event)
            if self.losing_events:
                self.lost.append(event)
            elif self.webhook_url:
                threading.Thread(target=self._post, args=(event,), daemon=True).start()
            else:
                self.outbox.append(event)
        return event

    def _post(self, event: dict) -> None:
        time.sleep(self.delivery_delay)
        payload, signature = self.delivery(event)
        request = urllib.request.Request(  # noqa: S310 (the test's own http:// URL)
            self.webhook_url,
            data=payload.encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        with self.lock:
            self.deliveries.append((event["id"], status))

    # --- The hosted payment page --------------------------------------------------------

    def _hosted_page(self, handler, method: str, session_id: str, body: str) -> None:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return self._send_html(handler, 404, "<p>This page could not be found.</p>")
            self._expire_if_due(session)
            if session["status"] != "open":
                return self._send_html(
                    handler,
                    410 if session["status"] == "expired" else 200,
                    "<p>This Checkout Session is no longer active.</p>",
                )
            error = ""
            if method == "POST":
                form = dict(urllib.parse.parse_qsl(body))
                card = "".join(c for c in form.get("cardnumber", "") if c.isdigit())
                if card in CARDS_THAT_PAY:
                    customer = self._customer_details(form.get("email", ""), form.get("name", ""))
                    session.update(
                        status="complete",
                        payment_status="paid",
                        url=None,
                        customer_details=customer,
                    )
                    intent = self._intent_create(session, status="requires_payment_method")
                    session["payment_intent"] = intent["id"]
                    self._intent_succeeded(intent, session, card=card)
                    self._event("checkout.session.completed", session)
                    target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
                    return self._send(handler, 303, b"", {"Location": target})
                if card == CARD_DECLINED:
                    refusal = _error("card_error", "Your card was declined.", code="card_declined")
                    refusal["error"]["decline_code"] = "generic_decline"
                else:
                    refusal = _error(
                        "card_error", "Your card number is incorrect.", code="incorrect_number"
                    )
                self.declines.append(refusal)
                error = refusal["error"]["message"]
            return self._send_html(handler, 200, self._card_form(session, error))

    def _card_form(self, session: dict, error: str) -> str:
        submit = (session.get("custom_text") or {}).get("submit") or {}
        return f"""
<h1>Stripe Checkout (test stand-in)</h1>
<p>Pay <strong>¥{session["amount_total"]:,}</strong></p>
<p>{html.escape(submit.get("message") or "")}</p>
{f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""}
<form method="post">
  <label>Email <input name="email" type="email" autocomplete="email"></label>
  <label>Card number <input name="cardnumber" autocomplete="cc-number" inputmode="numeric"></label>
  <label>Expiry <input name="exp-date" autocomplete="cc-exp" placeholder="MM / YY"></label>
  <label>CVC <input name="cvc" autocomplete="cc-csc" inputmode="numeric"></label>
  <label>Name on card <input name="name" autocomplete="cc-name"></label>
  <button type="submit">Pay</button>
</form>
<p><a href="{html.escape(session["cancel_url"] or "")}">Back</a></p>
"""

    # --- HTTP ---------------------------------------------------------------------------

    def _send_json(self, handler, status: int, body: dict, headers: dict | None = None) -> None:
        headers = {
            "Content-Type": "application/json",
            "Request-Id": "req_" + secrets.token_hex(8),
            "Stripe-Version": API_VERSION,
            **(headers or {}),
        }
        self._send(handler, status, json.dumps(body).encode(), headers)

    def _send_html(self, handler, status: int, content: str) -> None:
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Stripe stand-in</title></head><body><main>"
            f"{content}</main></body></html>"
        )
        self._send(handler, status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _send(self, handler, status: int, body: bytes, headers: dict) -> None:
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client gave up (a timeout test)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.standin.handle(self, "GET")

    def do_POST(self):
        self.server.standin.handle(self, "POST")

    def log_message(self, format, *args):
        pass
