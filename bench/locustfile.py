"""Logged-in load for `make bench` (run headless by bench/run.py, one user class per phase).

    BareUser        GET /bench/bare/         the floor: same gunicorn and middleware, no page
    MyPageUser      GET /mypage/             every body must hold its own marker and no other
    LoginUser       POST /accounts/login/    Argon2id supporters (the configured hasher)
    Pbkdf2LoginUser POST /accounts/login/    supporters whose stored hash is Django's PBKDF2
    WaveUser        POST /orders/confirm/    the purchase wave at the opening second (after
                                             reloading the round's public page until it opens)
    PaymentUser     GET/POST, 3 requests     then paying each order the wave created, through
                                             the sandbox provider's card page

Environment: BENCH_DATA (the JSON from bench/setup_data.py), BENCH_RESULT (where the counters
of this run are written at the end). Cookies are sent by hand on every request and the client's
cookie jar is emptied first: each simulated supporter is exactly one person, never a mix.
"""

import itertools
import json
import os
import random
import re
import secrets
import time
from collections import Counter, defaultdict

from locust import FastHttpUser, constant, events, task

DATA = json.load(open(os.environ["BENCH_DATA"], encoding="utf-8"))
RESULT = os.environ.get("BENCH_RESULT", "")
MARKER_RE = re.compile(r"ベンチ(\d{5})号")

PEOPLE = DATA["people"]
_person_seq = itertools.count()
_argon2_seq = itertools.cycle(DATA["login_argon2"])
_pbkdf2_iter = iter(DATA["login_pbkdf2"])

statuses: Counter = Counter()  # (name, status)
times: dict[str, list[float]] = defaultdict(list)  # name -> response times (ms)
finished: dict[str, list[float]] = defaultdict(list)  # name -> wall-clock end times (s)
outcomes: Counter = Counter()
findings: list[str] = []
started_at: list[float] = []


def next_person() -> dict:
    return PEOPLE[next(_person_seq) % len(PEOPLE)]


@events.request.add_listener
def on_request(request_type, name, response_time, response, exception, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    statuses[(name, status)] += 1
    times[name].append(response_time)
    finished[name].append(time.time())


@events.test_start.add_listener
def on_start(**kwargs):
    started_at.append(time.time())


@events.test_stop.add_listener
def on_stop(**kwargs):
    if not RESULT:
        return
    with open(RESULT, "w", encoding="utf-8") as f:
        json.dump(
            {
                "started_at": started_at[0] if started_at else None,
                "statuses": [[n, s, c] for (n, s), c in statuses.items()],
                "times": times,
                "finished": finished,
                "outcomes": outcomes,
                "findings": findings[:50],
                "findings_total": len(findings),
                "created_orders": created_orders,
            },
            f,
        )


def check_markers(person: dict, body: str, page: str, *, must_show: bool) -> None:
    """The 2021 check: a page for one supporter shows that supporter and nobody else."""
    seen = {int(m) for m in MARKER_RE.findall(body)}
    foreign = seen - {person["i"]}
    outcomes[f"{page}: bodies checked"] += 1
    if foreign:
        outcomes[f"{page}: LEAK"] += 1
        findings.append(f"{page}: supporter {person['i']} was shown {sorted(foreign)[:5]}")
    if must_show and person["i"] not in seen:
        outcomes[f"{page}: own marker missing"] += 1
        findings.append(f"{page}: supporter {person['i']}'s own marker is missing")


class SupporterUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    # Connection reuse as a browser does (keep-alive to nginx).
    concurrency = 1

    def cookie(self, person: dict) -> str:
        return f"sessionid={person['session']}; csrftoken={person['csrf']}"

    def send(self, method: str, path: str, *, name: str, cookie: str = "", data=None):
        self.client.cookiejar.clear()
        headers = {"Cookie": cookie} if cookie else {}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.client.request(
            method, path, name=name, data=data, headers=headers, allow_redirects=False
        )


class BareUser(SupporterUser):
    def on_start(self):
        self.person = next_person()

    @task
    def bare(self):
        response = self.send(
            "GET", "/bench/bare/", name="bare view", cookie=self.cookie(self.person)
        )
        if response.status_code == 200 and response.text != f"ok {self.person['id']}":
            outcomes["bare: LEAK"] += 1
            findings.append(f"bare: supporter {self.person['i']} got {response.text[:40]!r}")


class MyPageUser(SupporterUser):
    def on_start(self):
        self.person = next_person()

    @task
    def mypage(self):
        response = self.send("GET", "/mypage/", name="My page", cookie=self.cookie(self.person))
        if response.status_code == 200:
            check_markers(self.person, response.text, "My page", must_show=True)


def login_form(email: str, csrf: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"csrfmiddlewaretoken": csrf, "login": email, "password": DATA["password"]})


class LoginUser(SupporterUser):
    name = "login (Argon2id)"

    def next_email(self):
        return next(_argon2_seq)

    @task
    def login(self):
        email = self.next_email()
        if email is None:
            time.sleep(0.5)
            return
        csrf = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(32))
        response = self.send(
            "POST",
            "/accounts/login/",
            name=self.name,
            cookie=f"csrftoken={csrf}",
            data=login_form(email, csrf),
        )
        location = response.headers.get("location", "") if response.headers else ""
        if response.status_code == 302 and location.endswith("/mypage/"):
            outcomes[f"{self.name}: logged in"] += 1
        else:
            outcomes[f"{self.name}: refused ({response.status_code})"] += 1


class Pbkdf2LoginUser(LoginUser):
    name = "login (PBKDF2, Django default)"

    def next_email(self):
        return next(_pbkdf2_iter, None)


# --- The purchase wave ---------------------------------------------------------------------

NOT_OPEN = "まだ募集開始前です"
BUDGET_GONE = "予算の上限に達したため"
PERSON_CAP = "お一人様1期あたり"
ROUND_OPEN = "status-open"  # the round page's status badge once the round is open
created_orders: list[list] = []  # [supporter index, order pay path], for the payment phase
held: Counter = Counter()  # supporter index -> yen their orders hold (as My page shows it)


class WaveUser(SupporterUser):
    """A supporter at 9:00: reloads the round's public page (served by the microcache) until
    it says the round is open, then posts the confirmation form, again and again, until their
    personal cap is filled or the budget says no; then the next supporter takes this seat.
    Payment comes after, in its own phase (PaymentUser): the card is typed on the provider's
    page, which takes people longer than the budget lasts."""

    def on_start(self):
        self.person = next_person()
        self.open = False

    def units(self) -> int:
        """15 to 20 units of ¥1,000 (at most ¥20,000 per application), or what is left of
        the supporter's ¥100,000 for the round: the confirmation page shows what they hold,
        so the last application fills the cap exactly (the boundary, every time)."""
        left = (DATA["max_per_person_per_round"] - held[self.person["i"]]) // 1000
        return min(random.randint(15, 20), left)

    def order_form(self, units: int) -> str:
        from urllib.parse import urlencode

        return urlencode(
            {
                "csrfmiddlewaretoken": self.person["csrf"],
                "listing": random.choice(DATA["listing_ids"]),
                "round": DATA["round_id"],
                "units": units,
                "idempotency_key": secrets.token_urlsafe(24),
            }
        )

    @task
    def apply(self):
        if not self.open:
            page = self.send("GET", DATA["round_path"], name="wave: GET round page (public)")
            if ROUND_OPEN in (page.text or ""):
                self.open = True
            else:
                outcomes["round page: not open yet"] += 1
                time.sleep(0.5)  # reloading, as people do before 9:00
                return
        units = self.units()
        if units < 1:
            outcomes["supporter at their cap: next one"] += 1
            self.person = next_person()
            return
        cookie = self.cookie(self.person)
        response = self.send(
            "POST",
            "/orders/confirm/",
            name="wave: POST confirm",
            cookie=cookie,
            data=self.order_form(units),
        )
        status = response.status_code
        if status == 302 and "/pay/" in (response.headers.get("location") or ""):
            outcomes["order created"] += 1
            held[self.person["i"]] += units * 1000
            created_orders.append([self.person["i"], response.headers["location"]])
            return
        if status != 200:
            outcomes[f"confirm answered {status}"] += 1
            time.sleep(0.2)
            return
        body = response.text
        check_markers(self.person, body, "confirmation page", must_show=True)
        if NOT_OPEN in body:
            # The cached round page said open a moment before the round row did.
            outcomes["refused: not open yet"] += 1
            time.sleep(0.25)
        elif BUDGET_GONE in body:
            outcomes["refused: budget exhausted"] += 1
            time.sleep(1.0)
            self.person = next_person()
        elif PERSON_CAP in body:
            outcomes["refused: personal cap"] += 1
            self.person = next_person()
        else:
            outcomes["refused: other"] += 1
            findings.append(f"wave: unexpected page for {self.person['i']}: {body[:0]}")
            self.person = next_person()


_to_pay = iter(DATA.get("orders_to_pay", []))


class PaymentUser(SupporterUser):
    """After the wave: each order it created is paid through the sandbox provider's hosted
    card page, as a browser does (our site -> provider -> signed return to our site)."""

    @task
    def pay_next(self):
        try:
            index, pay_path = next(_to_pay)
        except StopIteration:
            time.sleep(0.5)
            return
        person = PEOPLE[index]
        cookie = self.cookie(person)
        to_provider = self.send("GET", pay_path, name="pay: GET order pay", cookie=cookie)
        checkout = to_provider.headers.get("location") if to_provider.headers else None
        if to_provider.status_code != 302 or not checkout:
            outcomes["payment: no redirect to provider"] += 1
            return
        # ... the card is typed there (the sandbox's test card), and it sends the browser back.
        from urllib.parse import urlencode

        card = urlencode(
            {
                "csrfmiddlewaretoken": person["csrf"],
                "card_number": "4242424242424242",
                "expiry": "12/30",
                "cvc": "123",
            }
        )
        result = self.send(
            "POST", checkout, name="pay: POST sandbox card", cookie=cookie, data=card
        )
        back = result.headers.get("location") if result.headers else None
        if result.status_code != 302 or not back:
            outcomes["payment: provider refused"] += 1
            return
        done = self.send("GET", back, name="pay: GET return", cookie=cookie)
        if done.status_code == 302:
            outcomes["order paid"] += 1
        else:
            outcomes[f"payment: return answered {done.status_code}"] += 1
