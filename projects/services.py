"""State changes of the catalog: shop applications and reviews, listings, round suspension.

Each is one transaction: lock the row that carries the rule, re-check the rule on the locked
row, write, and leave emails to `send_email_on_commit` (sent only if the transaction commits).
"""

import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kaika.debug import pause_after_checks
from kaika.errors import DomainError
from kaika.mail import send_email_on_commit
from projects.models import (
    ALLOCATION_MODE_FIXED,
    LISTING_REVIEWED_FIELDS,
    Listing,
    ListingReview,
    Project,
    Round,
    Shop,
    ShopRound,
    ShopStatus,
)
from supporters.models import User


class CatalogError(DomainError):
    """One domain error of this app; `code` picks a sentence the user can act on."""

    MESSAGES = {
        "shop_not_pending": _("この申請はすでに審査済みです。"),
        "shop_not_approved": _("承認された店舗だけがリターンを掲載できます。"),
        "shop_not_listed": _("承認済みの店舗ではありません。"),
        "stock_below_sold": _("販売上限数は、すでに販売した口数(%(sold)s口)より少なくできません。"),
        "standard_listing": _("標準のプレミアム付きチケットは変更・取り下げできません。"),
        "reason_required": _("一時停止の理由を入力してください。"),
        "listing_not_pending": _("このリターンは審査待ちではありません。"),
        "listing_not_reviewable": _("審査待ちか承認済みのリターンだけを差し戻せます。"),
        "rejection_reason_required": _("差し戻しの理由を入力してください(店舗にお知らせします)。"),
        "listing_price": _("1口の金額が事業のルールに合いません。%(reason)s"),
        "allocation_mode_fixed": ALLOCATION_MODE_FIXED,
    }


SHOP_APPLICATION_FIELDS = (
    "name",
    "name_kana",
    "category",
    "municipality",
    "address",
    "phone",
    "opening_hours",
    "description",
    "website",
    "representative_name",
)

LISTING_FIELDS = (
    "title",
    "description",
    "photo",
    "unit_price",
    "premium_applies",
    "stock_limit",
    "per_person_limit",
    "is_active",
)


# --- Shops ---------------------------------------------------------------------------------


def shop_apply(
    *, applicant: User, project: Project, data: dict[str, Any], now: datetime.datetime
) -> Shop:
    """A business asks to take part. It is listed only once the office has checked it."""
    with transaction.atomic():
        shop = Shop(project=project, applicant=applicant, applied_at=now)
        for field in SHOP_APPLICATION_FIELDS:
            if field in data:
                setattr(shop, field, data[field])
        if data.get("photo"):
            shop.photo = data["photo"]
        shop.full_clean(exclude=["photo"])
        shop.save()
        shop.operators.add(applicant)
    return shop


def shop_approve(*, shop: Shop, now: datetime.datetime, comment: str = "") -> Shop:
    with transaction.atomic():
        # Locked so that two staff clicking "approve" at once send one email, make one listing.
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if shop.status not in (ShopStatus.APPLIED, ShopStatus.REJECTED):
            raise CatalogError("shop_not_pending")
        shop.status = ShopStatus.APPROVED
        shop.reviewed_at = now
        shop.review_comment = comment  # this decision's message; blank clears an old one
        shop.save(update_fields=["status", "reviewed_at", "review_comment"])
        Listing.objects.get_or_create(
            shop=shop,
            is_standard=True,
            defaults={
                "title": str(_("プレミアム付きチケット")),
                "description": str(
                    _("1口%(price)s円のご支援で、%(value)s円分のチケットをお届けします。")
                    % {
                        "price": f"{shop.project.unit_price:,}",
                        "value": f"{shop.project.tickets_value(shop.project.unit_price):,}",
                    }
                ),
                "unit_price": shop.project.unit_price,
                "premium_applies": True,
                "stock_limit": None,
                # The project's own terms, approved with the shop.
                "review_status": ListingReview.APPROVED,
                "reviewed_at": now,
            },
        )
        shop_enrol_in_rounds(shop=shop, now=now)
        _notify_review(shop, "approved")
    return shop


def shop_reject(*, shop: Shop, now: datetime.datetime, comment: str = "") -> Shop:
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if shop.status != ShopStatus.APPLIED:
            raise CatalogError("shop_not_pending")
        shop.status = ShopStatus.REJECTED
        shop.reviewed_at = now
        shop.review_comment = comment  # this decision's message; blank clears an old one
        shop.save(update_fields=["status", "reviewed_at", "review_comment"])
        _notify_review(shop, "rejected")
    return shop


def shop_withdraw(*, shop: Shop, now: datetime.datetime, comment: str) -> Shop:
    """Staff take an approved shop out of the programme (it closed, or was found not to
    qualify): its page leaves the site, nothing of it is sold and it takes no more tickets.
    Orders and tickets stay as they are: staff refund what is owed (purchases admin)."""
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if shop.status != ShopStatus.APPROVED:
            raise CatalogError("shop_not_listed")
        shop.status = ShopStatus.WITHDRAWN
        shop.reviewed_at = now
        shop.review_comment = comment
        shop.save(update_fields=["status", "reviewed_at", "review_comment"])
        _notify_review(shop, "withdrawn")
    return shop


def shop_enrol_in_rounds(*, shop: Shop, now: datetime.datetime) -> list[ShopRound]:
    """The application date decides the rounds: a shop joins every round of its project whose
    shop application deadline is at or after its application, unless that round is over."""
    rounds = Round.objects.filter(
        project_id=shop.project_id,
        shop_applications_close_at__gte=shop.applied_at,
        closes_at__gt=now,
    )
    return [
        ShopRound.objects.get_or_create(shop=shop, round=r, defaults={"joined_at": now})[0]
        for r in rounds
    ]


def round_enrol_shops(*, round_: Round, now: datetime.datetime) -> int:
    """A round created after shops were approved takes every approved shop that applied by its
    deadline. Returns how many joined."""
    # Only shops not in it yet: bulk_create with ignore_conflicts returns every row it was
    # given, inserted or not, so saving a round would say every shop joined again.
    shops = (
        Shop.objects.listed()
        .filter(project_id=round_.project_id, applied_at__lte=round_.shop_applications_close_at)
        .exclude(participations__round=round_)
    )
    joined = ShopRound.objects.bulk_create(
        [ShopRound(shop=s, round=round_, joined_at=now) for s in shops],
        ignore_conflicts=True,
    )
    return len(joined)


def _notify_review(shop: Shop, outcome: str) -> None:
    if shop.applicant is None:
        return
    # The applicant reads Japanese; the email does not follow the staff member's language.
    with translation.override("ja"):
        context = {"shop": shop, "outcome": outcome, "site_url": settings.KAIKA_SITE_URL}
        subject = render_to_string("projects/email/shop_review_subject.txt", context).strip()
        body = render_to_string("projects/email/shop_review_body.txt", context)
    send_email_on_commit(EmailMessage(subject=subject, body=body, to=[shop.applicant.email]))


# --- Listings ------------------------------------------------------------------------------


def _check_price(listing: Listing) -> None:
    """The project's price rules (Listing.clean), as the form already said: a direct call of
    the service cannot skip them."""
    try:
        listing.clean()
    except ValidationError as error:
        raise CatalogError("listing_price", reason=" ".join(error.messages)) from None


def listing_create(
    *,
    shop: Shop,
    data: dict[str, Any],
    now: datetime.datetime,
    rounds: list[Round] | None = None,
    submit: bool = True,
) -> Listing:
    """A new listing, sent to the office for review (`submit`) or kept as a draft: it goes on
    sale only once staff approve it (listing_approve)."""
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if shop.status != ShopStatus.APPROVED:
            raise CatalogError("shop_not_approved")
        listing = Listing(shop=shop)
        for field in LISTING_FIELDS:
            if field in data:
                setattr(listing, field, data[field])
        _check_price(listing)
        _set_review(listing, submit=submit, reviewed_change=True, now=now)
        listing.save()
        if rounds:
            listing.rounds.set(rounds)
    return listing


def listing_update(
    *,
    listing: Listing,
    data: dict[str, Any],
    now: datetime.datetime,
    rounds: list[Round] | None = None,
    submit: bool = True,
) -> Listing:
    """The operator's changes. A change of price or premium sends an approved listing back to
    the office (off sale until approved again); other changes keep its review."""
    if listing.is_standard:
        raise CatalogError("standard_listing")
    with transaction.atomic():
        # Locked: a sale (purchases app) may raise units_sold while the operator edits; the
        # stock rule is checked against the locked, current count, not the one on the form.
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        stock_limit = data.get("stock_limit", locked.stock_limit)
        if stock_limit is not None and stock_limit < locked.units_sold:
            raise CatalogError("stock_below_sold", sold=locked.units_sold)
        reviewed_change = any(
            field in data and data[field] != getattr(locked, field)
            for field in LISTING_REVIEWED_FIELDS
        )
        for field in LISTING_FIELDS:
            if field in data:
                setattr(locked, field, data[field])
        _check_price(locked)
        _set_review(locked, submit=submit, reviewed_change=reviewed_change, now=now)
        locked.save()
        if rounds is not None:
            locked.rounds.set(rounds)
    return locked


def _set_review(listing: Listing, *, submit: bool, reviewed_change: bool, now) -> None:
    if not submit:
        listing.review_status = ListingReview.DRAFT
    elif listing.review_status == ListingReview.APPROVED and not reviewed_change:
        return  # approved terms unchanged: still on sale
    elif listing.review_status != ListingReview.PENDING or reviewed_change:
        listing.review_status = ListingReview.PENDING
        listing.submitted_at = now
    listing.review_comment = ""  # a new answer is asked for; the old one is in admin's history


def listing_approve(*, listing: Listing, now: datetime.datetime, comment: str = "") -> Listing:
    """Staff approve a listing awaiting review: it is on sale from now (while active), and
    its operators are told. Its price is checked again against the project's rules."""
    with transaction.atomic():
        # The listing's row only: never the project's, which every 9:00 order updates.
        locked = (
            Listing.objects.select_for_update(of=("self",))
            .select_related("shop__project")
            .get(pk=listing.pk)
        )
        if locked.review_status != ListingReview.PENDING:
            raise CatalogError("listing_not_pending")
        _check_price(locked)
        locked.review_status = ListingReview.APPROVED
        locked.review_comment = comment.strip()
        locked.reviewed_at = now
        locked.save(update_fields=["review_status", "review_comment", "reviewed_at", "updated_at"])
        _notify_listing_review(locked)
    return locked


def listing_reject(*, listing: Listing, now: datetime.datetime, comment: str) -> Listing:
    """Staff send a listing back to its shop with the reason (one awaiting review, or one on
    sale that must stop): off sale until the operator changes it and asks again."""
    if not comment.strip():
        raise CatalogError("rejection_reason_required")
    with transaction.atomic():
        # The listing's row only: never the project's, which every 9:00 order updates.
        locked = (
            Listing.objects.select_for_update(of=("self",))
            .select_related("shop__project")
            .get(pk=listing.pk)
        )
        if locked.is_standard:
            raise CatalogError("standard_listing")
        if locked.review_status not in (ListingReview.PENDING, ListingReview.APPROVED):
            raise CatalogError("listing_not_reviewable")
        locked.review_status = ListingReview.REJECTED
        locked.review_comment = comment.strip()
        locked.reviewed_at = now
        locked.save(update_fields=["review_status", "review_comment", "reviewed_at", "updated_at"])
        _notify_listing_review(locked)
    return locked


def _notify_listing_review(listing: Listing) -> None:
    shop = listing.shop
    recipients = sorted({*shop.operators.values_list("email", flat=True)} - {""})
    if not recipients and shop.applicant is not None:
        recipients = [shop.applicant.email]
    if not recipients:
        return
    # Operators read Japanese; the email does not follow the staff member's language.
    with translation.override("ja"):
        context = {"listing": listing, "shop": shop, "site_url": settings.KAIKA_SITE_URL}
        subject = render_to_string("projects/email/listing_review_subject.txt", context).strip()
        body = render_to_string("projects/email/listing_review_body.txt", context)
    send_email_on_commit(EmailMessage(subject=subject, body=body, to=recipients))


def listing_withdraw(*, listing: Listing) -> bool:
    """Take a listing off sale. One with sales keeps its history (deactivated); one that never
    sold is deleted. Returns True when it was deleted."""
    if listing.is_standard:
        raise CatalogError("standard_listing")
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        if locked.units_sold:
            locked.is_active = False
            locked.save(update_fields=["is_active", "updated_at"])
            return False
        locked.delete()
        return True


# --- Rounds --------------------------------------------------------------------------------


def round_suspend(*, round_: Round, reason: str, now: datetime.datetime) -> Round:
    """Halt recruitment at once, whatever the clock says (the 2021 halt, as one click)."""
    if not reason.strip():
        raise CatalogError("reason_required")
    Round.objects.filter(pk=round_.pk).update(
        suspended=True, suspension_reason=reason.strip(), suspended_at=now
    )
    round_.refresh_from_db()
    return round_


def round_resume(*, round_: Round) -> Round:
    Round.objects.filter(pk=round_.pk).update(suspended=False, suspended_at=None)
    round_.refresh_from_db()
    return round_


def _lock_round(round_id: int) -> Round:
    return Round.objects.select_for_update().get(pk=round_id)


def round_allocation_mode_set(*, round_: Round, mode: str, now: datetime.datetime) -> Round:
    """Switch a round between first come and lottery, only while nothing depends on its mode
    (Round.allocation_mode_fixed), or CatalogError. The round's row is locked first, as
    lottery_create locks it: a lottery set up meanwhile is seen here, and this change there."""
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        locked.allocation_mode = mode
        if locked.allocation_mode_fixed(now):
            raise CatalogError("allocation_mode_fixed")
        pause_after_checks()
        Round.objects.filter(pk=round_.pk).update(allocation_mode=mode)
    round_.allocation_mode = mode
    return round_
