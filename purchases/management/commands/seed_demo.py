"""Demo accounts for trying kaika locally, the demo catalog (projects.demo) and the demo
supporter's paid orders (purchases.demo). Idempotent: run it as often as you like. In the
purchases app because it backs a shop through the purchase services (apps import downward).

Refuses to run unless KAIKA_ALLOW_DEMO_DATA is on (it is with DEBUG, never in production).
"""

import datetime

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from projects.demo import seed_catalog
from projects.models import Shop
from purchases.demo import seed_orders
from supporters.models import Gender, Occupation, User

DEMO_PASSWORD = "kaika-demo-2026"

DEMO_ACCOUNTS = [
    {
        "email": "staff@example.jp",
        "role": "staff",
        "try": "admin at /admin/ (asks to set up an authenticator app)",
        "is_staff": True,
        "is_superuser": True,
        "profile": {
            "family_name": "事務局",
            "given_name": "太郎",
            "family_name_kana": "ジムキョク",
            "given_name_kana": "タロウ",
        },
    },
    {
        "email": "shop@example.jp",
        "role": "operator",
        "try": "shop management at /shops/manage/ (the till: ticket use)",
        "profile": {
            "family_name": "商店",
            "given_name": "花子",
            "family_name_kana": "ショウテン",
            "given_name_kana": "ハナコ",
        },
    },
    {
        "email": "supporter@example.jp",
        "role": "supporter",
        "try": "paid orders and tickets usable today at /mypage/",
        "profile": {
            "family_name": "山口",
            "given_name": "一郎",
            "family_name_kana": "ヤマグチ",
            "given_name_kana": "イチロウ",
        },
    },
]

COMMON_PROFILE = {
    "birth_date": datetime.date(1985, 4, 1),
    "gender": Gender.UNSPECIFIED,
    "occupation": Occupation.EMPLOYEE,
    "postal_code": "7530001",
    "prefecture": "35",
    "city": "山口市",
    "street_address": "亀山町1-1",
    "phone": "0830000000",
}


class Command(BaseCommand):
    help = (
        "Creates the demo accounts, the demo catalog (project, rounds, shops) and the demo "
        "supporter's paid orders with tickets usable today (demo only)."
    )

    def handle(self, *args, **options):
        if not settings.KAIKA_ALLOW_DEMO_DATA:
            raise CommandError("Demo data is disabled here (KAIKA_ALLOW_DEMO_DATA is off).")
        with transaction.atomic():
            users = {account["email"]: self.ensure_account(account) for account in DEMO_ACCOUNTS}
        now = timezone.now()
        operator = users["shop@example.jp"]
        seed_catalog(now=now, stdout=self.stdout, operator=operator)
        shop = Shop.objects.operated_by(operator).get()
        seed_orders(supporter=users["supporter@example.jp"], shop=shop, now=now, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo accounts ready (password: {DEMO_PASSWORD})"))
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account['role']:<9} {account['email']:<22} {account['try']}")

    def ensure_account(self, account: dict) -> User:
        email = account["email"]
        user, created = User.objects.get_or_create(
            email=email,
            defaults={
                "is_staff": account.get("is_staff", False),
                "is_superuser": account.get("is_superuser", False),
                **COMMON_PROFILE,
                **account["profile"],
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        self.stdout.write(f"{'created' if created else 'exists '} {email}")
        return user
