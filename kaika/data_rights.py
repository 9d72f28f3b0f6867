"""Supporters' rights over their data (Japan's Act on the Protection of Personal Information):
everything held about a person, to download; and erasure when they leave.

Each app's data is listed here explicitly, export and erasure side by side, so that a new
model holding personal data has one obvious place to be added (the purchases app adds its
orders and tickets here: kept for accounting, detached from the person).
"""

import uuid
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction

from inquiries.models import Inquiry
from projects.models import Shop
from supporters.forms import PROFILE_FIELDS
from supporters.models import User


def _iso(value) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_user_data(*, user: User) -> dict:
    return {
        "account": {
            "email": user.email,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
            "email_addresses": [
                {"email": e.email, "verified": e.verified, "primary": e.primary}
                for e in EmailAddress.objects.filter(user=user).order_by("pk")
            ],
        },
        "profile": {name: _iso(getattr(user, name)) for name in PROFILE_FIELDS},
        "inquiries": [
            {
                "reference": i.reference,
                "created_at": _iso(i.created_at),
                "name": i.name,
                "email": i.email,
                "category": i.category,
                "subject": i.subject,
                "body": i.body,
                "status": i.status,
                "replies": [
                    {"sent_at": _iso(r.created_at), "body": r.body} for r in i.replies.all()
                ],
            }
            for i in Inquiry.objects.filter(user=user).prefetch_related("replies").order_by("pk")
        ],
        "shops_operated": [
            {"name": s.name, "status": s.status} for s in Shop.objects.operated_by(user)
        ],
    }


@transaction.atomic
def erase_user_data(*, user: User) -> None:
    """Erase the person; keep only what accounting and the shops' records need, detached."""
    # The contact history is theirs alone: erased with them.
    Inquiry.objects.filter(user=user).delete()
    # Shops stay listed (they are businesses, not this person); the person is taken off them.
    user.operated_shops.clear()
    Shop.objects.filter(applicant=user).update(applicant=None)
    EmailAddress.objects.filter(user=user).delete()

    # The row stays (orders and tickets point at it for accounting) but holds nothing personal.
    for name in PROFILE_FIELDS:
        setattr(user, name, None if name == "birth_date" else "")
    user.email = f"deleted-{uuid.uuid4().hex}@deleted.invalid"
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    # A new (unusable) password changes the session hash: every session of theirs ends.
    user.set_unusable_password()
    user.save()
