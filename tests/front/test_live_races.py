"""The purchase races of tests/purchases/test_races.py over HTTP, through the real front: one
nginx, two app nodes (gunicorn) sharing PostgreSQL and Redis (tests/front/stack.py).

Supporters sign in through nginx, then post the confirmation form (`POST /orders/confirm/`,
as the page's button does) all at once, released by a barrier (canary/walk.py). nginx
spreads the posts over both nodes, so the locks are tested between processes, not threads of
one process. A 302 to `/orders/<code>/pay/` is an order created; a 200 shows why not. Each race
then checks the database (orders and counters) and that both nodes took order posts.

Every race has its negative control here: the same race against two nodes started with the
test-only settings tests/front/settings_unlocked.py (locks and conditional UPDATEs taken out)
must overshoot, which proves that this harness can see a race across nodes at all.
"""

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.db.models import Sum

from canary.walk import Person, Response, Walk, request, together
from projects.models import Listing, Project, Round, ShopRound
from purchases.models import Order
from purchases.services import PurchaseError
from tests.front.stack import (
    PASSWORD,
    RACE_SETTINGS,
    UNLOCKED_SETTINGS,
    Stack,
    create_people,
    form_token,
    fronts,
    sign_in_everyone,
)
from tests.projects.factories import make_listing, make_project, make_round, make_shop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
]

RACERS = 30
ORDER_FORM = "/orders/confirm/"
PAY_RE = re.compile(r"^/orders/K-[0-9A-Z]+/pay/$")
HIDDEN_INPUT_RE = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
# The refusals a race may end in; the confirmation page shows the sentence of the error.
REFUSALS = ("budget_exhausted", "sold_out", "over_person_round_max")


def refusal_shown(body: str) -> str:
    for code in REFUSALS:
        # The sentence up to its first parameter (the cap's figures differ per case).
        if str(PurchaseError.MESSAGES[code]).split("%(")[0] in body:
            return code
    return ""


def outcome(response: Response) -> str:
    if response.status == 302 and PAY_RE.match(response.header("Location")):
        return "created"
    if response.status == 200 and (code := refusal_shown(response.body)):
        return code
    return f"unexpected {response.status} {response.header('Location')}"


def offer(**project_fields):
    """A shop in a round that is open now (the nodes use the real clock)."""
    project = make_project(**project_fields)
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    return project, round_, shop


@dataclass
class Tab:
    """One browser tab of one person: it opens the confirmation page, then posts its form."""

    person: Person
    form: dict = field(default_factory=dict)


def race(stack: Stack, tabs: list[Tab], *, listing, round_, units: int) -> Counter:
    """Every tab opens the confirmation page, then all post it at the same instant (as at
    9:00, when everyone presses the button the second sales open); returns the outcomes.
    Opening the page first also warms up both nodes: no node loses the race by starting cold."""
    outcomes: Counter = Counter()
    lock = threading.Lock()
    query = urlencode({"listing": listing.pk, "round": round_.pk, "units": units})

    def act(tab: Tab, step: str, _round_no) -> None:
        person = tab.person
        if step == "open":
            page = request(
                stack.port, "GET", f"{ORDER_FORM}?{query}", person.member, client=person.address
            )
            assert page.status == 200, f"the confirmation page answered {page.status}"
            fields = dict(HIDDEN_INPUT_RE.findall(page.body))
            # The form as the page has it: its CSRF token and its own idempotency key.
            tab.form = {
                "csrfmiddlewaretoken": form_token(page.body),
                **{name: fields[name] for name in ("listing", "round", "units", "idempotency_key")},
            }
            return
        response = request(
            stack.port, "POST", ORDER_FORM, person.member, tab.form, client=person.address
        )
        with lock:
            outcomes[outcome(response)] += 1

    together(tabs, ["open", "post"], act)
    return outcomes


def tabs_of(people: list[Person]) -> list[Tab]:
    return [Tab(person) for person in people]


def run(tmp_path, people, tabs: list[Tab], *, unlocked: bool, **order) -> tuple[Counter, Stack]:
    settings_module = UNLOCKED_SETTINGS if unlocked else RACE_SETTINGS
    with fronts(
        tmp_path, settings_module=settings_module, kaika_2021=False, collect_static=False
    ) as stack:
        sign_in_everyone(Walk(stack.port, people, password=PASSWORD))
        outcomes = race(stack, tabs, **order)
    # The nodes have stopped: their logs are complete.
    posts = {node.name: node.count("POST", ORDER_FORM) for node in stack.nodes}
    assert sum(posts.values()) == len(tabs), f"{posts}\n{stack.logs()}"
    assert all(posts.values()), f"a node took no order posts: {posts}\n{stack.logs()}"
    unexpected = {k: n for k, n in outcomes.items() if k.startswith("unexpected")}
    assert not unexpected, f"{dict(outcomes)}\n{stack.logs()}"
    return outcomes, stack


def assert_counters_match_the_orders(project, listing, *, raised_before=0, units_before=0):
    """Every counter a cap is checked on moved by exactly what the orders hold."""
    orders = Order.objects.filter(project=project)
    total = orders.aggregate(amount=Sum("amount"), units=Sum("units"))
    amount, units = total["amount"] or 0, total["units"] or 0
    assert orders.exclude(listing=listing).count() == 0
    assert Project.objects.get(pk=project.pk).amount_raised == raised_before + amount
    assert Round.objects.get(project=project).amount_raised == amount
    shop_round = ShopRound.objects.get(round__project=project)
    assert (shop_round.amount_raised, shop_round.units_sold) == (amount, units)
    assert Listing.objects.get(pk=listing.pk).units_sold == units_before + units


# --- The last part of the budget -----------------------------------------------------------


def budget_race(tmp_path, *, unlocked: bool = False):
    project, round_, shop = offer(total_budget=1_000_000)
    # 10,000 yen left; each of 30 people asks for 3,000: at most 3 fit.
    Project.objects.filter(pk=project.pk).update(amount_raised=990_000)
    people = create_people(RACERS)
    listing = shop.listings.get(is_standard=True)
    outcomes, _stack = run(
        tmp_path,
        people,
        tabs_of(people),
        unlocked=unlocked,
        listing=listing,
        round_=round_,
        units=3,
    )
    sold = Order.objects.filter(project=project).aggregate(n=Sum("amount"))["n"] or 0
    return outcomes, sold, project, listing


def test_supporters_racing_through_two_nodes_for_the_last_of_the_budget_never_overshoot(
    tmp_path,
):
    outcomes, sold, project, listing = budget_race(tmp_path)
    assert outcomes == Counter(created=3, budget_exhausted=RACERS - 3)
    assert sold == 9_000  # three orders: as many as fit, no more
    assert_counters_match_the_orders(project, listing, raised_before=990_000)


def test_negative_control_two_unlocked_nodes_overshoot_the_budget(tmp_path):
    outcomes, sold, _project, _listing = budget_race(tmp_path, unlocked=True)
    assert sold > 10_000, f"the unlocked race did not overshoot: {dict(outcomes)}"


# --- The last units of a limited listing ---------------------------------------------------


def stock_race(tmp_path, *, unlocked: bool = False):
    project, round_, shop = offer()
    listing = make_listing(shop, unit_price=1000, stock_limit=50)
    Listing.objects.filter(pk=listing.pk).update(units_sold=45)
    people = create_people(RACERS)
    outcomes, _stack = run(
        tmp_path,
        people,
        tabs_of(people),
        unlocked=unlocked,
        listing=listing,
        round_=round_,
        units=1,
    )
    return outcomes, Order.objects.filter(listing=listing), project, listing


def test_supporters_racing_through_two_nodes_for_the_last_units_never_oversell(tmp_path):
    outcomes, orders, project, listing = stock_race(tmp_path)
    assert outcomes == Counter(created=5, sold_out=RACERS - 5)
    assert orders.count() == 5  # the five units left, one each: no more
    assert_counters_match_the_orders(project, listing, units_before=45)
    assert Listing.objects.get(pk=listing.pk).units_sold == 50


def test_negative_control_two_unlocked_nodes_oversell_the_last_units(tmp_path):
    outcomes, orders, _project, _listing = stock_race(tmp_path, unlocked=True)
    assert orders.count() > 5, f"the unlocked race did not oversell: {dict(outcomes)}"


# --- One supporter, several tabs, against their own cap -------------------------------------

TABS = 20


def own_cap_race(tmp_path, *, unlocked: bool = False):
    project, round_, shop = offer()
    person = create_people(1)[0]
    listing = shop.listings.get(is_standard=True)
    # 20,000 yen per tab against 100,000 per person per round: at most 5 of 20 tabs fit.
    outcomes, _stack = run(
        tmp_path,
        [person],
        tabs_of([person] * TABS),
        unlocked=unlocked,
        listing=listing,
        round_=round_,
        units=20,
    )
    orders = Order.objects.filter(supporter_id=person.user_id)
    return outcomes, orders.aggregate(n=Sum("amount"))["n"] or 0, project, listing


def test_one_supporter_in_several_tabs_on_two_nodes_never_exceeds_their_own_cap(tmp_path):
    outcomes, held, project, listing = own_cap_race(tmp_path)
    assert outcomes == Counter(created=5, over_person_round_max=TABS - 5)
    assert held == project.max_per_person_per_round == 100_000
    assert_counters_match_the_orders(project, listing)


def test_negative_control_tabs_on_two_unlocked_nodes_exceed_the_cap(tmp_path):
    outcomes, held, _project, _listing = own_cap_race(tmp_path, unlocked=True)
    assert held > 100_000, f"the unlocked race did not overshoot: {dict(outcomes)}"
