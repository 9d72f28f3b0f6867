"""Every URL of the site, walked: nothing is cacheable unless it is deliberately public.

The 2021 leak showed pages of logged-in supporters to other people through a shared cache.
Here every URL pattern is requested anonymously, as a supporter and as staff, with GET, an
empty (invalid) POST and a valid POST, in both languages, and every response must be private
and non-storable, unless its view is on the public allowlist, in which case it must be
cacheable *and* the same for everyone: no cookie, no `Vary: Cookie`.
"""

import re

import pytest
from django.test import override_settings
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone, translation

from deploy import nginx
from inquiries.models import Inquiry
from kaika.cache import public_max_age
from kaika.management.commands import nginx_public_paths
from lottery.models import LotteryRound
from purchases.models import Redemption, Wallet
from purchases.payments import SandboxGateway
from purchases.services import PaymentResult, order_create, payment_record
from settlements.models import SettlementRun, Statement, StatementStatus
from tests.conftest import login_staff, make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop
from tests.url_catalogue import (
    NO_FORM_DATA_NEEDED,
    PUBLIC_URL_NAMES,
    URL_KWARGS,
    VALID_POSTS,
)

PARAM_RE = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
ANONYMOUS_FORMS = {"account_login", "account_signup", "account_reset_password"}
PRIVATE_CACHE_CONTROL = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
OWN_FORM_RE = re.compile(r"<form\b([^>]*)>", re.IGNORECASE)


def collect_patterns(language: str):
    """(name or None, route text, callback) of every URL pattern, namespaces joined."""
    found = []

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern, prefix + str(pattern.pattern), ns)
            else:
                name = f"{namespace}{pattern.name}" if pattern.name else None
                found.append((name, prefix + str(pattern.pattern), pattern.callback))

    with translation.override(language):
        walk(get_resolver(), "", "")
    return found


def param_names(route: str) -> list[str]:
    return [a or b for a, b in PARAM_RE.findall(route)]


def build_url(name, route, language, objects) -> str:
    kwargs = {param: URL_KWARGS[param](objects) for param in param_names(route)}
    with translation.override(language):
        if name:
            return reverse(name, kwargs=kwargs)
    url = PARAM_RE.sub(lambda m: kwargs[m.group(1) or m.group(2)], route)
    return "/" + url.replace("^", "").replace("$", "")


def is_admin(name, route) -> bool:
    return (name or "").startswith("admin:") or "admin/" in route


ALL = [(lang, *p) for lang in ("ja", "en") for p in collect_patterns(lang)]
IDS = [f"{lang}:{route or '/'}" for lang, _, route, _ in ALL]


def assert_private(response, what: str) -> None:
    cache_control = {v.strip() for v in response.get("Cache-Control", "").split(",")}
    assert PRIVATE_CACHE_CONTROL <= cache_control, f"{what}: Cache-Control {cache_control}"
    assert response.get("CDN-Cache-Control") == "no-store", what
    assert "Expires" in response, what
    for header in ("X-Accel-Expires", "Surrogate-Control"):
        assert header not in response, f"{what}: {header}"


def assert_public(response, what: str) -> None:
    cache_control = response.get("Cache-Control", "")
    assert "public" in cache_control and "max-age=" in cache_control, what
    assert "private" not in cache_control and "no-store" not in cache_control, what
    assert not response.cookies, f"{what} sets cookies {list(response.cookies)}"
    assert "cookie" not in response.get("Vary", "").lower(), f"{what}: Vary {response['Vary']}"
    for header in ("X-Accel-Expires", "Surrogate-Control", "CDN-Cache-Control"):
        assert header not in response, f"{what}: {header}"


@pytest.fixture
def objects(db):
    user = make_user(email="walker@example.jp")
    project = make_project()
    round_ = make_round(project, number=1)
    shop = make_shop(project, operators=[user])
    now = timezone.now()
    standard = shop.listings.get(is_standard=True)

    def order(key):
        return order_create(
            supporter=user,
            listing_id=standard.pk,
            round_id=round_.pk,
            units=1,
            idempotency_key=key,
            now=now,
        )

    pending = order("walker-pending-order")
    paid = order("walker-paid-order")
    payment_record(
        result=PaymentResult("sandbox", paid.code, "sbx_walker", paid.amount, True, now), now=now
    )
    checkout = SandboxGateway().checkout_url(order=pending, site_url="http://testserver", now=now)
    staff = make_user(email="walker-staff@example.jp", is_staff=True, is_superuser=True)
    # A use at the shop's till a moment ago (undoable), and an approved statement of the shop.
    redemption = Redemption.objects.create(
        wallet=Wallet.objects.get(supporter=user, shop=shop),
        shop=shop,
        amount=100,
        balance_after=0,
        used_at=now,
    )
    run = SettlementRun.objects.create(
        project=project,
        period_end=timezone.localdate(now),
        payment_date=timezone.localdate(now),
        created_at=now,
        created_by=staff,
    )
    statement = Statement.objects.create(
        run=run,
        shop=shop,
        status=StatementStatus.APPROVED,
        face_value=0,
        supporter_part=0,
        premium_part=0,
        fee=0,
        amount_to_pay=0,
    )
    lottery_round = make_round(project, number=2, state="closed", allocation_mode="lottery")
    lottery = LotteryRound.objects.create(round=lottery_round, committed_at=lottery_round.opens_at)
    return {
        "user": user,
        "staff": staff,
        "project": project,
        "round": round_,
        "shop": shop,
        "listing": make_listing(shop),
        "inquiry": Inquiry.objects.create(
            reference="Q-WALKER22",
            user=user,
            name="山田 花子",
            email=user.email,
            category="backing",
            subject="支援について",
            body="支援の取り消しはできますか。",
            created_at=timezone.now(),
        ),
        "order": pending,
        "ticket": paid.tickets.first(),
        "sandbox_token": checkout.rstrip("/").rsplit("/", 1)[-1],
        "redemption": redemption,
        "statement": statement,
        "lottery": lottery,
    }


def request_as(client, who, objects, method, url, data=None):
    client.logout()
    if who == "staff":
        login_staff(client, objects[who])
    elif who != "anonymous":
        client.force_login(objects[who])
    return getattr(client, method)(url, data or {})


def test_public_allowlist_matches_the_views_marked_public():
    marked = {name for _, name, _, cb in ALL if public_max_age(cb) is not None}
    assert marked == PUBLIC_URL_NAMES


def front_public_paths() -> list[re.Pattern]:
    """The paths the shipped nginx looks up and stores (deploy/public_paths.map)."""
    text = nginx.PUBLIC_PATHS.read_text(encoding="utf-8")
    return [re.compile(m) for m in re.findall(r'^"~(.+)" "";$', text, re.MULTILINE)]


def test_the_front_s_public_paths_are_written_from_the_urlconf():
    assert nginx.PUBLIC_PATHS.read_text(encoding="utf-8") == nginx_public_paths.render(), (
        "run: python manage.py nginx_public_paths --write"
    )


@pytest.mark.parametrize(("language", "name", "route", "callback"), ALL, ids=IDS)
def test_the_front_stores_a_url_exactly_when_its_view_is_public(
    objects, language, name, route, callback
):
    url = build_url(name, route, language, objects).split("?")[0]
    stored = any(path.match(url) for path in front_public_paths())
    assert stored == (public_max_age(callback) is not None), url


@pytest.mark.parametrize(("language", "name", "route", "callback"), ALL, ids=IDS)
def test_every_response_is_private_unless_deliberately_public(
    client, objects, language, name, route, callback
):
    url = build_url(name, route, language, objects)
    public = name in PUBLIC_URL_NAMES
    for who in ("anonymous", "user", "staff"):
        response = request_as(client, who, objects, "get", url)
        what = f"GET {url} as {who} ({response.status_code})"
        if public and response.status_code == 200:
            assert_public(response, what)
        else:
            assert_private(response, what)
    for who in ("anonymous", "user"):
        response = request_as(client, who, objects, "post", url)
        assert_private(response, f"empty POST {url} as {who} ({response.status_code})")
    if name in VALID_POSTS:
        data = VALID_POSTS[name](objects)
        who = "anonymous" if name in ANONYMOUS_FORMS else "user"
        response = request_as(client, who, objects, "post", url, data)
        assert_private(response, f"valid POST {url} as {who} ({response.status_code})")
        assert response.status_code in (200, 302), response.status_code


PUBLIC = [a for a in ALL if a[1] in PUBLIC_URL_NAMES]


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG off", "DEBUG on"])
def test_django_s_own_force_login_then_every_public_page_gives_no_error(client, objects, debug):
    """Django's test client as it ships: force_login, then each public page, signed in as a
    supporter and as staff, in both languages."""
    with override_settings(DEBUG=debug):
        for who in ("user", "staff"):
            client.force_login(objects[who])
            for language, name, route, _ in PUBLIC:
                url = build_url(name, route, language, objects)
                response = client.get(url)
                assert response.status_code == 200, f"GET {url} as {who}: {response.status_code}"
                assert_public(response, f"GET {url} as {who}")


def own_post_forms(html: str, url: str) -> list[str]:
    """Forms on the page that post to the page itself (not the header's logout form)."""
    forms = []
    for attrs in OWN_FORM_RE.findall(html):
        if 'method="post"' not in attrs.lower():
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        if action is None or action.group(1) in ("", url):
            forms.append(attrs)
    return forms


@pytest.mark.parametrize(
    ("language", "name", "route", "callback"),
    [a for a in ALL if a[0] == "ja" and not is_admin(a[1], a[2])],
    ids=[i for i, a in zip(IDS, ALL, strict=True) if a[0] == "ja" and not is_admin(a[1], a[2])],
)
def test_every_form_has_valid_data_in_the_catalogue(
    client, objects, language, name, route, callback
):
    url = build_url(name, route, language, objects)
    for who in ("anonymous", "user"):
        response = request_as(client, who, objects, "get", url)
        if response.status_code != 200:
            continue
        if own_post_forms(response.content.decode(), url):
            assert name in VALID_POSTS or name in NO_FORM_DATA_NEEDED, (
                f"{url} has a form: add valid data to tests/url_catalogue.py VALID_POSTS"
            )


DECEPTION_SUFFIXES = ("x.css", ";x.css", "%2Fx.css", "/.js")


@pytest.mark.parametrize(
    ("language", "name", "route", "callback"),
    [a for a in ALL if a[1] not in PUBLIC_URL_NAMES],
    ids=[i for i, a in zip(IDS, ALL, strict=True) if a[1] not in PUBLIC_URL_NAMES],
)
def test_web_cache_deception_suffixes_are_404_or_private(
    client, objects, language, name, route, callback
):
    """`/mypage/x.css` must never be a cacheable copy of My page (web cache deception)."""
    url = build_url(name, route, language, objects)
    for suffix in DECEPTION_SUFFIXES:
        for who in ("anonymous", "user"):
            response = request_as(client, who, objects, "get", url + suffix)
            what = f"GET {url + suffix} as {who} ({response.status_code})"
            assert response.status_code == 404 or "private" in response.get("Cache-Control", ""), (
                what
            )
            assert_private(response, what)


def test_my_page_with_a_static_suffix_is_not_found(user_client):
    for suffix in DECEPTION_SUFFIXES:
        assert user_client.get("/mypage/" + suffix).status_code == 404
