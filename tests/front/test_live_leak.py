"""Forty people at the same second through real gunicorn and real nginx: nobody sees anybody.

The same harness then runs through a KAIKA-style nginx (tests/front/nginx_kaika_2021.conf.template)
in the same test, and must find leaks there: a harness that cannot see the 2021 leak proves
nothing about the configuration that ships in deploy/.
"""

import copy
import datetime

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session

from ops import live_harness as live
from supporters.models import User
from tests.front.stack import fronts
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]

PEOPLE = 40


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


@pytest.mark.django_db(transaction=True)
def test_forty_people_at_once_see_only_their_own_data_and_the_2021_cache_is_caught(tmp_path):
    people = create_people(PEOPLE)
    confirmation = purchase_confirmation_path()
    static_root = tmp_path / "static"
    with fronts(tmp_path) as (front_port, kaika_2021_port):
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
