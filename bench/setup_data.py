"""The benchmark's data, written straight into its own database (never the site's).

    python -m bench.setup_data OUT.json      (run by bench/run.py with the bench environment)

Thousands of supporters with complete profiles and verified emails, 3,000+ approved shops each
with its standard listing and a place in round 1, and a round that opens later (bench/run.py
moves the opening to a few seconds after the purchase wave starts). Everything is inserted
with bulk_create. Passwords are hashed ONCE and the hash copied to every supporter: hashing
thousands of passwords one by one with Argon2 (let alone PBKDF2) would take minutes.

Supporters are signed in already (their sessions are written here, as if they had logged in
before 9:00): the wave and My page then measure the pages, and the login phase measures logins
on its own pool of supporters.
"""

import datetime
import json
import os
import secrets
import string
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from projects.models import (  # noqa: E402
    Category,
    Listing,
    ListingReview,
    Municipality,
    Project,
    Round,
    Shop,
    ShopRound,
    ShopStatus,
    search_key,
)
from supporters.models import User  # noqa: E402

PASSWORD = "bench-password-2026"  # noqa: S105 (a benchmark database's throwaway accounts)
# Signed-in supporters (My page, purchase wave), then supporters who log in during the run.
SIGNED_IN = int(os.environ.get("BENCH_SUPPORTERS", "4000"))
LOGIN_ARGON2 = int(os.environ.get("BENCH_LOGIN_USERS", "1000"))
# PBKDF2 logins take ~0.6 s of CPU each; Django upgrades the hash at the first login, so each
# of these can show PBKDF2's cost through the front exactly once.
LOGIN_PBKDF2 = int(os.environ.get("BENCH_PBKDF2_USERS", "300"))
SHOPS = int(os.environ.get("BENCH_SHOPS", "3200"))
# The wave must exhaust this well within its 30 s and last long enough to measure a rate:
# ~1,150 applications of ¥15,000–¥20,000 (the last of each supporter's fills their ¥100,000
# cap exactly), from ~200 supporters.
BUDGET = int(os.environ.get("BENCH_BUDGET", "20000000"))
BATCH = 1000


def marker(i: int) -> str:
    """Each supporter's given name: fixed width, so no marker contains another."""
    return f"ベンチ{i:05d}号"


def csrf_secret() -> str:
    # An unmasked 32-character secret: Django accepts it as the cookie and as the form token.
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def make_users(now, argon2_hash: str, pbkdf2_hash: str) -> list[User]:
    users = []
    total = SIGNED_IN + LOGIN_ARGON2 + LOGIN_PBKDF2
    for i in range(total):
        users.append(
            User(
                email=f"bench{i:05d}@example.jp",
                password=pbkdf2_hash if i >= SIGNED_IN + LOGIN_ARGON2 else argon2_hash,
                family_name="山口",
                given_name=marker(i),
                family_name_kana="ヤマグチ",
                given_name_kana="ベンチ",
                birth_date=datetime.date(1980, 1, 1) + datetime.timedelta(days=i % 9000),
                gender="female" if i % 2 else "male",
                occupation="employee",
                postal_code="7530001",
                prefecture="35",
                city="山口市",
                street_address=f"亀山町{i}番",
                phone=f"083{i:07d}",
                date_joined=now - datetime.timedelta(days=30),
            )
        )
    User.objects.bulk_create(users, batch_size=BATCH)
    users = list(User.objects.filter(email__startswith="bench").order_by("email"))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
        batch_size=BATCH,
    )
    return users


def make_sessions(users: list[User], now) -> list[dict]:
    backend = settings.AUTHENTICATION_BACKENDS[0]
    store = SessionStore()
    expires = now + datetime.timedelta(days=1)
    sessions, people = [], []
    for i, user in enumerate(users[:SIGNED_IN]):
        key = secrets.token_hex(16)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expires)
        )
        people.append({"i": i, "id": user.pk, "session": key, "csrf": csrf_secret()})
    Session.objects.bulk_create(sessions, batch_size=BATCH)
    return people


def make_catalog(now) -> tuple[Project, Round, list[int], list[int]]:
    project = Project.objects.create(
        name="頑張るお店応援プロジェクト(ベンチマーク)",
        slug="bench",
        total_budget=BUDGET,
        max_per_application=20_000,
        max_per_person_per_round=100_000,
    )
    day = datetime.timedelta(days=1)
    opens_at = now + day  # moved by bench/run.py to a few seconds into the wave
    round_ = Round.objects.create(
        project=project,
        number=1,
        shop_applications_close_at=now - day,
        opens_at=opens_at,
        closes_at=opens_at + 21 * day,
        usage_starts_on=(opens_at + 30 * day).date(),
        usage_ends_on=(opens_at + 200 * day).date(),
    )
    categories = list(Category.values)
    places = list(Municipality.values)
    shops = []
    for i in range(SHOPS):
        name, kana = f"ベンチ食堂{i:04d}", f"ベンチショクドウ{i:04d}"
        shops.append(
            Shop(
                project=project,
                name=name,
                name_kana=kana,
                category=categories[i % len(categories)],
                municipality=places[i % len(places)],
                address=f"山口県山口市中央{i}-1",
                phone="0830000000",
                opening_hours="11:00〜21:00",
                description="地元の食材を使ったお店です。" * 4,
                representative_name="山田 太郎",
                status=ShopStatus.APPROVED,
                applied_at=now - 60 * day,
                reviewed_at=now - 30 * day,
                search_text=f"{search_key(name)}\n{search_key(kana)}",
            )
        )
    Shop.objects.bulk_create(shops, batch_size=BATCH)
    shop_ids = list(
        Shop.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    )
    Listing.objects.bulk_create(
        [
            Listing(
                shop_id=pk,
                title="プレミアム付きチケット",
                description="1口1,000円のご支援で、1,500円分のチケットをお届けします。",
                unit_price=1000,
                premium_applies=True,
                stock_limit=None,
                is_standard=True,
                review_status=ListingReview.APPROVED,
            )
            for pk in shop_ids
        ],
        batch_size=BATCH,
    )
    ShopRound.objects.bulk_create(
        [ShopRound(shop_id=pk, round=round_, joined_at=now - 30 * day) for pk in shop_ids],
        batch_size=BATCH,
    )
    listing_ids = list(
        Listing.objects.filter(shop__project=project)
        .order_by("shop_id")
        .values_list("pk", flat=True)
    )
    return project, round_, shop_ids, listing_ids


def main(out: str) -> None:
    now = timezone.now()
    argon2_hash = make_password(PASSWORD)  # the configured hasher (Argon2id), once
    pbkdf2_hash = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())  # once
    with transaction.atomic():
        project, round_, shop_ids, listing_ids = make_catalog(now)
        users = make_users(now, argon2_hash, pbkdf2_hash)
        people = make_sessions(users, now)
    login_argon2 = [u.email for u in users[SIGNED_IN : SIGNED_IN + LOGIN_ARGON2]]
    login_pbkdf2 = [u.email for u in users[SIGNED_IN + LOGIN_ARGON2 :]]
    data = {
        "password": PASSWORD,
        "project_id": project.pk,
        "round_id": round_.pk,
        "round_path": round_.get_absolute_url(),
        "budget": project.total_budget,
        "max_per_application": project.max_per_application,
        "max_per_person_per_round": project.max_per_person_per_round,
        "shop_ids": shop_ids,
        "listing_ids": listing_ids,
        "people": people,
        "login_argon2": login_argon2,
        "login_pbkdf2": login_pbkdf2,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f)
    print(
        f"[bench] {len(users)} supporters ({len(people)} signed in), {len(shop_ids)} shops, "
        f"budget ¥{project.total_budget:,}",
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
