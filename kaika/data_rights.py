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
from purchases.models import Order, Ticket
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
        "orders": [
            {
                "code": o.code,
                "shop": o.shop.name,
                "listing": o.listing.title,
                "units": o.units,
                "amount": o.amount,
                "tickets_value": o.tickets_value,
                "status": o.status,
                "created_at": _iso(o.created_at),
                "paid_at": _iso(o.paid_at),
            }
            for o in Order.objects.filter(supporter=user).select_related("shop", "listing")
        ],
        "tickets": [
            {
                "code": t.code,
                "shop": t.shop.name,
                "label": t.label,
                "face_value": t.face_value,
                "balance": t.balance,
                "status": t.status,
                "issued_at": _iso(t.issued_at),
                "uses": [{"amount": u.amount, "used_at": _iso(u.used_at)} for u in t.uses.all()],
            }
            for t in Ticket.objects.filter(supporter=user)
            .select_related("shop")
            .prefetch_related("uses")
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

    # Orders and tickets stay, for accounting and the shops' figures, pointing at this row;
    # the row stays but holds nothing personal. Unused ticket balances are not voided here:
    # they are prepaid value, and a refund is a staff decision (see the purchases admin).
    for name in PROFILE_FIELDS:
        setattr(user, name, None if name == "birth_date" else "")
    user.email = f"deleted-{uuid.uuid4().hex}@deleted.invalid"
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    # A new (unusable) password changes the session hash: every session of theirs ends.
    user.set_unusable_password()
    user.save()
