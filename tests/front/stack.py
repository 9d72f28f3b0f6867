"""The production front as the live tests run it: two app nodes (gunicorn) on the test's
PostgreSQL database and Redis, behind the project's own nginx and, beside it, a KAIKA-style
nginx configured as in 2021; and the people who sign in through it.

Each node writes its own log (gunicorn's access log on stdout, see deploy/gunicorn.conf.py), so
a test can check afterwards that every node answered its share: a test that passes while one
node is dead proves nothing about two.
"""

import contextlib
import datetime
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection

from canary.walk import SESSION_COOKIE, Person, Walk, apply_cookies, request
from deploy import nginx
from supporters.models import User

BASE_DIR = Path(__file__).resolve().parents[2]
# Every test person's password (the canary sets a fresh one per run instead).
PASSWORD = "live-leak-test-password-2026"
KAIKA_2021_TEMPLATE = Path(__file__).with_name("nginx_kaika_2021.conf.template")
# The test-only settings of the race tests' negative control (the purchase locks switched off).
RACE_SETTINGS = "tests.front.settings_race"
UNLOCKED_SETTINGS = "tests.front.settings_unlocked"

# gunicorn's access_log_format: '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s
# %(M)sms rid=%({x-request-id}i)s'. The forwarded-for list may hold spaces ("a, b"), so the
# line is matched from the quoted request on.
ACCESS_LINE_RE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ \d+ms rid=(?P<rid>\S*)$'
)
# The project nginx's log_format kaika (deploy/nginx.conf.template): its request ids.
NGINX_RID_RE = re.compile(r" rid=([0-9a-f]+)")


@dataclass(frozen=True)
class Hit:
    """One request as an app node's access log records it."""

    method: str
    path: str
    status: int
    rid: str


@dataclass(frozen=True)
class Node:
    """One app node: a gunicorn on its own port, with its own log file."""

    name: str
    address: str
    log: Path

    def hits(self) -> list[Hit]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            match = ACCESS_LINE_RE.search(line)
            if match:
                found.append(
                    Hit(match["method"], match["path"], int(match["status"]), match["rid"])
                )
        return found

    def count(self, method: str, path: str) -> int:
        return sum(1 for hit in self.hits() if hit.method == method and hit.path == path)

    def open_connections(self) -> int:
        """Established TCP connections to this node right now (Linux's /proc/net/tcp): once
        the clients are done, only nginx's idle upstream keepalive connections remain."""
        port = f"{int(self.address.rpartition(':')[2]):04X}"
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        return sum(
            1
            for line in lines
            if (fields := line.split())[1].endswith(f":{port}") and fields[3] == "01"
        )


@dataclass(frozen=True)
class Stack:
    port: int  # the project's nginx (deploy/nginx.conf.template)
    kaika_2021_port: int | None  # the KAIKA-style nginx, when started
    nodes: tuple[Node, ...]
    prefix: Path  # the project nginx's directory (logs/access.log...)
    media_root: Path

    def front_request_ids(self) -> set[str]:
        """Request ids the project's nginx logged (not the KAIKA-style one's)."""
        text = (self.prefix / "logs" / "access.log").read_text(errors="replace")
        return set(NGINX_RID_RE.findall(text))

    def share(self, rids: set[str], exclude=lambda hit: False) -> Counter:
        """How many of the requests with these ids each node answered."""
        return Counter(
            {
                node.name: sum(1 for hit in node.hits() if hit.rid in rids and not exclude(hit))
                for node in self.nodes
            }
        )

    def logs(self, lines: int = 40) -> str:
        """The tail of every node's log and of nginx's error log, for a failure message."""
        parts = [
            f"--- {node.name} ({node.address}) ---\n{tail(node.log, lines)}" for node in self.nodes
        ]
        parts.append(f"--- nginx error log ---\n{tail(self.prefix / 'logs' / 'error.log')}")
        return "\n".join(parts)


def app_environment(
    *,
    bind: str,
    static_root: Path,
    media_root: Path,
    settings_module: str = "kaika.settings",
    workers: int = 1,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The production settings as served, pointed at this test's database and Redis."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DEBUG="false",
        # The test process decodes the app's sessions to check whose they are.
        SECRET_KEY=settings.SECRET_KEY,
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        # One prefix for every node of this stack: they share sessions and rate limits.
        CACHE_KEY_PREFIX=f"kaika-live-{os.getpid()}",
        # Emails are queued in the database and never sent: no worker runs here.
        TASKS_BACKEND="database",
        MAIL_BACKEND="console",
        # Each person's browser has its own address, passed on as by a CDN in front of nginx
        # (X-Forwarded-For: person, then nginx adds its own hop): the production rate limits
        # then apply per person, as they would at 9:00. From one address, forty simultaneous
        # signups would exceed the 20 a minute allowed per address (kaika/settings.py).
        TRUSTED_PROXY_COUNT="2",
        STATIC_ROOT=str(static_root),
        # Every node writes uploads where nginx serves them from: one shared directory.
        MEDIA_ROOT=str(media_root),
        GUNICORN_BIND=bind,
        # Two nodes on a 2-core machine: one process each, threads for the waits.
        GUNICORN_WORKERS=str(workers),
        GUNICORN_THREADS="8",
        GUNICORN_GRACEFUL_TIMEOUT="5",
        DB_POOL_MIN="0",
        DB_POOL_MAX="10",
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def fronts(
    tmp_path: Path,
    *,
    nodes: int = 2,
    settings_module: str = "kaika.settings",
    kaika_2021: bool = True,
    collect_static: bool = True,
    app_env: dict[str, str] | None = None,
):
    """`nodes` gunicorns sharing the test's database and Redis, behind the project's nginx
    (all listed as its upstreams) and, with `kaika_2021`, behind a KAIKA-style nginx too."""
    addresses = [f"127.0.0.1:{nginx.free_port()}" for _ in range(nodes)]
    good_port = nginx.free_port()
    bad_port = nginx.free_port() if kaika_2021 else None
    static_root = tmp_path / "static"
    media_root = tmp_path / "media"
    media_root.mkdir(exist_ok=True)
    envs = [
        app_environment(
            bind=address,
            static_root=static_root,
            media_root=media_root,
            settings_module=settings_module,
            extra=app_env,
        )
        for address in addresses
    ]
    if collect_static:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            env=envs[0],
            cwd=BASE_DIR,
            check=True,
        )
    good = nginx.write_config(
        tmp_path / "front",
        listen=f"127.0.0.1:{good_port}",
        upstreams=addresses,
        static_root=static_root,
        media_root=media_root,
        session_cookie=settings.SESSION_COOKIE_NAME,
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "kaika.wsgi"]
    stack = Stack(
        port=good_port,
        kaika_2021_port=bad_port,
        nodes=tuple(
            Node(f"node {i + 1}", address, tmp_path / f"node{i + 1}.log")
            for i, address in enumerate(addresses)
        ),
        prefix=good.parent,
        media_root=media_root,
    )
    with contextlib.ExitStack() as processes:
        for node, env in zip(stack.nodes, envs, strict=True):
            processes.enter_context(
                running(node.name, gunicorn, address=node.address, env=env, log=node.log)
            )
        processes.enter_context(
            running(
                "nginx",
                nginx.command(good),
                address=f"127.0.0.1:{good_port}",
                log=tmp_path / "f.log",
            )
        )
        if kaika_2021:
            bad = nginx.write_config(
                tmp_path / "kaika_2021",
                listen=f"127.0.0.1:{bad_port}",
                upstreams=addresses,
                static_root=static_root,
                template=KAIKA_2021_TEMPLATE,
            )
            processes.enter_context(
                running(
                    "KAIKA-style nginx",
                    nginx.command(bad),
                    address=f"127.0.0.1:{bad_port}",
                    log=tmp_path / "k.log",
                )
            )
        yield stack


# --- Processes -------------------------------------------------------------------------------


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running(name, args, *, address, log, env=None, stop=signal.SIGTERM) -> Iterator:
    """A process for the length of the block, its output in `log`; up when `address` answers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
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


# --- People ----------------------------------------------------------------------------------


def create_people(count: int) -> list[Person]:
    """Supporters with a complete profile and a verified address, who sign in with PASSWORD
    (see canary/walk.py for their markers)."""
    password = make_password(PASSWORD)  # hashed once: the test's time goes to requests
    people = []
    for index in range(count):
        person = Person(index)
        fields = {**person.profile, "birth_date": datetime.date(1990, 5, 17)}
        user = User.objects.create_user(email=person.email, **fields)
        user.password = password
        user.save(update_fields=["password"])
        EmailAddress.objects.create(user=user, email=person.email, verified=True, primary=True)
        person.user_id = user.pk
        people.append(person)
    return people


CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def form_token(body: str) -> str:
    match = CSRF_INPUT_RE.search(body)
    if not match:
        raise AssertionError("the form carries no CSRF token")
    return match.group(1)


def sign_in_everyone(walk: Walk) -> None:
    """Through the front, as a browser does: fetch the form, post it with its CSRF token.
    Unlike the canary's sign-in, a login that fails ends the test at once."""
    for person in walk.people:
        address = person.address
        form = request(walk.port, "GET", "/accounts/login/", person.visitor, client=address)
        apply_cookies(person.visitor, form)
        person.member = dict(person.visitor)
        data = {
            "csrfmiddlewaretoken": form_token(form.body),
            "login": person.email,
            "password": walk.password,
        }
        response = request(
            walk.port, "POST", "/accounts/login/", person.member, data, client=address
        )
        if response.status != 302 or SESSION_COOKIE not in response.cookies():
            raise AssertionError(f"person {person.index} could not sign in: {response.status}")
        apply_cookies(person.member, response)
        walk.claim_session(person.member[SESSION_COOKIE], person.index)
        walk.signed_in.append((person.index, person.member[SESSION_COOKIE]))
