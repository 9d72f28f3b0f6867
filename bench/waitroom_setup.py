"""The waiting room benchmark's data (issue 23), in its own database.

    python -m bench.waitroom_setup OUT.json      (run by bench/waitroom.py)

A round open now with its waiting room, one shop whose operator is signed in at the till, and
a supporter with a paid wallet big enough for every use the till phase takes (1 yen each).
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
    round_ = Round.objects.create(
        project=project,
        number=1,
        shop_applications_close_at=now - 10 * day,
        opens_at=now - day,
        closes_at=now + 20 * day,
        usage_starts_on=(now - day).date(),
        usage_ends_on=(now + 200 * day).date(),
    )
    shop = Shop.objects.create(
        project=project,
        name="ベンチ食堂",
        name_kana="ベンチショクドウ",
        category="restaurant",
        municipality=Shop._meta.get_field("municipality").choices[0][0],
        address="山口県山口市中央1-1",
        phone="0830000000",
        representative_name="山田 太郎",
        status=ShopStatus.APPROVED,
        applied_at=now - 30 * day,
        reviewed_at=now - 20 * day,
    )
    listing = Listing.objects.create(
        shop=shop,
        title="プレミアム付きチケット",
        unit_price=1000,
        premium_applies=True,
        is_standard=True,
        review_status=ListingReview.APPROVED,
    )
    ShopRound.objects.create(shop=shop, round=round_, joined_at=now - 10 * day)
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
    main(sys.argv[1])
