"""The live leak harness: real gunicorn, real nginx, many people at the same second.

Each person has unique markers (name, kana, email, address, phone). In every round all people
are released together by a barrier onto the same per-user page, which is how the 2021 cache
mixed people up: requests for one URL within the same second. Every response is inspected:
  - its body holds no other person's marker, and the markers of its own person it must show;
  - any session cookie it sets belongs to this person (a key never handed to anyone else,
    and for a login, a server-side session of this person's user);
  - it was not answered from the shared cache (X-Cache-Status HIT, STALE, UPDATING...);
  - its status (and redirect) is the one this step gives when nothing is mixed up.

PER_USER_PAGES is the list of what is walked; later issues extend it.
"""

import contextlib
import http.client
import re
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from deploy import nginx

BASE_DIR = Path(__file__).resolve().parent.parent
# Test accounts only (the canary replaces it with a fresh random one per run).
PASSWORD = "live-leak-test-password-2026"  # noqa: S105
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
    """One request on a fresh connection, the way a browser tab would send it.

    `client` is the browser's address as a CDN in front of nginx would report it
    (X-Forwarded-For); the app is told to trust two proxies (see test_live_leak.py).
    """
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


CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def form_token(body: str) -> str:
    match = CSRF_INPUT_RE.search(body)
    if not match:
        raise AssertionError("the form carries no CSRF token")
    return match.group(1)


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


class Harness:
    """The people, one front (an nginx in front of the app) and what was found through it."""

    def __init__(self, port: int, people: list[Person]):
        self.port = port
        self.people = people
        owner_of = {m: (p.index, kind) for p in people for kind, m in p.markers.items()}
        self.owner_of = owner_of
        self.marker_re = re.compile("|".join(map(re.escape, sorted(owner_of, key=len)[::-1])))
        self.findings: list[Finding] = []
        self.owners: dict[tuple[str, str], int] = {}
        self.signed_in: list[tuple[int, str]] = []  # (person, session key) from logins
        self.cache_statuses: Counter = Counter()
        self.requests = 0
        self.lock = threading.Lock()
        # The purchase confirmation of a listing on sale now (set by the test that made it).
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

    def __init__(self, harness: Harness, person: Person, page: "Page", round_no: int):
        self.harness = harness
        self.person = person
        self.page = page
        self.round_no = round_no

    def get(self, path, jar, *, status, shows=(), location=None, signs_in=False) -> Response:
        return self.send("GET", path, jar, None, status, shows, location, signs_in)

    def owns(self, what: str, value: str, response: Response) -> None:
        """`value` (an inquiry reference...) shown to this person was never shown to another."""
        owner = self.harness.claim(what, value, self.person.index)
        if owner != self.person.index:
            self.harness.report(
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
        response = request(self.harness.port, method, path, jar, data, client=self.person.address)
        with self.harness.lock:
            self.harness.requests += 1
            self.harness.cache_statuses[response.header("X-Cache-Status") or "-"] += 1
        rid = response.header("X-Request-ID")

        def found(kind: str, detail: str) -> None:
            self.harness.report(Finding(kind, self.person.index, self.page.name, step, detail, rid))

        me = self.person.index
        foreign = {
            (owner, kind)
            for match in self.harness.marker_re.findall(response.body)
            for owner, kind in [self.harness.owner_of[match]]
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
            owner = self.harness.claim_session(session_key, me)
            if owner != me:
                found("foreign session", f"was handed person {owner}'s session cookie")
            elif signs_in:
                with self.harness.lock:
                    self.harness.signed_in.append((me, session_key))
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
    credentials = {"login": v.person.email, "password": PASSWORD}
    v.post("/accounts/login/", jar, credentials, status=302, location="/mypage/", signs_in=True)
    v.get("/mypage/", jar, status=200, shows=ALL_KINDS)


def failed_login(v: Visit) -> None:
    # 2021: the address typed into a failed login was shown to someone else.
    credentials = {"login": v.person.email, "password": "not-the-password"}
    v.post("/accounts/login/", dict(v.person.visitor), credentials, status=200, shows=("email",))


def signup_data(person: Person, email: str, password2: str) -> dict[str, str]:
    return {"email": email, "password1": PASSWORD, "password2": password2, **person.profile}


def signup_rejected(v: Visit) -> None:
    # The form comes back with everything typed into it.
    email = f"{v.person.markers['email']}.r{v.round_no}@example.jp"
    data = signup_data(v.person, email, password2="a-different-password-2026")
    v.post("/accounts/signup/", dict(v.person.visitor), data, status=200, shows=ALL_KINDS)


def signup(v: Visit) -> None:
    jar = dict(v.person.visitor)
    email = f"{v.person.markers['email']}.s{v.round_no}@example.jp"
    data = signup_data(v.person, email, password2=PASSWORD)
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
        "order_number": "",
        "website": "",
    }
    v.post("/contact/", jar, data, status=302, location="/contact/sent/")
    sent = v.get("/contact/sent/", jar, status=200)
    # The completion page shows only the inquiry's reference: it must be this person's.
    references = REFERENCE_RE.findall(sent.body)
    if not references:
        v.harness.report(
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
    if not v.harness.purchase_confirmation_path:
        return  # nothing on sale (the canary before an opening); the leak test always sets it
    page = v.get(v.harness.purchase_confirmation_path, v.person.member, status=200, shows=shows)
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


def sign_in_everyone(harness: Harness) -> None:
    """Through the front, as a browser does: fetch the form, post it with its CSRF token."""
    for person in harness.people:
        address = person.address
        form = request(harness.port, "GET", "/accounts/login/", person.visitor, client=address)
        apply_cookies(person.visitor, form)
        person.member = dict(person.visitor)
        data = {
            "csrfmiddlewaretoken": form_token(form.body),
            "login": person.email,
            "password": PASSWORD,
        }
        response = request(
            harness.port, "POST", "/accounts/login/", person.member, data, client=address
        )
        if response.status != 302 or SESSION_COOKIE not in response.cookies():
            raise AssertionError(f"person {person.index} could not sign in: {response.status}")
        apply_cookies(person.member, response)
        harness.claim_session(person.member[SESSION_COOKIE], person.index)
        harness.signed_in.append((person.index, person.member[SESSION_COOKIE]))


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


def walk_per_user_pages(harness: Harness, passes: int) -> None:
    rounds = [page for _ in range(passes) for page in PER_USER_PAGES]

    def act(person: Person, page: Page, round_no: int) -> None:
        page.visit(Visit(harness, person, page, round_no))

    together(harness.people, rounds, act)


def walk_public_pages(harness: Harness, passes: int = 2) -> dict[str, Counter]:
    """Anonymous browsers on the public pages; returns the cache statuses seen per path."""
    seen: dict[str, Counter] = {path: Counter() for path in PUBLIC_PATHS}
    rounds = [path for _ in range(passes) for path in PUBLIC_PATHS]
    page = Page("public page", lambda v: None, public=True)

    def act(person: Person, path: str, round_no: int) -> None:
        response = Visit(harness, person, page, round_no).send(
            "GET", path, dict(person.visitor), None, 200, (), None, False
        )
        with harness.lock:
            seen[path][response.header("X-Cache-Status") or "-"] += 1

    together(harness.people, rounds, act)
    return seen


# --- Processes -------------------------------------------------------------------------------


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running(name, args, *, address, log, env=None, stop=signal.SIGTERM) -> Iterator:
    """A process for the length of the block, its output in `log`; up when `address` answers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own gunicorn/nginx command lines)
            args,
            env=env,
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            try:
                nginx.wait_for_port(address, timeout=30, process=process)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{name} did not start: {exc}\n{tail(Path(log))}") from None
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(stop)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
