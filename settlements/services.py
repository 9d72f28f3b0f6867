"""State changes of payee accounts: an operator registers or changes one, staff confirm it.

A change is the classic payout fraud (someone with an operator's password points the shop's
money elsewhere), so each one is recorded, emailed to every operator of the shop and holds
the shop's payouts until staff confirm the version they were shown.
"""

import datetime
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kaika.errors import DomainError
from kaika.mail import send_email_on_commit
from projects.models import Shop
from settlements.models import (
    ChangeKind,
    HoldReason,
    PayeeAccount,
    PayeeAccountChange,
)
from supporters.models import User


class PayeeError(DomainError):
    MESSAGES = {
        "changed_meanwhile": _(
            "%(shop)s の口座は、確認画面を開いた後に変更されました。"
            "新しい内容をもう一度確認してください。"
        ),
        "not_held": _("%(shop)s の口座はすでに確認済みです。"),
    }


@dataclass(frozen=True)
class PayeeDetails:
    """What an account is, checked and in the bank's form (settlements.forms builds it)."""

    bank_code: str
    bank_name: str
    bank_name_kana: str
    branch_code: str
    branch_name: str
    branch_name_kana: str
    account_type: str
    account_number: str
    holder_name: str

    @classmethod
    def of(cls, account: PayeeAccount) -> "PayeeDetails":
        return cls(**{name: getattr(account, name) for name in cls.__dataclass_fields__})


def payee_account_save(
    *, shop: Shop, details: PayeeDetails, by: User, now: datetime.datetime
) -> PayeeAccountChange | None:
    """Register or change `shop`'s account. Returns the change recorded, or None when the
    details are the ones already held (nothing recorded, held or sent)."""
    with transaction.atomic():
        # The shop's row is the lock: two operators saving at once (the first registration
        # included, when there is no account row yet) are recorded one after the other.
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        account = PayeeAccount.objects.filter(shop=shop).first()
        if account is not None and PayeeDetails.of(account) == details:
            return None
        if account is None:
            kind, reason, before = ChangeKind.REGISTERED, HoldReason.REGISTERED, {}
            account = PayeeAccount(shop=shop, version=0)
        else:
            kind, reason, before = ChangeKind.CHANGED, HoldReason.CHANGED, account.snapshot()
        for name, value in asdict(details).items():
            setattr(account, name, value)
        account.version += 1
        account.updated_at = now
        account.updated_by = by
        # Until staff confirm this version, no settlement pays into it (payable()).
        account.payout_hold = True
        account.hold_reason = reason
        account.confirmed_at = None
        account.confirmed_by = None
        account.full_clean()
        account.save()
        change = PayeeAccountChange.objects.create(
            account=account,
            kind=kind,
            version=account.version,
            at=now,
            by=by,
            before=before,
            after=account.snapshot(),
        )
        _notify_operators(shop, change)
    return change


def payee_account_confirm(
    *, account: PayeeAccount, version: int, by: User, now: datetime.datetime
) -> PayeeAccountChange:
    """Staff have checked the account's details as of `version` (with the shop, by a call to
    its phone number on file): its payouts are released."""
    with transaction.atomic():
        # Locked and re-checked: an operator's change after staff opened the page gives a
        # new version, which this confirmation must not release.
        locked = PayeeAccount.objects.select_for_update().select_related("shop").get(pk=account.pk)
        if locked.version != version:
            raise PayeeError("changed_meanwhile", shop=locked.shop.name)
        if not locked.payout_hold:
            raise PayeeError("not_held", shop=locked.shop.name)
        locked.payout_hold = False
        locked.hold_reason = ""
        locked.confirmed_at = now
        locked.confirmed_by = by
        locked.save(update_fields=["payout_hold", "hold_reason", "confirmed_at", "confirmed_by"])
        snapshot = locked.snapshot()
        return PayeeAccountChange.objects.create(
            account=locked,
            kind=ChangeKind.CONFIRMED,
            version=locked.version,
            at=now,
            by=by,
            before=snapshot,
            after=snapshot,
        )


def _notify_operators(shop: Shop, change: PayeeAccountChange) -> None:
    """Every operator of the shop hears of it, each in a message of their own (no one sees
    the others' addresses): the one who did not make the change is the one who must know."""
    recipients = sorted(
        shop.operators.filter(is_active=True).exclude(email="").values_list("email", flat=True)
    )
    if not recipients:
        return
    # Operators read Japanese; the email does not follow the language of the page.
    with translation.override("ja"):
        context = {
            "shop": shop,
            "change": change,
            "site_url": settings.KAIKA_SITE_URL,
            "office": settings.KAIKA_OFFICE,
        }
        subject = render_to_string("settlements/email/payee_changed_subject.txt", context)
        body = render_to_string("settlements/email/payee_changed_body.txt", context)
    for email in recipients:
        send_email_on_commit(EmailMessage(subject=subject.strip(), body=body, to=[email]))
