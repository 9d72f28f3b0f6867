"""The waiting room benchmark's data (issue 23), in its own database.

    python -m bench.waitroom_setup OUT.json             (run by bench/waitroom.py)
    python -m bench.waitroom_setup --crowd N LEAD OUT.json
    python -m bench.waitroom_setup --crowd-check PROJECT_ID      -> JSON on stdout

A round open now with its waiting room, one shop whose operator is signed in at the till, and
a supporter with a paid wallet big enough for every use the till phase takes (1 yen each).

--crowd: the 9:00 opening itself, in a project of its own: a first-come round opening LEAD
seconds from now behind its waiting room (admitting, not paused), one listing of limited
stock, and N supporters each signed in (a session in the database, as after a login).
"""

import datetime
import json
import os
import secrets
import string
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.utils import timezone  # noqa: E402

from projects.models import (  # noqa: E402
    Listing,
    ListingReview,
    Project,
    Round,
    Shop,
    ShopRound,
    ShopStatus,
)
from purchases.models import Wallet  # noqa: E402
from purchases.services import PaymentResult, order_create, payment_record  # noqa: E402
from supporters.models import User  # noqa: E402
from waitingroom.admission import room_sync  # noqa: E402
from waitingroom.models import WaitingRoom  # noqa: E402
from waitingroom.queue import queue_visit  # noqa: E402


def person(email: str, now) -> dict:
    user = User.objects.create_user(
        email=email,
        password=None,
        family_name="山口",
        given_name="ベンチ",
        family_name_kana="ヤマグチ",
        given_name_kana="ベンチ",
        birth_date=datetime.date(1980, 1, 1),
        gender="female",
        occupation="employee",
        postal_code="7530001",
        prefecture="35",
        city="山口市",
        street_address="亀山町1番",
        phone="0830000000",
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    key = secrets.token_hex(16)
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    Session.objects.create(
        session_key=key,
        session_data=SessionStore().encode(data),
        expire_date=now + datetime.timedelta(days=1),
    )
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    return {"user": user, "session": key, "csrf": csrf}


# The crowd's round: a listing that sells out during the run, so that the caps are tested.
CROWD_STOCK = int(os.environ.get("BENCH_CROWD_STOCK", "1500"))
CROWD_ADMIT_PER_SECOND = int(os.environ.get("BENCH_CROWD_ADMIT_PER_SECOND", "40"))


def _round_shop_listing(project, now, *, opens_at, usage_starts_on, shop: dict, listing: dict):
    """The project's first round, one approved shop taking part in it and its approved
    listing of 1,000 yen units (`shop` and `listing`: the fields that differ)."""
    day = datetime.timedelta(days=1)
    round_ = Round.objects.create(
        project=project,
        number=1,
        shop_applications_close_at=now - 10 * day,
        opens_at=opens_at,
        closes_at=now + 20 * day,
        usage_starts_on=usage_starts_on,
        usage_ends_on=(now + 200 * day).date(),
    )
    shop_ = Shop.objects.create(
        project=project,
        category="restaurant",
        municipality=Shop._meta.get_field("municipality").choices[0][0],
        status=ShopStatus.APPROVED,
        applied_at=now - 30 * day,
        reviewed_at=now - 20 * day,
        **shop,
    )
    listing_ = Listing.objects.create(
        shop=shop_,
        unit_price=1000,
        premium_applies=True,
        is_standard=True,
        review_status=ListingReview.APPROVED,
        **listing,
    )
    ShopRound.objects.create(shop=shop_, round=round_, joined_at=now - 10 * day)
    return round_, shop_, listing_


def crowd(visitors: int, lead: float, out: str) -> None:
    now = timezone.now()
    day = datetime.timedelta(days=1)
    template = person("crowd-template@example.jp", now)["user"]
    fields = [
        f.attname
        for f in User._meta.concrete_fields
        if not f.primary_key and f.attname not in ("email", "last_login", "date_joined")
    ]
    users = User.objects.bulk_create(
        [
            User(email=f"crowd{i:05d}@example.jp", **{f: getattr(template, f) for f in fields})
            for i in range(visitors)
        ],
        batch_size=2000,
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
        batch_size=2000,
    )
    sessions, keys = [], []
    backend = settings.AUTHENTICATION_BACKENDS[0]
    for user in users:
        key = secrets.token_hex(16)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(
                session_key=key, session_data=SessionStore().encode(data), expire_date=now + day
            )
        )
        keys.append(key)
    Session.objects.bulk_create(sessions, batch_size=2000)
    # The opening counts from the end of the setup: the first arrivals come lead - 30 s later.
    opens = timezone.now() + datetime.timedelta(seconds=lead)
    project = Project.objects.create(
        name="待合室ベンチ(9時)",
        slug="bench-waitroom-crowd",
        total_budget=10**9,
        max_per_application=10**6,
        max_per_person_per_round=10**6,
    )
    round_, _shop, listing = _round_shop_listing(
        project,
        now,
        opens_at=opens,
        usage_starts_on=now.date(),
        shop={
            "name": "ベンチ商店",
            "name_kana": "ベンチショウテン",
            "address": "山口県山口市中央1-2",
            "phone": "0830000001",
            "representative_name": "山田 花子",
        },
        listing={"title": "数量限定チケット", "stock_limit": CROWD_STOCK},
    )
    room = WaitingRoom.objects.create(
        round=round_, admit_per_second=CROWD_ADMIT_PER_SECOND, max_concurrent=500
    )
    room_sync(room)
    data = {
        "round_id": round_.pk,
        "listing_id": listing.pk,
        "project_id": project.pk,
        "stock": CROWD_STOCK,
        "admit_per_second": CROWD_ADMIT_PER_SECOND,
        "opens_at": opens.timestamp(),
        "sessions": keys,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f)


def crowd_check(project_id: int) -> dict:
    """After the crowd: what PostgreSQL holds against the caps (overshoot must be 0)."""
    from django.db.models import Sum

    from purchases.models import HOLDING, Order

    project = Project.objects.get(pk=project_id)
    listing = Listing.objects.get(shop__project=project)
    holding = Order.objects.filter(project=project, status__in=HOLDING)
    units_held = holding.aggregate(n=Sum("units"))["n"] or 0
    amount_held = holding.aggregate(n=Sum("amount"))["n"] or 0
    return {
        "stock": listing.stock_limit,
        "units_sold": listing.units_sold,
        "units_in_orders": units_held,
        "orders": Order.objects.filter(project=project).count(),
        "holding_orders": holding.count(),
        "supporters_with_two_orders": holding.values("supporter")
        .annotate(n=Sum("units"))
        .filter(n__gt=1)
        .count(),
        "stock_overshoot": max(
            units_held - listing.stock_limit, listing.units_sold - listing.stock_limit, 0
        ),
        "budget_overshoot": max(project.amount_raised - project.total_budget, 0),
        "counters_match_orders": listing.units_sold == units_held
        and project.amount_raised == amount_held,
    }


def main(out: str) -> None:
    now = timezone.now()
    day = datetime.timedelta(days=1)
    project = Project.objects.create(
        name="待合室ベンチ",
        slug="bench-waitroom",
        total_budget=10**9,
        max_per_application=10**6,
        max_per_person_per_round=10**6,
    )
    round_, shop, listing = _round_shop_listing(
        project,
        now,
        opens_at=now - day,
        usage_starts_on=(now - day).date(),
        shop={
            "name": "ベンチ食堂",
            "name_kana": "ベンチショクドウ",
            "address": "山口県山口市中央1-1",
            "phone": "0830000000",
            "representative_name": "山田 太郎",
        },
        listing={"title": "プレミアム付きチケット"},
    )
    # Paused, so that the waiting page is measured with a long queue that does not move.
    room = WaitingRoom.objects.create(round=round_, paused=True, admit_per_second=100)
    operator, supporter = person("operator@example.jp", now), person("wallet@example.jp", now)
    shop.operators.add(operator["user"])
    order = order_create(
        supporter=supporter["user"],
        listing_id=listing.pk,
        round_id=round_.pk,
        units=100,
        idempotency_key="bench-waitroom-wallet-0001",
        now=now,
    )
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_bench", order.amount, True, now), now=now
    )
    wallet = Wallet.objects.get(supporter=supporter["user"], shop=shop)
    # The queue ahead of the measured visitor: settings in Redis, then the crowd, in order.
    room_sync(room)
    clock = time.time()
    for i in range(int(os.environ.get("BENCH_WAITROOM_QUEUE", "20000"))):
        queue_visit(round_id=round_.pk, visitor=f"crowd{i:06d}", now=clock)
    data = {
        "round_id": round_.pk,
        "listing_id": listing.pk,
        "shop_id": shop.pk,
        "wallet_code": wallet.code,
        "operator": {k: operator[k] for k in ("session", "csrf")},
        "supporter": {k: supporter[k] for k in ("session", "csrf")},
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f)


if __name__ == "__main__":
    if sys.argv[1] == "--crowd-check":
        print(json.dumps(crowd_check(int(sys.argv[2]))))
    elif sys.argv[1] == "--crowd":
        crowd(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
    else:
        main(sys.argv[1])
