"""The pre-launch cache canary: dedicated accounts walk every per-user page through the real
front at the same instant (canary/walk.py), before a round opens, because the 2021
misconfiguration was made while preparing a round. It drives every app's pages, so it sits
above them all.
"""

import re
import secrets
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from canary.walk import Page, Person, Visit, Walk, walk_per_user_pages, walk_public_pages
from inquiries.models import Inquiry
from projects.models import Listing, Round

# The canaries' addresses and the ones their signup flow creates (example.jp: never delivered).
CANARY_EMAIL_RE = re.compile(r"^leak\d{3}x(\.[rs]\d+)?@example\.jp$")


class CanaryError(Exception):
    pass


@dataclass
class CanaryResult:
    findings: list
    requests: int
    public_statuses: dict[str, Counter]
    summary: str

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def public_cached(self) -> bool:
        return any(s["HIT"] for s in self.public_statuses.values())


def port_of(base_url: str) -> int:
    parts = urlsplit(base_url)
    # The walk speaks plain HTTP to a loopback address (the nginx of this machine); a CDN
    # is checked by running the canary where that CDN's origin nginx listens.
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        raise CanaryError("--base-url must be http://127.0.0.1:PORT (the front on this host)")
    return parts.port or 80


def canary_people_prepare(*, count: int, password: str) -> list[Person]:
    """Create or reset the canary accounts, with this run's password."""
    User = get_user_model()
    hashed = make_password(password)
    people = []
    with transaction.atomic():
        for index in range(count):
            person = Person(index)
            fields = {**person.profile, "birth_date": "1990-05-17", "is_active": True}
            user, _ = User.objects.update_or_create(email=person.email, defaults=fields)
            user.password = hashed
            user.save(update_fields=["password"])
            EmailAddress.objects.update_or_create(
                user=user, email=person.email, defaults={"verified": True, "primary": True}
            )
            person.user_id = user.pk
            people.append(person)
    return people


def canary_cleanup() -> None:
    """No canary can log in between runs; what their flows created is removed."""
    User = get_user_model()
    canaries = [
        u
        for u in User.objects.filter(email__endswith="@example.jp", email__startswith="leak")
        if CANARY_EMAIL_RE.match(u.email)
    ]
    created = [u.pk for u in canaries if "." in u.email.split("@")[0]]
    Inquiry.objects.filter(email__in=[u.email for u in canaries]).delete()
    User.objects.filter(pk__in=created).delete()
    for user in canaries:
        if user.pk not in created:
            user.set_unusable_password()
            user.save(update_fields=["password"])


def sign_in_canaries(walk: Walk) -> None:
    """Through the front, as a browser does. A login the front breaks is a finding, not the
    end: the walk goes on and says what else went wrong."""
    page = Page("sign in", lambda v: None)
    for person in walk.people:
        visit = Visit(walk, person, page, 0)
        visit.get("/accounts/login/", person.visitor, status=200)
        person.member = dict(person.visitor)
        credentials = {"login": person.email, "password": walk.password}
        visit.post(
            "/accounts/login/",
            person.member,
            credentials,
            status=302,
            location="/mypage/",
            signs_in=True,
        )


def purchase_confirmation_path() -> str:
    """The confirmation page of a standard listing on sale now, or "" when nothing is on sale
    (before the first opening the canary skips that page)."""
    now = timezone.now()
    round_ = Round.objects.open_at(now).order_by("opens_at").first()
    if round_ is None:
        return ""
    listing = (
        Listing.objects.offered_in(round_)
        .filter(is_standard=True, shop__rounds=round_, shop__status="approved")
        .first()
    )
    if listing is None:
        return ""
    return f"/orders/confirm/?listing={listing.pk}&round={round_.pk}&units=1"


def cache_canary_run(*, base_url: str, count: int = 10, passes: int = 1) -> CanaryResult:
    port = port_of(base_url)
    # A fresh password each run, set on the canary accounts only for the run's length.
    password = secrets.token_urlsafe(24)
    people = canary_people_prepare(count=count, password=password)
    try:
        walk = Walk(port, people, password=password)
        walk.purchase_confirmation_path = purchase_confirmation_path()
        sign_in_canaries(walk)
        walk_per_user_pages(walk, passes=passes)
        public = walk_public_pages(walk, passes=2)
    finally:
        canary_cleanup()
    return CanaryResult(
        findings=list(walk.findings),
        requests=walk.requests,
        public_statuses=public,
        summary=walk.summary(),
    )
