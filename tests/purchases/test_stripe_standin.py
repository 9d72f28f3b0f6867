"""The Stripe stand-in itself (tests/stripe_standin.py), driven by the real `stripe` client as
kaika builds it: refunds as Stripe makes them and refuses them, the card whose refunds fail
later, lists paged as the library pages them, and the helpers reconciliation tests lean on
(lost webhooks, payments kaika never asked for). No database: nothing of kaika's runs."""

import time

import pytest
import stripe

from tests.stripe_standin import CARD_REFUND_FAILS, StripeStandIn


@pytest.fixture
def standin():
    with StripeStandIn() as standin:
        yield standin


def client_for(standin: StripeStandIn, timeout: float = 5.0) -> stripe.StripeClient:
    """As purchases.payments.stripe_client builds it."""
    return stripe.StripeClient(
        standin.api_key,
        base_addresses={"api": standin.url},
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=1,
    )


@pytest.fixture
def api(standin) -> stripe.StripeClient:
    return client_for(standin)


def session_params(amount: int = 1000, code: str = "K-TEST") -> dict:
    return {
        "mode": "payment",
        "success_url": "http://testserver/ok",
        "client_reference_id": code,
        "line_items": [
            {
                "price_data": {
                    "currency": "jpy",
                    "unit_amount": amount,
                    "product_data": {"name": "x"},
                },
                "quantity": 1,
            }
        ],
        "metadata": {"order_code": code},
        "payment_intent_data": {"metadata": {"order_code": code}},
    }


def refused(call, *args, **kwargs) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as caught:
        call(*args, **kwargs)
    return caught.value


def new_events(standin: StripeStandIn, since: int) -> list[str]:
    return [e["type"] for e in standin.events[since:]]


# --- Payments ------------------------------------------------------------------------------


def test_a_paid_session_has_its_payment_intent_and_charge(standin, api):
    session = api.v1.checkout.sessions.create(params=session_params(3000, "K-PAID"))
    assert standin.pay(session.id)[0] == 303
    paid = api.v1.checkout.sessions.retrieve(session.id)
    intent = standin.payment_intents[paid.payment_intent]
    assert intent["id"].startswith("pi_")
    assert (intent["amount"], intent["currency"], intent["status"]) == (3000, "jpy", "succeeded")
    assert (intent["metadata"], intent["amount_refunded"]) == ({"order_code": "K-PAID"}, 0)
    charge = standin.charges[intent["latest_charge"]]
    assert charge["id"].startswith("ch_") and charge["payment_intent"] == intent["id"]
    assert (charge["amount"], charge["amount_refunded"], charge["refunded"]) == (3000, 0, False)
    assert charge["metadata"] == {"order_code": "K-PAID"}  # copied from the intent


def test_a_delayed_payment_has_its_intent_succeed_only_when_settled(standin, api):
    session = api.v1.checkout.sessions.create(params=session_params(2000))
    standin.complete_unpaid(session.id)
    intent = standin.payment_intents[standin.sessions[session.id]["payment_intent"]]
    assert (intent["status"], intent["latest_charge"]) == ("requires_action", None)
    error = refused(api.v1.refunds.create, params={"payment_intent": intent["id"]})
    assert (error.http_status, error.code) == (400, "payment_intent_unexpected_state")
    standin.settle(session.id, succeeded=True)
    assert intent["status"] == "succeeded" and intent["latest_charge"] in standin.charges
    assert api.v1.refunds.create(params={"payment_intent": intent["id"]}).amount == 2000


# --- Refunds -------------------------------------------------------------------------------


def test_a_refund_of_a_card_payment_succeeds_at_once_with_its_events(standin, api):
    session = standin.paid_session(order_code="K-R1", amount=3000)
    intent_id = session["payment_intent"]
    since = len(standin.events)
    refund = api.v1.refunds.create(
        params={
            "payment_intent": intent_id,
            "reason": "requested_by_customer",
            "metadata": {"order_code": "K-R1"},
        },
        options={"idempotency_key": "refund-K-R1"},
    )
    assert refund.id.startswith("re_") and refund.object == "refund"
    assert (refund.amount, refund.currency, refund.status) == (3000, "jpy", "succeeded")
    assert refund.payment_intent == intent_id
    assert refund.charge == standin.payment_intents[intent_id]["latest_charge"]
    assert (refund.reason, refund.failure_reason) == ("requested_by_customer", None)
    assert refund.metadata.to_dict() == {"order_code": "K-R1"}
    assert abs(refund.created - time.time()) < 5
    assert api.v1.refunds.retrieve(refund.id).to_dict() == refund.to_dict()

    assert new_events(standin, since) == ["refund.created", "charge.refunded"]
    created, refunded = standin.events[since:]
    assert created["data"]["object"] == refund.to_dict()
    charge = refunded["data"]["object"]
    assert (charge["object"], charge["amount_refunded"], charge["refunded"]) == (
        "charge",
        3000,
        True,
    )
    assert charge["payment_intent"] == intent_id
    assert charge["metadata"] == {"order_code": "K-R1"}
    # Stripe names the API request that made them; the library verifies their signature.
    assert created["request"]["idempotency_key"] == "refund-K-R1"
    assert created["request"]["id"].startswith("req_")
    for event in (created, refunded):
        verified = stripe.Webhook.construct_event(*standin.delivery(event), standin.webhook_secret)
        assert verified.id == event["id"]
    assert standin.payment_intents[intent_id]["amount_refunded"] == 3000


def test_a_partial_refund_then_the_rest_then_nothing_left(standin, api):
    intent_id = standin.paid_session(order_code="K-R2", amount=3000)["payment_intent"]
    first = api.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1000})
    charge = standin.events[-1]["data"]["object"]
    assert (first.amount, charge["amount_refunded"], charge["refunded"]) == (1000, 1000, False)
    rest = api.v1.refunds.create(params={"charge": first.charge})  # by charge, all that is left
    charge = standin.events[-1]["data"]["object"]
    assert (rest.amount, charge["amount_refunded"], charge["refunded"]) == (2000, 3000, True)
    since = len(standin.events)
    error = refused(api.v1.refunds.create, params={"payment_intent": intent_id})
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.code) == (400, "charge_already_refunded")
    assert len(standin.refunds) == 2 and len(standin.events) == since


@pytest.mark.parametrize("already", [0, 1000])
def test_more_than_is_left_is_refused_with_amount_too_large(standin, api, already):
    intent_id = standin.paid_session(amount=3000)["payment_intent"]
    if already:
        api.v1.refunds.create(params={"payment_intent": intent_id, "amount": already})
    error = refused(
        api.v1.refunds.create, params={"payment_intent": intent_id, "amount": 3001 - already}
    )
    assert (error.http_status, error.code, error.param) == (400, "amount_too_large", "amount")
    assert standin.payment_intents[intent_id]["amount_refunded"] == already
    for amount in (0, -5):
        error = refused(
            api.v1.refunds.create, params={"payment_intent": intent_id, "amount": amount}
        )
        assert (error.code, error.param) == ("parameter_invalid_integer", "amount")


def test_a_refund_of_nothing_known_is_refused(standin, api):
    error = refused(api.v1.refunds.create, params={"payment_intent": "pi_nosuch"})
    # An object named by a parameter: 400 (404 is for the object of the URL).
    assert (error.http_status, error.code, error.param) == (
        400,
        "resource_missing",
        "payment_intent",
    )
    assert "No such payment_intent: 'pi_nosuch'" in error.user_message
    error = refused(api.v1.refunds.create, params={"charge": "ch_nosuch"})
    assert (error.code, error.param) == ("resource_missing", "charge")
    error = refused(api.v1.refunds.retrieve, "re_nosuch")
    assert (error.http_status, error.code) == (404, "resource_missing")
    error = refused(api.v1.refunds.create, params={"amount": 100})
    assert (error.code, error.param) == ("parameter_missing", "payment_intent")


def test_refund_parameters_are_checked_against_stripes(standin, api):
    intent_id = standin.paid_session(amount=3000)["payment_intent"]
    error = refused(api.v1.refunds.create, params={"payment_intent": intent_id, "amont": 10})
    assert (error.code, error.param) == ("parameter_unknown", "amont")
    error = refused(api.v1.refunds.create, params={"payment_intent": intent_id, "reason": "x"})
    assert (error.http_status, error.param) == (400, "reason")
    assert standin.refunds == {}


def test_a_refund_retried_with_its_key_is_the_same_refund(standin):
    intent_id = standin.paid_session(amount=3000)["payment_intent"]
    # The answer to the first try is lost (the client gives up); the library's retry with
    # the same key gets that refund, not a second one.
    standin.slow_seconds = 1.5
    standin.fail_next("timeout")
    api = client_for(standin, timeout=0.5)
    params = {"payment_intent": intent_id, "amount": 1000}
    options = {"idempotency_key": "refund-once"}
    refund = api.v1.refunds.create(params=params, options=options)
    again = api.v1.refunds.create(params=params, options=options)
    assert again.id == refund.id and list(standin.refunds) == [refund.id]
    assert [r["key"] for r in standin.requests] == ["refund-once"] * 3
    assert new_events(standin, 0).count("refund.created") == 1
    with pytest.raises(stripe.IdempotencyError):
        api.v1.refunds.create(params={**params, "amount": 2000}, options=options)
    assert standin.payment_intents[intent_id]["amount_refunded"] == 1000


def test_a_refund_made_in_the_dashboard_is_the_same_as_the_apis(standin, api):
    session = standin.paid_session(order_code="K-DASH", amount=3000)
    since = len(standin.events)
    event = standin.refund(session["id"], amount=1000)
    assert new_events(standin, since) == ["refund.created", "charge.refunded"]
    assert event is standin.events[-1] and event["data"]["object"]["amount_refunded"] == 1000
    assert event["request"] == {"id": None, "idempotency_key": None}
    (refund,) = standin.refunds.values()
    assert (refund["amount"], refund["payment_intent"]) == (1000, session["payment_intent"])
    assert api.v1.refunds.create(params={"payment_intent": refund["payment_intent"]}).amount == 2000
    with pytest.raises(ValueError, match="already been refunded"):
        standin.refund(session["id"])


# --- 4000 0000 0000 5126: refunds that fail later --------------------------------------------


def test_a_refund_of_the_5126_card_succeeds_then_fails_with_its_event(standin, api):
    intent_id = standin.paid_session(amount=3000, card=CARD_REFUND_FAILS)["payment_intent"]
    refund = api.v1.refunds.create(params={"payment_intent": intent_id})
    assert (refund.status, refund.failure_reason) == ("succeeded", None)  # as Stripe says
    assert standin.payment_intents[intent_id]["amount_refunded"] == 3000
    since = len(standin.events)
    events = standin.fail_refunds()
    assert [e["type"] for e in events] == ["refund.updated", "refund.failed"]
    assert new_events(standin, since) == ["refund.updated", "refund.failed"]
    updated, failed = events
    assert updated["data"]["previous_attributes"]["status"] == "succeeded"
    failed_refund = failed["data"]["object"]
    assert (failed_refund["id"], failed_refund["status"], failed_refund["failure_reason"]) == (
        refund.id,
        "failed",
        "expired_or_canceled_card",
    )
    fetched = api.v1.refunds.retrieve(refund.id)
    assert (fetched.status, fetched.failure_reason) == ("failed", "expired_or_canceled_card")
    # The money was not returned: the payment can be refunded again.
    charge = standin.charges[refund.charge]
    assert (charge["amount_refunded"], charge["refunded"]) == (0, False)
    assert standin.payment_intents[intent_id]["amount_refunded"] == 0
    assert standin.fail_refunds() == []
    again = api.v1.refunds.create(params={"payment_intent": intent_id, "amount": 500})
    assert again.status == "succeeded" and standin.refunds_to_fail == [again.id]


def test_a_refund_of_the_5126_card_can_fail_by_itself_a_moment_later(standin, api):
    standin.refunds_fail_after = 0.2
    intent_id = standin.paid_session(amount=3000, card=CARD_REFUND_FAILS)["payment_intent"]
    refund = api.v1.refunds.create(params={"payment_intent": intent_id})
    assert refund.status == "succeeded"
    deadline = time.monotonic() + 5
    while api.v1.refunds.retrieve(refund.id).status != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert new_events(standin, 0)[-1] == "refund.failed"


def test_a_refund_of_an_ordinary_card_never_fails(standin, api):
    intent_id = standin.paid_session(amount=3000)["payment_intent"]
    refund = api.v1.refunds.create(params={"payment_intent": intent_id})
    assert standin.fail_refunds() == []
    assert api.v1.refunds.retrieve(refund.id).status == "succeeded"


# --- Helpers for reconciliation ---------------------------------------------------------------


def test_lost_events_are_recorded_but_never_sent(standin, api):
    with standin.lose_events():
        session = standin.paid_session(order_code="K-LOST")
        api.v1.refunds.create(params={"payment_intent": session["payment_intent"]})
    kinds = ["checkout.session.completed", "refund.created", "charge.refunded"]
    assert [e["type"] for e in standin.events] == kinds
    assert standin.lost == standin.events and standin.outbox == []
    session = standin.paid_session(order_code="K-FOUND")
    assert [e["type"] for e in standin.outbox] == ["checkout.session.completed"]


def test_a_paid_session_kaika_never_made_is_like_its_own(standin, api):
    session = standin.paid_session(order_code="K-ORPHAN", amount=4500)
    assert standin.requests == []  # nothing was asked through the API
    assert (session["status"], session["payment_status"]) == ("complete", "paid")
    assert (session["client_reference_id"], session["amount_total"]) == ("K-ORPHAN", 4500)
    assert session["metadata"] == {"order_code": "K-ORPHAN"}
    intent = standin.payment_intents[session["payment_intent"]]
    assert (intent["metadata"], intent["amount"]) == ({"order_code": "K-ORPHAN"}, 4500)
    (found,) = api.v1.checkout.sessions.list(params={"payment_intent": intent["id"]}).data
    assert found.id == session["id"]
    # One that is nobody's: no code, other metadata.
    stranger = standin.paid_session(metadata={"source": "payment_link"})
    assert stranger["client_reference_id"] is None
    assert standin.payment_intents[stranger["payment_intent"]]["metadata"] == {
        "source": "payment_link"
    }


# --- Listing sessions ----------------------------------------------------------------------


def test_sessions_are_listed_newest_first_page_by_page(standin, api):
    made = [api.v1.checkout.sessions.create(params=session_params()).id for _ in range(25)]
    before = len(standin.requests)
    listed = [s.id for s in api.v1.checkout.sessions.list(params={"limit": 10}).auto_paging_iter()]
    assert listed == made[::-1]  # each once, newest first
    pages = standin.requests[before:]
    assert [r["method"] for r in pages] == ["GET"] * 3
    assert [r["params"].get("starting_after") for r in pages] == [None, made[15], made[5]]
    first = api.v1.checkout.sessions.list()
    assert len(first.data) == 10 and first.has_more and first.url == "/v1/checkout/sessions"
    # Backwards from a cursor: the page just before it, still newest first.
    page = api.v1.checkout.sessions.list(params={"ending_before": made[5], "limit": 3})
    assert [s.id for s in page.data] == [made[8], made[7], made[6]] and page.has_more
    backwards = api.v1.checkout.sessions.list(params={"ending_before": made[5], "limit": 3})
    assert [s.id for s in backwards.auto_paging_iter()] == made[6:]
    last = api.v1.checkout.sessions.list(params={"starting_after": made[3]})
    assert [s.id for s in last.data] == [made[2], made[1], made[0]] and not last.has_more


def test_sessions_are_filtered_by_creation_status_and_payment(standin, api):
    made = [api.v1.checkout.sessions.create(params=session_params()).id for _ in range(6)]
    for i, session_id in enumerate(made):  # one a minute, from a fixed time
        standin.sessions[session_id]["created"] = 1_800_000_000 + 60 * i
    standin.pay(made[1])
    standin.pay(made[4])

    def ids(**params):
        listing = api.v1.checkout.sessions.list(params=params)
        return [s.id for s in listing.auto_paging_iter()]

    assert ids(created={"gte": 1_800_000_120, "lt": 1_800_000_300}) == made[4:1:-1]
    assert ids(created={"gt": 1_800_000_120}) == made[:2:-1]
    assert ids(created={"lte": 1_800_000_060}) == [made[1], made[0]]
    assert ids(created=1_800_000_180) == [made[3]]
    assert ids(created={"gte": 1_800_000_000}, limit=2) == made[::-1]
    assert ids(status="complete") == [made[4], made[1]]
    assert ids(status="open", limit=1) == [made[5], made[3], made[2], made[0]]
    intent = standin.sessions[made[4]]["payment_intent"]
    assert ids(payment_intent=intent) == [made[4]]
    assert ids(payment_intent="pi_nosuch") == []


def test_list_parameters_are_checked_against_stripes(standin, api):
    made = api.v1.checkout.sessions.create(params=session_params()).id
    for params, code, param in [
        ({"order_code": "K-1"}, "parameter_unknown", "order_code"),
        ({"created": {"since": 1}}, "parameter_unknown", "created[since]"),
        ({"limit": 0}, None, "limit"),
        ({"limit": 101}, None, "limit"),
        ({"status": "paid"}, None, "status"),
        ({"starting_after": "cs_test_nosuch"}, "resource_missing", "starting_after"),
        ({"starting_after": made, "ending_before": made}, "parameters_exclusive", "ending_before"),
    ]:
        error = refused(api.v1.checkout.sessions.list, params=params)
        assert isinstance(error, stripe.InvalidRequestError), params
        assert (error.http_status, error.code, error.param) == (400, code, param), params
    assert len(api.v1.checkout.sessions.list(params={"limit": 100}).data) == 1
