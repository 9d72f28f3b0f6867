import datetime

from django.db import transaction
from django.utils.crypto import salted_hmac

from kaika.data_rights import erase_user_data, export_user_data
from supporters.models import DataRightsRequest, User


def email_hash(email: str) -> str:
    return salted_hmac("kaika.data-rights", email.strip().lower(), algorithm="sha256").hexdigest()


def user_data_export(*, user: User, now: datetime.datetime) -> dict:
    DataRightsRequest.objects.create(
        kind=DataRightsRequest.Kind.EXPORT,
        user=user,
        email_hash=email_hash(user.email),
        created_at=now,
    )
    return {"exported_at": now.isoformat(), **export_user_data(user=user)}


@transaction.atomic
def user_delete(*, user: User, now: datetime.datetime) -> None:
    DataRightsRequest.objects.create(
        kind=DataRightsRequest.Kind.DELETE,
        user=user,
        email_hash=email_hash(user.email),
        created_at=now,
    )
    erase_user_data(user=user)
