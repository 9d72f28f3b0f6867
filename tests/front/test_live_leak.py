"""Forty people at the same second through real gunicorn and real nginx: nobody sees anybody.

The same harness then runs through a KAIKA-style nginx (tests/front/nginx_kaika_2021.conf.template)
in the same test, and must find leaks there: a harness that cannot see the 2021 leak proves
nothing about the configuration that ships in deploy/.
"""

import copy
import datetime
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.db import connection

from deploy import nginx
from ops import live_harness as live
from supporters.models import User
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]

PEOPLE = 40
KAIKA_2021_TEMPLATE = Path(__file__).with_name("nginx_kaika_2021.conf.template")


def create_people(count: int) -> list[live.Person]:
    password = make_password(live.PASSWORD)  # hashed once: the test's time goes to requests
    people = []
    for index in range(count):
        person = live.Person(index)
        fields = {**person.profile, "birth_date": datetime.date(1990, 5, 17)}
        user = User.objects.create_user(email=person.email, **fields)
        user.password = password
        user.save(update_fields=["password"])
        EmailAddress.objects.create(user=user, email=person.email, verified=True, primary=True)
        person.user_id = user.pk
        people.append(person)
    return people


def purchase_confirmation_path() -> str:
    """A shop's standard listing on sale in a round open now (the purchase confirmation)."""
    project = make_project()
    round_ = make_round(project, number=1)
    listing = make_shop(project).listings.get()
    return f"/orders/confirm/?listing={listing.pk}&round={round_.pk}&units=1"


def app_environment(*, bind: str, static_root: Path) -> dict[str, str]:
    """The production settings as served, pointed at this test's database and Redis."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="kaika.settings",
        DEBUG="false",
        # The test process decodes the app's sessions to check whose they are.
        SECRET_KEY=settings.SECRET_KEY,
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        CACHE_KEY_PREFIX=f"kaika-live-{os.getpid()}",
        # Emails are queued in the database and never sent: no worker runs here.
        TASKS_BACKEND="database",
        MAIL_BACKEND="console",
        # Each person's browser has its own address, passed on as by a CDN in front of nginx
        # (X-Forwarded-For: person, then nginx adds its own hop): the production rate limits
        # then apply per person, as they would at 9:00. From one address, allauth's per-IP
        # lock turns simultaneous logins and signups into 429s after a second of waiting.
        TRUSTED_PROXY_COUNT="2",
        STATIC_ROOT=str(static_root),
        GUNICORN_BIND=bind,
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="8",
        GUNICORN_GRACEFUL_TIMEOUT="5",
        DB_POOL_MIN="0",
        DB_POOL_MAX="10",
    )
    return env


@pytest.mark.django_db(transaction=True)
def test_forty_people_at_once_see_only_their_own_data_and_the_2021_cache_is_caught(tmp_path):
    people = create_people(PEOPLE)
    confirmation = purchase_confirmation_path()
    app = f"127.0.0.1:{nginx.free_port()}"
    front_port, kaika_2021_port = nginx.free_port(), nginx.free_port()
    static_root = tmp_path / "static"
    env = app_environment(bind=app, static_root=static_root)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        env=env,
        cwd=live.BASE_DIR,
        check=True,
    )
    front = nginx.write_config(
        tmp_path / "front",
        listen=f"127.0.0.1:{front_port}",
        upstreams=[app],
        static_root=static_root,
        session_cookie=settings.SESSION_COOKIE_NAME,
    )
    kaika_2021 = nginx.write_config(
        tmp_path / "kaika_2021",
        listen=f"127.0.0.1:{kaika_2021_port}",
        upstreams=[app],
        static_root=static_root,
        template=KAIKA_2021_TEMPLATE,
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "kaika.wsgi"]

    with (
        live.running("gunicorn", gunicorn, address=app, env=env, log=tmp_path / "gunicorn.log"),
        live.running(
            "nginx", nginx.command(front), address=f"127.0.0.1:{front_port}", log=tmp_path / "f.log"
        ),
        live.running(
            "KAIKA-style nginx",
            nginx.command(kaika_2021),
            address=f"127.0.0.1:{kaika_2021_port}",
            log=tmp_path / "k.log",
        ),
    ):
        good = live.Harness(front_port, people)
        good.purchase_confirmation_path = confirmation
        live.sign_in_everyone(good)
        # The negative control gets the same signed-in browsers, in their state before the walk.
        control_people = copy.deepcopy(people)
        live.walk_per_user_pages(good, passes=2)
        public = live.walk_public_pages(good)
        site_css = live.request(front_port, "GET", "/static/css/site.css", {})

        control = live.Harness(kaika_2021_port, control_people)
        control.purchase_confirmation_path = confirmation
        for person in control_people:
            control.claim_session(person.member[live.SESSION_COOKIE], person.index)
        live.walk_per_user_pages(control, passes=1)

    # The negative control first: if the harness cannot see the 2021 leak, nothing below counts.
    seen_in_control = control.kinds()
    for kind in ("foreign data", "foreign session", "from cache"):
        assert seen_in_control[kind], (
            f"the KAIKA-style cache leaked no '{kind}': the harness is blind to it\n"
            + control.summary()
        )

    assert not good.findings, (
        "personal data crossed between people:\n"
        + good.summary()
        + "\n--- gunicorn log ---\n"
        + live.tail(tmp_path / "gunicorn.log", 60)
        + "\n--- nginx error log ---\n"
        + "\n".join(live.tail(p, 30) for p in (tmp_path / "front").rglob("*error*.log"))
    )
    assert good.requests >= PEOPLE * len(live.PER_USER_PAGES) * 2

    # Every login's session cookie names a session of that person's own user.
    keys = [key for _, key in good.signed_in]
    owners = {
        s.session_key: s.get_decoded().get("_auth_user_id")
        for s in Session.objects.filter(session_key__in=keys)
    }
    assert len(good.signed_in) == PEOPLE * 3  # signed in once, then in each of two passes
    for index, key in good.signed_in:
        assert owners.get(key) == str(people[index].user_id), f"person {index}'s login session"

    # The cache is on: the public pages were served from it.
    for path, statuses in public.items():
        assert statuses["HIT"] > 0, f"{path} was never a cache HIT: {dict(statuses)}"

    # Static files come from STATIC_ROOT through nginx, never through the app's cache.
    assert site_css.status == 200
    assert site_css.body == (static_root / "css" / "site.css").read_text()
    assert not site_css.header("X-Cache-Status")
