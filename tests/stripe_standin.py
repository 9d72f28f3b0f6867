"""A stand-in for Stripe on loopback. Stripe cannot be reached from the test machines, so the
real `stripe` package talks to this over HTTP (settings.STRIPE_API_BASE), and the webhook
events it sends are signed with Stripe's scheme, so the library's verification runs for real.

Only what kaika calls, shaped after Stripe's API reference (docs.stripe.com/api, API version
API_VERSION below, the one the pinned `stripe` package sends):

  POST /v1/checkout/sessions              create: parameters checked, idempotent by key
  GET  /v1/checkout/sessions/{id}         retrieve
  POST /v1/checkout/sessions/{id}/expire  expire an open session (anything else: 400)

and each session's hosted payment page (its `url`, /c/pay/{id}), with Stripe's test cards:

  4242 4242 4242 4242  succeeds: the session completes, the browser goes to success_url
  4000 0000 0000 0002  declined (card_declined / generic_decline): the page says so and the
                       session stays open for another card

Errors as Stripe sends them ({"error": {"type", "code", "message", "param"}}): unknown or
invalid parameters (400, invalid_request_error), a wrong key (401), an idempotency key reused
with other parameters (400, idempotency_error), and the faults a test asks for with
`fail_next`: "429" (rate limited; not saved under the key), "500" (api_error; saved under the
key like any result whose execution began, so a retry gets the same 500), "timeout" (carried
out and saved, but answered after `slow_seconds`, when the client has given up).

Every change of a session makes an event (`events`). With `webhook_url` set, each is posted
there, signed, from a thread (like Stripe, a little after the browser's redirect); otherwise
it waits in `outbox` for the test to hand to Django's test client (`deliver`).
"""

import copy
import hashlib
import hmac
import html
import http.client
import http.server
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from stripe._api_version import _ApiVersion
from stripe._request_options import RequestOptions
from stripe.params.checkout import SessionCreateParams

API_VERSION = _ApiVersion.CURRENT
WEBHOOK_PATH = "/payments/stripe/webhook/"
CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
# The top-level parameters of "Create a Checkout Session" in this API version (the pinned
# library's types are generated from Stripe's published OpenAPI description).
SESSION_PARAMETERS = set(SessionCreateParams.__annotations__) - set(RequestOptions.__annotations__)
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
        self.idempotency: dict[str, tuple[tuple, int, dict]] = {}
        self.faults: list[str] = []
        self.requests: list[dict] = []
        self.declines: list[dict] = []
        self.events: list[dict] = []
        self.outbox: list[dict] = []
        self.deliveries: list[tuple[str, int | None]] = []
        self.lock = threading.RLock()
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
            session.update(status="complete", url=None, payment_intent=self._payment_intent())
            session["customer_details"] = self._customer_details("payer@example.jp", "")
            return self._event("checkout.session.completed", session)

    def settle(self, session_id: str, *, succeeded: bool) -> dict:
        """The delayed payment's outcome, for a session completed unpaid."""
        with self.lock:
            session = self.sessions[session_id]
            if succeeded:
                session["payment_status"] = "paid"
                return self._event("checkout.session.async_payment_succeeded", session)
            return self._event("checkout.session.async_payment_failed", session)

    def refund(self, session_id: str, amount: int | None = None) -> dict:
        """A refund made in Stripe's dashboard: charge.refunded for the session's payment."""
        with self.lock:
            session = self.sessions[session_id]
            total = session["amount_total"]
            refunded = total if amount is None else amount
            charge = {
                "id": "ch_" + secrets.token_hex(12),
                "object": "charge",
                "amount": total,
                "amount_captured": total,
                "amount_refunded": refunded,
                "billing_details": {"email": "payer@example.jp", "name": "YAMADA HANAKO"},
                "captured": True,
                "created": int(time.time()),
                "currency": "jpy",
                "livemode": False,
                "metadata": {},
                "paid": True,
                "payment_intent": session["payment_intent"],
                "refunded": refunded == total,
                "status": "succeeded",
            }
            return self._event("charge.refunded", charge)

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
        path = urllib.parse.urlsplit(handler.path).path
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)).decode()
        if path.startswith("/c/pay/"):
            return self._hosted_page(handler, method, path.removeprefix("/c/pay/"), body)
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._send_json(
                handler, 401, _error("invalid_request_error", "Invalid API Key provided.")
            )
        params = parse_form(body) if method == "POST" else {}
        key = handler.headers.get("Idempotency-Key") if method == "POST" else None
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
        try:
            if fault == "500":
                status, result = 500, _error("api_error", "An unknown error occurred.")
            else:
                status, result = 200, self._api(method, path, params)
        except _Refusal as refusal:
            # Refused before execution began (validation): not saved, a retry may succeed.
            return self._send_json(handler, refusal.status, refusal.body)
        if key:
            with self.lock:
                self.idempotency[key] = (fingerprint, status, result)
        if fault == "timeout":
            time.sleep(self.slow_seconds)
        self._send_json(handler, status, result)

    def _api(self, method: str, path: str, params: dict) -> dict:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._session_create(params)
        match = re.fullmatch(r"/v1/checkout/sessions/(cs_\w+)(/expire)?", path)
        if match is None:
            raise _Refusal(
                404,
                _error("invalid_request_error", f"Unrecognized request URL ({method}: {path})."),
            )
        with self.lock:
            session = self.sessions.get(match.group(1))
            if session is None:
                raise _Refusal(
                    404,
                    _error(
                        "invalid_request_error",
                        f"No such checkout.session: '{match.group(1)}'",
                        code="resource_missing",
                        param="session",
                    ),
                )
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
                self._expire(session)
            elif match.group(2) or method != "GET":
                unknown = f"Unrecognized request URL ({method}: {path})."
                raise _Refusal(404, _error("invalid_request_error", unknown))
            return copy.deepcopy(session)

    def _session_create(self, params: dict) -> dict:
        def invalid(message: str, param: str):
            raise _Refusal(
                400, _error("invalid_request_error", message, code="parameter_invalid", param=param)
            )

        for name in params:
            if name not in SESSION_PARAMETERS:
                raise _Refusal(
                    400,
                    _error(
                        "invalid_request_error",
                        f"Received unknown parameter: {name}",
                        code="parameter_unknown",
                        param=name,
                    ),
                )
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

    # --- Sessions and events ------------------------------------------------------------

    def _payment_intent(self) -> str:
        return "pi_" + secrets.token_hex(12)

    def _customer_details(self, email: str, name: str) -> dict:
        return {"address": None, "email": email, "name": name, "phone": None, "tax_exempt": "none"}

    def _expire_if_due(self, session: dict) -> None:
        if session["status"] == "open" and time.time() >= session["expires_at"]:
            self._expire(session)

    def _expire(self, session: dict) -> None:
        session.update(status="expired", url=None)
        self._event("checkout.session.expired", session)

    def _event(self, kind: str, obj: dict) -> dict:
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        self.events.append(event)
        if self.webhook_url:
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
                if card == CARD_SUCCEEDS:
                    session.update(
                        status="complete",
                        payment_status="paid",
                        url=None,
                        payment_intent=self._payment_intent(),
                        customer_details=self._customer_details(
                            form.get("email", ""), form.get("name", "")
                        ),
                    )
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
