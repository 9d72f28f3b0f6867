import datetime
import uuid

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils.crypto import salted_hmac

from kaika import data_rights
from kaika.data_rights import iso
from supporters.forms import PROFILE_FIELDS
from supporters.models import DataRightsRequest, User


def email_hash(email: str) -> str:
    return salted_hmac("kaika.data-rights", email.strip().lower(), algorithm="sha256").hexdigest()


def user_data_export(*, user: User, now: datetime.datetime) -> dict:
    """Everything held about the person: their account here, then each app's part."""
    DataRightsRequest.objects.create(
        kind=DataRightsRequest.Kind.EXPORT,
        user=user,
        email_hash=email_hash(user.email),
        created_at=now,
    )
    account = {
        "email": user.email,
        "date_joined": iso(user.date_joined),
        "last_login": iso(user.last_login),
        "terms_agreed_at": iso(user.terms_agreed_at),
        "terms_version": user.terms_version,
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
    }
    return {
        "exported_at": now.isoformat(),
        "account": account,
        "profile": {name: iso(getattr(user, name)) for name in PROFILE_FIELDS},
        **data_rights.export_user_data(user=user),
    }


@transaction.atomic
def user_delete(*, user: User, now: datetime.datetime) -> None:
    """Erase the person: each app's part first, then the row itself is emptied. The row stays,
    holding nothing personal, for what accounting keeps pointing at it (orders, tickets)."""
    DataRightsRequest.objects.create(
        kind=DataRightsRequest.Kind.DELETE,
        user=user,
        email_hash=email_hash(user.email),
        created_at=now,
    )
    data_rights.erase_user_data(user=user)
    EmailAddress.objects.filter(user=user).delete()
    for name in PROFILE_FIELDS:
        setattr(user, name, None if name == "birth_date" else "")
    user.email = f"deleted-{uuid.uuid4().hex}@deleted.invalid"
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    # A new (unusable) password changes the session hash: every session of theirs ends.
    user.set_unusable_password()
    user.save()
