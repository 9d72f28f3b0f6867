"""Forty people at the same second through real nginx and two real app nodes: nobody sees
anybody.

The front is one nginx with two gunicorn nodes as upstreams, sharing PostgreSQL and Redis
(tests/front/stack.py): a session made on one node is read on the other, so any mix-up between
nodes would show here too, and each node must have answered its share of the per-user requests.
The same harness then runs through a KAIKA-style nginx (tests/front/nginx_kaika_2021.conf.template)
in the same test, and must find leaks there: a harness that cannot see the 2021 leak proves
nothing about the configuration that ships in deploy/.
"""

import copy

import pytest
from django.contrib.sessions.models import Session

from canary.walk import (
    PER_USER_PAGES,
    PUBLIC_PATHS,
    SESSION_COOKIE,
    Walk,
    request,
    walk_per_user_pages,
    walk_public_pages,
)
from tests.front.stack import PASSWORD, create_people, fronts, sign_in_everyone
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]

PEOPLE = 40
# Round robin over two nodes gives each about half; a quarter leaves room for timing and
# still fails when one node is dead or never listed.
MIN_NODE_SHARE = 0.25


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
    with fronts(tmp_path) as stack:
        front_port, kaika_2021_port = stack.port, stack.kaika_2021_port
        good = Walk(front_port, people, password=PASSWORD)
        good.purchase_confirmation_path = confirmation
        sign_in_everyone(good)
        # The negative control gets the same signed-in browsers, in their state before the walk.
        control_people = copy.deepcopy(people)
        walk_per_user_pages(good, passes=2)
        public = walk_public_pages(good)
        site_css = request(front_port, "GET", "/static/css/site.css", {})
        # nginx keeps its connections to both nodes open between requests (upstream keepalive).
        kept_alive = {node.name: node.open_connections() for node in stack.nodes}

        control = Walk(kaika_2021_port, control_people, password=PASSWORD)
        control.purchase_confirmation_path = confirmation
        for person in control_people:
            control.claim_session(person.member[SESSION_COOKIE], person.index)
        walk_per_user_pages(control, passes=1)

    # The negative control first: if the harness cannot see the 2021 leak, nothing below counts.
    seen_in_control = control.kinds()
    for kind in ("foreign data", "foreign session", "from cache"):
        assert seen_in_control[kind], (
            f"the KAIKA-style cache leaked no '{kind}': the harness is blind to it\n"
            + control.summary()
        )

    assert not good.findings, (
        "personal data crossed between people:\n" + good.summary() + "\n" + stack.logs()
    )
    assert good.requests >= PEOPLE * len(PER_USER_PAGES) * 2

    # Both nodes answered: the per-user requests through the project's nginx (its request
    # ids; the KAIKA-style front's are left out) are found in each node's own access log.
    per_user = stack.share(
        stack.front_request_ids(),
        exclude=lambda hit: hit.path in PUBLIC_PATHS or hit.path.startswith("/static/"),
    )
    total = sum(per_user.values())
    public_requests = sum(sum(statuses.values()) for statuses in public.values())
    assert total >= good.requests - public_requests, per_user  # every one of them is found
    for node in stack.nodes:
        assert per_user[node.name] >= MIN_NODE_SHARE * total, (
            f"{node.name} answered {per_user[node.name]} of {total} per-user requests: "
            f"{dict(per_user)}\n{stack.logs()}"
        )

    assert all(kept_alive.values()), f"no keepalive connection to a node: {kept_alive}"

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
