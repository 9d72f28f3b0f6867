"""What a leak is, and the walk that looks for one: many people at the same second on every
per-user page, each with unique markers in every personal field, every response inspected for
another person's markers or session cookie and for having come from the shared cache.

The pre-launch canary walks a real front with it; the live leak test walks the project's nginx
and a 2021-style one, so the two can never disagree about what a leak is.
"""

import http.client
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

SESSION_COOKIE = "sessionid"
# Any of these means the body came out of the shared cache rather than from the app.
FROM_CACHE = {"HIT", "STALE", "UPDATING", "REVALIDATED"}
KANA_DIGITS = "アイウエオカキクケコ"
ALL_KINDS = ("name", "kana", "email", "address", "phone")


# --- People ----------------------------------------------------------------------------------


def kana_number(n: int) -> str:
    return "".join(KANA_DIGITS[int(d)] for d in f"{n:03d}")


@dataclass
class Person:
    index: int
    user_id: int = 0
    # Cookie jars: the signed-in browser, and a browser that has only fetched a form.
    member: dict[str, str] = field(default_factory=dict)
    visitor: dict[str, str] = field(default_factory=dict)

    # Fixed width with fixed letters around the number: no marker contains another's.
    @property
    def markers(self) -> dict[str, str]:
        i = self.index
        return {
            "name": f"試験{i:03d}号",
            "kana": f"リーク{kana_number(i)}ン",
            "email": f"leak{i:03d}x",
            "address": f"漏洩町{i:03d}番地",
            "phone": f"0907{i:03d}4321",
        }

    @property
    def address(self) -> str:
        """Where this person's browser is: one address each, as for real people at 9:00."""
        return f"10.0.{self.index // 250}.{self.index % 250 + 1}"

    @property
    def email(self) -> str:
        return f"{self.markers['email']}@example.jp"

    @property
    def profile(self) -> dict[str, str]:
        """Form data that writes this person's profile exactly as it is stored."""
        return {
            "family_name": "漏洩",
            "given_name": self.markers["name"],
            "family_name_kana": "ロウエイ",
            "given_name_kana": self.markers["kana"],
            "birth_date": "1990-05-17",
            "gender": "female",
            "occupation": "employee",
            "company_name": "",
            "postal_code": "7530001",
            "prefecture": "35",
            "city": "山口市",
            "street_address": self.markers["address"],
            "building": "",
            "phone": self.markers["phone"],
        }


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def cookies(self) -> dict[str, str | None]:
        """Cookies set by this response; None for a cookie it deletes."""
        found: dict[str, str | None] = {}
        for name, value in self.headers:
            if name.lower() != "set-cookie":
                continue
            jar = SimpleCookie()
            jar.load(value)
            for key, morsel in jar.items():
                deleted = not morsel.value or morsel["max-age"] == "0"
                found[key] = None if deleted else morsel.value
        return found


def request(
    port: int, method: str, path: str, jar: dict[str, str], data=None, *, client: str = ""
) -> Response:
    """One request on a fresh connection, the way a browser tab would send it. `client` is the
    browser's address as a CDN in front of nginx reports it (X-Forwarded-For)."""
    origin = f"http://127.0.0.1:{port}"
    headers = {"Host": f"127.0.0.1:{port}", "User-Agent": "kaika-live-leak-test"}
    if client:
        headers["X-Forwarded-For"] = client
    if jar:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    body = None
    if data is not None:
        body = urlencode(data).encode()
        headers.update(
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": origin + path,
            }
        )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        raw = connection.getresponse()
        return Response(raw.status, raw.getheaders(), raw.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def apply_cookies(jar: dict[str, str], response: Response) -> None:
    # As a browser does: whatever the response sets, this browser now sends.
    for name, value in response.cookies().items():
        if value is None:
            jar.pop(name, None)
        else:
            jar[name] = value


# --- Findings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # "foreign data", "foreign session", "from cache", "own data missing", ...
    person: int
    page: str
    step: str
    detail: str
    request_id: str

    def __str__(self) -> str:
        return (
            f"{self.kind}: person {self.person}, {self.page} / {self.step}: {self.detail} "
            f"(rid={self.request_id or '-'})"
        )


class Walk:
    """The people, the front they walk through (an nginx, or a CDN's origin) and what was found."""

    def __init__(self, port: int, people: list[Person], *, password: str):
        self.port = port
        self.people = people
        self.password = password  # every person's, for the login and signup pages
        owner_of = {m: (p.index, kind) for p in people for kind, m in p.markers.items()}
        self.owner_of = owner_of
        self.marker_re = re.compile("|".join(map(re.escape, sorted(owner_of, key=len)[::-1])))
        self.findings: list[Finding] = []
        self.owners: dict[tuple[str, str], int] = {}
        self.signed_in: list[tuple[int, str]] = []  # (person, session key) from logins
        self.cache_statuses: Counter = Counter()
        self.requests = 0
        self.lock = threading.Lock()
        # The purchase confirmation of a listing on sale now; "" skips that page.
        self.purchase_confirmation_path = ""

    def claim(self, what: str, value: str, person: int) -> int:
        """Who holds this session key or reference: the first person it was handed to."""
        with self.lock:
            return self.owners.setdefault((what, value), person)

    def claim_session(self, key: str, person: int) -> int:
        return self.claim("session", key, person)

    def report(self, finding: Finding) -> None:
        with self.lock:
            self.findings.append(finding)

    def kinds(self) -> Counter:
        return Counter(f.kind for f in self.findings)

    def summary(self, limit: int = 25) -> str:
        lines = [f"{len(self.findings)} findings in {self.requests} requests: {dict(self.kinds())}"]
        lines += [f"  {f}" for f in self.findings[:limit]]
        return "\n".join(lines)


class Visit:
    """One person on one page in one round; every response it gets is inspected."""

    def __init__(self, walk: Walk, person: Person, page: "Page", round_no: int):
        self.walk = walk
        self.person = person
        self.page = page
        self.round_no = round_no

    def get(self, path, jar, *, status, shows=(), location=None, signs_in=False) -> Response:
        return self.send("GET", path, jar, None, status, shows, location, signs_in)

    def owns(self, what: str, value: str, response: Response) -> None:
        """`value` (an inquiry reference...) shown to this person was never shown to another."""
        owner = self.walk.claim(what, value, self.person.index)
        if owner != self.person.index:
            self.walk.report(
                Finding(
                    "foreign data",
                    self.person.index,
                    self.page.name,
                    what,
                    f"shows person {owner}'s {what} {value}",
                    response.header("X-Request-ID"),
                )
            )

    def post(self, path, jar, data, *, status, shows=(), location=None, signs_in=False):
        # The token a browser's form would carry; taken from the jar so that a POST stays
        # valid even when a broken cache hands this browser someone else's form.
        data = {"csrfmiddlewaretoken": jar.get("csrftoken", ""), **data}
        return self.send("POST", path, jar, data, status, shows, location, signs_in)

    def send(self, method, path, jar, data, status, shows, location, signs_in) -> Response:
        step = f"{method} {path}"
        response = request(self.walk.port, method, path, jar, data, client=self.person.address)
        with self.walk.lock:
            self.walk.requests += 1
            self.walk.cache_statuses[response.header("X-Cache-Status") or "-"] += 1
        rid = response.header("X-Request-ID")

        def found(kind: str, detail: str) -> None:
            self.walk.report(Finding(kind, self.person.index, self.page.name, step, detail, rid))

        me = self.person.index
        foreign = {
            (owner, kind)
            for match in self.walk.marker_re.findall(response.body)
            for owner, kind in [self.walk.owner_of[match]]
            if owner != me
        }
        for owner, kind in sorted(foreign):
            found("foreign data", f"shows person {owner}'s {kind}")
        missing = [kind for kind in shows if self.person.markers[kind] not in response.body]
        if missing:
            found("own data missing", f"does not show own {', '.join(missing)}")

        cache_status = response.header("X-Cache-Status")
        if not self.page.public and cache_status.upper() in FROM_CACHE:
            found("from cache", f"X-Cache-Status: {cache_status}")

        if response.status != status or (location and response.header("Location") != location):
            got = f"{response.status} {response.header('Location')}"
            found("unexpected response", f"{got} (wanted {status} {location or ''})")

        session_key = response.cookies().get(SESSION_COOKIE)
        if session_key:
            owner = self.walk.claim_session(session_key, me)
            if owner != me:
                found("foreign session", f"was handed person {owner}'s session cookie")
            elif signs_in:
                with self.walk.lock:
                    self.walk.signed_in.append((me, session_key))
        elif signs_in:
            found("unexpected response", "a login that set no session cookie")

        apply_cookies(jar, response)
        return response


@dataclass(frozen=True)
class Page:
    name: str
    visit: Callable[[Visit], None]
    # A public page is the same for everyone: served from the cache is its purpose.
    public: bool = False


# --- The per-user pages ------------------------------------------------------------------------


def my_page(v: Visit) -> None:
    v.get("/mypage/", v.person.member, status=200, shows=ALL_KINDS)


def profile_edit(v: Visit) -> None:
    # The form holds everything but the email address.
    shows = ("name", "kana", "address", "phone")
    v.get("/mypage/profile/", v.person.member, status=200, shows=shows)


def profile_update(v: Visit) -> None:
    jar = v.person.member
    v.post("/mypage/profile/", jar, v.person.profile, status=302, location="/mypage/")
    v.get("/mypage/", jar, status=200, shows=ALL_KINDS)


def login(v: Visit) -> None:
    jar = dict(v.person.visitor)  # a browser that is not signed in yet
    credentials = {"login": v.person.email, "password": v.walk.password}
    v.post("/accounts/login/", jar, credentials, status=302, location="/mypage/", signs_in=True)
    v.get("/mypage/", jar, status=200, shows=ALL_KINDS)


def failed_login(v: Visit) -> None:
    # 2021: the address typed into a failed login was shown to someone else.
    credentials = {"login": v.person.email, "password": "not-the-password"}
    v.post("/accounts/login/", dict(v.person.visitor), credentials, status=200, shows=("email",))


def signup_data(v: Visit, email: str, password2: str) -> dict[str, str]:
    password1 = v.walk.password
    # Consent to the terms is required at signup, as a person ticks it.
    return {
        "email": email,
        "password1": password1,
        "password2": password2,
        **v.person.profile,
        "terms_agreed": "on",
    }


def signup_rejected(v: Visit) -> None:
    # The form comes back with everything typed into it.
    email = f"{v.person.markers['email']}.r{v.round_no}@example.jp"
    data = signup_data(v, email, password2="a-different-password-2026")
    v.post("/accounts/signup/", dict(v.person.visitor), data, status=200, shows=ALL_KINDS)


def signup(v: Visit) -> None:
    jar = dict(v.person.visitor)
    email = f"{v.person.markers['email']}.s{v.round_no}@example.jp"
    data = signup_data(v, email, password2=v.walk.password)
    v.post("/accounts/signup/", jar, data, status=302, location="/accounts/confirm-email/")
    v.get("/accounts/confirm-email/", jar, status=200)


def contact_form(v: Visit) -> None:
    # Filled in from the signed-in person's profile.
    v.get("/contact/", v.person.member, status=200, shows=("name", "email"))


REFERENCE_RE = re.compile(r"Q-[A-Z2-7]{8}")


def contact_completion(v: Visit) -> None:
    jar = v.person.member
    markers = v.person.markers
    data = {
        "name": f"漏洩 {markers['name']}",
        "email": v.person.email,
        "category": "tickets",
        "subject": "チケットについて",
        "body": f"{markers['address']}に住んでいます。電話は{markers['phone']}です。",
        "website": "",
    }
    v.post("/contact/", jar, data, status=302, location="/contact/sent/")
    sent = v.get("/contact/sent/", jar, status=200)
    # The completion page shows only the inquiry's reference: it must be this person's.
    references = REFERENCE_RE.findall(sent.body)
    if not references:
        v.walk.report(
            Finding(
                "own data missing",
                v.person.index,
                v.page.name,
                "GET /contact/sent/",
                "no inquiry reference",
                sent.header("X-Request-ID"),
            )
        )
    for reference in set(references):
        v.owns("inquiry reference", reference, sent)


IDEMPOTENCY_KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"')


def purchase_confirmation(v: Visit) -> None:
    # At 9:00 everyone opens this page for the same listing at the same second: it shows the
    # person's name, kana, address and email, and a fresh idempotency key that must be theirs.
    shows = ("name", "kana", "address", "email")
    if not v.walk.purchase_confirmation_path:
        return  # nothing on sale (the canary before the first opening)
    page = v.get(v.walk.purchase_confirmation_path, v.person.member, status=200, shows=shows)
    for key in set(IDEMPOTENCY_KEY_RE.findall(page.body)):
        v.owns("idempotency key", key, page)


PER_USER_PAGES = [
    Page("my page", my_page),
    Page("profile edit", profile_edit),
    Page("profile update", profile_update),
    Page("login", login),
    Page("failed login", failed_login),
    Page("signup rejected", signup_rejected),
    Page("signup", signup),
    Page("contact form", contact_form),
    Page("contact completion", contact_completion),
    Page("purchase confirmation", purchase_confirmation),
]

PUBLIC_PATHS = ["/", "/en/"]


# --- Running it ------------------------------------------------------------------------------


def together(people: list[Person], rounds: list, act: Callable[[Person, object, int], None]):
    """Every person acts in every round; each round starts for all at the same instant."""
    barrier = threading.Barrier(len(people), timeout=120)
    errors: list[BaseException] = []

    def run(person: Person) -> None:
        for round_no, item in enumerate(rounds):
            barrier.wait()
            try:
                act(person, item, round_no)
            except Exception as exc:  # keep meeting the barrier; report afterwards
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,), daemon=True) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise AssertionError(f"{len(errors)} requests failed; first: {errors[0]!r}")


def walk_per_user_pages(walk: Walk, passes: int) -> None:
    rounds = [page for _ in range(passes) for page in PER_USER_PAGES]

    def act(person: Person, page: Page, round_no: int) -> None:
        page.visit(Visit(walk, person, page, round_no))

    together(walk.people, rounds, act)


def walk_public_pages(walk: Walk, passes: int = 2) -> dict[str, Counter]:
    """Anonymous browsers on the public pages; returns the cache statuses seen per path."""
    seen: dict[str, Counter] = {path: Counter() for path in PUBLIC_PATHS}
    rounds = [path for _ in range(passes) for path in PUBLIC_PATHS]
    page = Page("public page", lambda v: None, public=True)

    def act(person: Person, path: str, round_no: int) -> None:
        response = Visit(walk, person, page, round_no).send(
            "GET", path, dict(person.visitor), None, 200, (), None, False
        )
        with walk.lock:
            seen[path][response.header("X-Cache-Status") or "-"] += 1

    together(walk.people, rounds, act)
    return seen
