"""Demo catalog modelled on the real programme: one project, four rounds (one open now), about
60 shops across Yamaguchi Prefecture with photos drawn locally, and the demo operator's shop.

Idempotent: rows are found by natural keys and only created when missing, so running it again
changes nothing (the rounds keep the dates of their first run). Demo only: called from
`manage.py seed_demo`, which refuses to run in production.
"""

import datetime
import io
import random
from typing import TextIO

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw

from projects.models import (
    Category,
    Listing,
    ListingReview,
    Municipality,
    Project,
    Round,
    Shop,
    ShopStatus,
)
from projects.services import shop_approve, shop_enrol_in_rounds

PROJECT_SLUG = "ganbaru-2026"
DAY = datetime.timedelta(days=1)
SHOP_COUNT = 60
PENDING_COUNT = 3

PREFIXES = [
    ("さくら", "サクラ"),
    ("みなと", "ミナト"),
    ("松風", "マツカゼ"),
    ("海峡", "カイキョウ"),
    ("瑠璃", "ルリ"),
    ("錦", "ニシキ"),
    ("亀山", "カメヤマ"),
    ("湯田", "ユダ"),
    ("秋吉", "アキヨシ"),
    ("角島", "ツノシマ"),
    ("大内", "オオウチ"),
    ("月見", "ツキミ"),
    ("ひまわり", "ヒマワリ"),
    ("白壁", "シラカベ"),
    ("笠山", "カサヤマ"),
    ("青海", "オウミ"),
    ("ほたる", "ホタル"),
]

KINDS = {
    Category.RESTAURANT: [
        ("食堂", "ショクドウ"),
        ("ふく料理", "フクリョウリ"),
        ("うどん", "ウドン"),
        ("瓦そば", "カワラソバ"),
    ],
    Category.CAFE: [("珈琲店", "コーヒーテン"), ("甘味処", "カンミドコロ")],
    Category.BAR: [("居酒屋", "イザカヤ"), ("酒場", "サカバ")],
    Category.FOOD: [("蒲鉾店", "カマボコテン"), ("和菓子店", "ワガシテン"), ("酒造", "シュゾウ")],
    Category.RETAIL: [("萩焼ギャラリー", "ハギヤキギャラリー"), ("雑貨店", "ザッカテン")],
    Category.BEAUTY: [("美容室", "ビヨウシツ"), ("理容室", "リヨウシツ")],
    Category.LODGING: [("旅館", "リョカン"), ("温泉宿", "オンセンヤド")],
    Category.LEISURE: [("釣り船", "ツリブネ"), ("陶芸体験工房", "トウゲイタイケンコウボウ")],
    Category.SERVICE: [("クリーニング", "クリーニング"), ("自転車店", "ジテンシャテン")],
}

COLOURS = {
    Category.RESTAURANT: (194, 65, 12),
    Category.CAFE: (120, 72, 40),
    Category.BAR: (127, 29, 29),
    Category.FOOD: (202, 138, 4),
    Category.RETAIL: (37, 99, 235),
    Category.BEAUTY: (190, 24, 93),
    Category.LODGING: (22, 101, 52),
    Category.LEISURE: (8, 145, 178),
    Category.SERVICE: (82, 96, 109),
}

HOURS = ["11:00〜21:00(水曜定休)", "10:00〜18:00", "17:00〜24:00(日曜定休)", "9:00〜19:00"]


def at_nine(day: datetime.datetime) -> datetime.datetime:
    """9:00 Japan time on `day`'s date: recruitment opens at 9:00, as in the real programme."""
    jst = datetime.timezone(datetime.timedelta(hours=9))
    local = day.astimezone(jst)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)


def demo_photo(seed: int, colour: tuple[int, int, int]) -> bytes:
    """A 640x400 JPEG drawn here (no download): the category's colour and a few shapes."""
    rng = random.Random(seed)  # noqa: S311 (decoration, not security)
    image = Image.new("RGB", (640, 400), colour)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(-80, 600), rng.randint(-80, 360)
        r = rng.randint(40, 160)
        tint = tuple(min(255, c + rng.randint(30, 110)) for c in colour)
        draw.ellipse((x, y, x + r, y + r), fill=tint)
    draw.rectangle((0, 330, 640, 400), fill=(255, 255, 255))
    draw.text((24, 350), "kaika", fill=colour, font_size=36)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def seed_catalog(*, now: datetime.datetime, stdout: TextIO, operator=None) -> Project:
    with transaction.atomic():
        project = _project()
        rounds = _rounds(project, now)
        shops = _shops(project, rounds, now)
        if operator is not None:
            _operator_shop(project, rounds, operator, now)
    stdout.write(
        f"catalog: {project.name}, {len(rounds)} rounds "
        f"({sum(r.is_open_at(now) for r in rounds)} open now), "
        f"{Shop.objects.listed().filter(project=project).count()} listed shops, "
        f"{len(shops) - SHOP_COUNT} applications awaiting review\n"
    )
    return project


def _project() -> Project:
    project, _ = Project.objects.get_or_create(
        slug=PROJECT_SLUG,
        defaults={
            "name": "頑張るお店応援プロジェクト(デモ)",
            "description": (
                "新型コロナウイルスの影響を受けた県内のお店を、先払いで応援するプロジェクトです。"
                "1口1,000円のご支援で、支援額の150%分のプレミアム付きチケットをお届けします。"
                "予算に達した時点で、期の途中でも受付を終了します。"
            ),
            "total_budget": 2_000_000_000,
            "electronic_tickets": True,
            "paper_tickets": True,
        },
    )
    return project


def _rounds(project: Project, now: datetime.datetime) -> list[Round]:
    day = DAY
    # Round 2 opened two days ago at 9:00 and runs three weeks: it is open now.
    starts = {1: -120, 2: -2, 3: 90, 4: 180}
    rounds = []
    for number, offset in starts.items():
        opens_at = at_nine(now + offset * day)
        closes_at = opens_at + 21 * day - datetime.timedelta(hours=9, seconds=1)
        round_, _ = Round.objects.get_or_create(
            project=project,
            number=number,
            defaults={
                "shop_applications_close_at": opens_at - 14 * day,
                "opens_at": opens_at,
                "closes_at": closes_at,
                "usage_starts_on": (closes_at + 14 * day).date(),
                "usage_ends_on": (closes_at + 190 * day).date(),
            },
        )
        rounds.append(round_)
    return rounds


def _shops(project: Project, rounds: list[Round], now: datetime.datetime) -> list[Shop]:
    rng = random.Random(2021)  # noqa: S311 (reproducible demo data)
    categories = list(KINDS)
    municipalities = list(Municipality)
    shops = []
    for i in range(SHOP_COUNT + PENDING_COUNT):
        category = categories[i % len(categories)]
        kind, kind_kana = KINDS[category][(i // len(categories)) % len(KINDS[category])]
        prefix, prefix_kana = PREFIXES[i % len(PREFIXES)]
        municipality = municipalities[rng.randrange(len(municipalities))]
        # Most applied before round 1's deadline; every tenth after round 2's, so it joins
        # from round 3 on (the application date decides the rounds).
        if i % 10 == 9:
            applied_at = rounds[1].shop_applications_close_at + rng.randint(1, 5) * DAY
        else:
            applied_at = rounds[0].shop_applications_close_at - rng.randint(1, 30) * DAY
        shop, created = Shop.objects.get_or_create(
            project=project,
            name=f"{prefix}{kind}",
            defaults={
                "name_kana": f"{prefix_kana}{kind_kana}",
                "category": category,
                "municipality": municipality,
                "address": (
                    f"山口県{municipality.label}中央{rng.randint(1, 9)}-{rng.randint(1, 30)}"
                ),
                "phone": f"083{rng.randint(2000000, 9999999)}",
                "opening_hours": HOURS[i % len(HOURS)],
                "description": (
                    f"{municipality.label}で営む{kind}です。"
                    "地元のみなさまに支えられて続けてきました。応援をよろしくお願いします。"
                ),
                "representative_name": "山口 太郎",
                "applied_at": applied_at,
                "status": ShopStatus.APPLIED,
            },
        )
        if not shop.photo:
            shop.photo.save(f"demo-{i:03d}.jpg", ContentFile(demo_photo(i, COLOURS[category])))
        if created and i < SHOP_COUNT:
            shop = shop_approve(shop=shop, now=now, comment="営業実態を確認しました(デモ)。")
        shops.append(shop)
    return shops


def _operator_shop(project: Project, rounds: list[Round], operator, now) -> Shop:
    shop, created = Shop.objects.get_or_create(
        project=project,
        name="亀山のれん食堂",
        defaults={
            "name_kana": "カメヤマノレンショクドウ",
            "category": Category.RESTAURANT,
            "municipality": Municipality.YAMAGUCHI,
            "address": "山口県山口市亀山町1-1",
            "phone": "0839000000",
            "opening_hours": "11:30〜14:00 / 17:30〜22:00(月曜定休)",
            "description": "山口の旬の食材を使った定食と、夜はコース料理のお店です。",
            "representative_name": "商店 花子",
            "applied_at": rounds[0].shop_applications_close_at - datetime.timedelta(days=3),
            "status": ShopStatus.APPLIED,
        },
    )
    shop.operators.add(operator)
    if not shop.photo:
        shop.photo.save("demo-operator.jpg", ContentFile(demo_photo(999, (194, 65, 12))))
    if created:
        shop = shop_approve(shop=shop, now=now)
        # The applicant is set after approval so that seeding sends no approval email.
        Shop.objects.filter(pk=shop.pk).update(applicant=operator)
    # In the programme since round 1, whose tickets are in use now: the demo supporter backed
    # it then (purchases.demo), so that the till can be tried today.
    shop_enrol_in_rounds(shop=shop, now=rounds[0].opens_at)
    Listing.objects.get_or_create(
        shop=shop,
        title="2名様ディナーコース",
        defaults={
            "description": "1口10,000円のご支援で、15,000円分のチケット(2名様のコース料理に)。",
            "unit_price": 10_000,
            "premium_applies": True,
            "stock_limit": 50,
            "per_person_limit": 2,
            # Approved by the office when the demo was made, so that it is on sale.
            "review_status": ListingReview.APPROVED,
            "reviewed_at": now,
        },
    )
    return shop
