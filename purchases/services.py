"""State changes of orders and tickets: create (with every cap), pay, fail, expire, cancel,
refund, and use a wallet (or an old ticket's code) at the till; payment attempts at the
provider, and its notices (webhook events), each stored once and applied through
payment_record.

Locks are always taken in this order, so that two transactions never wait on each other in a
cycle: supporter (User row) -> order -> wallet -> ticket -> listing -> shop round -> round ->
project.
A counter of the projects app is moved only by a conditional UPDATE whose WHERE clause is its
cap (`units_sold + n <= stock_limit`, `amount_raised + n <= total_budget`): the database locks
the row, re-evaluates the condition on the current value, and the row count says whether the
cap held. Nothing here reads a counter into Python and saves it back.

On PostgreSQL an order is created by one statement, kaika_order_reserve() (its SQL is
purchases/sql/order_reserve.sql alone): the same checks and UPDATEs in the same order, run
inside the database so that the hot rows are never locked across a round trip. SQLite runs
order_check and _reserve from Python; tests/purchases/test_limits.py runs every rule on both.

Emails are queued with `send_email_on_commit`: only for transactions that commit.
"""

import contextlib
import dataclasses
import datetime
import json
import logging
import uuid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from kaika.bulk import insert_many
from kaika.debug import pause_after_checks
from kaika.errors import DomainError
from kaika.mail import send_email_on_commit, staff_recipients
from projects.models import (
    MAX_UNITS_PER_ORDER,
    Listing,
    ListingReview,
    Project,
    Round,
    RoundStatus,
    Shop,
    ShopRound,
    ShopStatus,
)
from purchases.models import (
    ATTEMPT_LIVE,
    REDEMPTION_UNDO_MINUTES,
    UNDO_REASON_MAX_LENGTH,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
    PaymentEvent,
    PaymentEventOutcome,
    Redemption,
    Refund,
    RefundReason,
    RefundStatus,
    Ticket,
    TicketStatus,
    TicketUse,
    Wallet,
    WalletBalance,
    new_order_code,
    new_order_codes,
)
from residents.services import EligibilityError, eligibility_check
from supporters.models import User
from waitingroom.services import gone_forget

logger = logging.getLogger(__name__)

DEFAULT_RESERVATION_MINUTES = 15


class PurchaseError(DomainError):
    """The one domain error of this app; `code` picks a sentence the supporter can act on."""

    MESSAGES = {
        "invalid_units": _("口数は1以上の整数で入力してください。"),
        "invalid_request": _(
            "申込の内容が正しくありません。もう一度お店のページからお申し込みください。"
        ),
        # Who may back a project at all: residents.services.eligibility_check's sentences.
        **EligibilityError.MESSAGES,
        "round_mismatch": _("このお店は、この期には参加していません。"),
        "round_not_open_yet": _("まだ募集開始前です。募集開始時刻になってからお申し込みください。"),
        "round_closed": _("この期の募集は終了しました。"),
        "round_suspended": _("現在、募集を一時停止しています。"),
        "round_is_lottery": _(
            "この期は抽選です。先着順のお申込はできません。期のページから抽選にお申し込みください。"
        ),
        "shop_not_available": _("このお店は現在、支援を受け付けていません。"),
        "shop_not_in_round": _("このお店は、この期には参加していません。"),
        "listing_not_available": _("このリターンは、この期には販売していません。"),
        "sold_out": _("申し訳ありません。このリターンは完売しました(または残りが足りません)。"),
        # The per-person caps count unpaid orders too, until their deadline: say so, and how
        # to free them (a pending order can be cancelled on its page).
        "over_listing_person_limit": _(
            "このリターンはお一人様%(limit)s口までです(お申込済み%(held)s口)。お支払い待ちの"
            "申込も、お支払い期限までは数に入ります(取り消すと枠が戻ります)。"
        ),
        "over_application_max": _("1回のお申込は%(max)s円までです。"),
        "over_person_round_max": _(
            "お一人様1期あたり%(max)s円までです(この期のお申込済み%(held)s円)。お支払い待ちの"
            "申込も、お支払い期限までは数に入ります(取り消すと枠が戻ります)。"
        ),
        "budget_exhausted": _(
            "予算の上限に達したため、募集を終了しました(または残りの予算が足りません)。"
        ),
        "order_not_pending": _("この申込は、お支払い待ちではありません。"),
        "order_expired": _("お支払いの期限が過ぎたため、この申込は無効になりました。"),
        "order_not_paid": _("お支払い済みの申込ではありません。"),
        "order_paid": _(
            "この申込はお支払い済みです。同じ申込に二度お支払いいただくことはできません"
            "(チケットはこのページでご覧いただけます)。"
        ),
        "payment_in_progress": _(
            "この申込のお支払いを確認しています。二重のお支払いを防ぐため、確認が済むまで"
            "新たなお支払いはできません。数分たっても変わらないときは、お問い合わせください。"
        ),
        "payment_starting": _(
            "別の画面でお支払いの準備をしています。数秒待ってから、もう一度「お支払いへ進む」"
            "を押してください。"
        ),
        "refund_not_failed": _("返金に失敗した記録だけを、再依頼または手動で記録できます。"),
        "payment_unavailable": _(
            "決済サービスにつながりませんでした。お申込はお支払い期限(%(deadline)s)まで確保"
            "されています。少し待ってから、もう一度「お支払いへ進む」を押してください。"
        ),
        "payment_busy": _(
            "決済サービスが混み合っています。お申込はお支払い期限(%(deadline)s)まで確保"
            "されています。少し待ってから、もう一度「お支払いへ進む」を押してください。"
        ),
        "tickets_used": _("利用済みのチケットがあるため、返金できません。"),
        "wallet_not_found": _(
            "この番号(QRコード)のチケットが見つかりません。番号をご確認ください。"
        ),
        "wallet_wrong_shop": _("このチケットは、このお店では使えません。"),
        "shop_not_redeeming": _(
            "このお店は現在、チケットを受け付けられません。事務局にお問い合わせください。"
        ),
        "wallet_not_yet": _("本日使えるチケットはありません。利用期間は%(start)s〜%(end)sです。"),
        "wallet_expired": _(
            "利用期間(%(start)s〜%(end)s)が終わったため、使えるチケットはありません。"
        ),
        "wallet_used_up": _("このお店で使える残額はありません(すべて利用済みです)。"),
        "wallet_void": _("このチケットは無効です(返金などのため)。"),
        "invalid_amount": _("利用額は1円以上の整数で入力してください。"),
        "over_usable_balance": _("本日使える残額(%(balance)s円)を超える額は使えません。"),
        "undo_reason_required": _("取り消しの理由を入力してください。"),
        "undo_reason_too_long": _("取り消しの理由は%(max)s文字以内で入力してください。"),
        "undo_not_operator": _("このお店の利用ではないため、取り消せません。"),
        "undo_already": _("この利用はすでに取り消されています。"),
        "undo_too_late": _(
            "利用から%(minutes)s分を過ぎたため、お店の画面からは取り消せません。"
            "事務局にお問い合わせください。"
        ),
        "undo_settled": _(
            "この利用はすでに精算(お店へのお支払いの計算)に含まれているため、お店の画面からは"
            "取り消せません。事務局にお問い合わせください。"
        ),
        "undo_failed": _(
            "チケットの残額を戻せなかったため、取り消せませんでした。事務局にお問い合わせください。"
        ),
    }


def reservation_minutes() -> int:
    return int(getattr(settings, "KAIKA_ORDER_RESERVATION_MINUTES", DEFAULT_RESERVATION_MINUTES))


def _yen(n: int) -> str:
    return f"{n:,}"


# --- Creating an order ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OrderTerms:
    """What `units` of a listing in a round come to: what the confirmation page shows and
    what order_create writes. `listing.shop.project` is loaded."""

    listing: Listing
    round: Round
    units: int
    amount: int
    tickets_value: int

    @property
    def shop(self):
        return self.listing.shop

    @property
    def project(self) -> Project:
        return self.listing.shop.project


def _check_units(units) -> None:
    if isinstance(units, bool) or not isinstance(units, int):
        raise PurchaseError("invalid_units")
    if not 1 <= units <= MAX_UNITS_PER_ORDER:
        raise PurchaseError("invalid_units")


def order_terms(*, listing_id: int, round_id: int, units: int) -> OrderTerms:
    """The terms as the rows are now, or PurchaseError("invalid_request") for an unknown id.
    On the listing: whether its shop takes part in the round (`shop_in_round`) and whether
    it is on sale in it (`offered`, Listing.objects.offered_in's rule)."""
    _check_units(units)
    round_ = Round.objects.filter(pk=round_id).first()
    listing = (
        Listing.objects.select_related("shop__project")
        .annotate(
            shop_in_round=Exists(
                ShopRound.objects.filter(shop_id=OuterRef("shop_id"), round_id=round_id)
            ),
            offered=Exists(Listing.objects.offered_in(round_id).filter(pk=OuterRef("pk"))),
        )
        .filter(pk=listing_id)
        .first()
    )
    if round_ is None or listing is None:
        raise PurchaseError("invalid_request")
    amount = units * listing.unit_price
    return OrderTerms(
        listing=listing,
        round=round_,
        units=units,
        amount=amount,
        tickets_value=listing.tickets_value(amount),
    )


def order_check(*, supporter: User, terms: OrderTerms, now: datetime.datetime) -> None:
    """Every rule for `supporter` at `now` on the terms given, or PurchaseError. Without the
    supporter's lock this is the confirmation page's preview; under it, order_create's check."""
    _check_eligible(supporter, project=terms.project)
    _check_offer(terms, now)
    for cap in _unit_caps(supporter, terms, now):
        if terms.units > cap.most:
            raise _refusal(cap.code, cap.params)


def order_units_max(*, supporter: User, terms: OrderTerms, now: datetime.datetime) -> int:
    """The most units of the terms' listing that `supporter` may order at `now`, by
    order_check's rules (0 when the offer itself is closed to them): what the confirmation
    page offers when it refuses the units asked for."""
    try:
        _check_eligible(supporter, project=terms.project)
        _check_offer(terms, now)
    except PurchaseError:
        return 0
    return max(0, min([MAX_UNITS_PER_ORDER, *(c.most for c in _unit_caps(supporter, terms, now))]))


def _check_offer(terms: OrderTerms, now: datetime.datetime) -> None:
    """The rules that do not depend on the units: the round, the shop, the listing."""
    listing, round_, project = terms.listing, terms.round, terms.project
    if round_.project_id != project.pk:
        raise PurchaseError("round_mismatch")
    # A lottery round's supply goes by the draw (the lottery app), never first come.
    if round_.is_lottery:
        raise PurchaseError("round_is_lottery")
    status = round_.status_at(now)
    if status == RoundStatus.SCHEDULED:
        raise PurchaseError("round_not_open_yet")
    if status == RoundStatus.SUSPENDED:
        raise PurchaseError("round_suspended")
    if status == RoundStatus.CLOSED:
        raise PurchaseError("round_closed")
    if terms.shop.status != ShopStatus.APPROVED or not project.is_published:
        raise PurchaseError("shop_not_available")
    if not listing.shop_in_round:
        raise PurchaseError("shop_not_in_round")
    if not listing.offered:
        raise PurchaseError("listing_not_available")


def _check_eligible(supporter: User, *, project: Project | None = None, listing_id=None) -> None:
    """residents.services.eligibility_check, refused as a PurchaseError. First, as on
    PostgreSQL (_order_create_in_database): before the opening, too, the page says what the
    supporter can do about it now."""
    try:
        eligibility_check(supporter=supporter, project=project, listing_id=listing_id)
    except EligibilityError as refusal:
        raise PurchaseError.relay(refusal) from None


def _unit_caps(supporter: User, terms: OrderTerms, now: datetime.datetime):
    """Listing.unit_caps, given what the supporter holds at `now` (Order.objects.live_at:
    paid, or pending until its deadline)."""
    held = (
        Order.objects.live_at(now)
        .filter(supporter=supporter)
        .aggregate(
            units=Sum("units", filter=Q(listing_id=terms.listing.pk), default=0),
            amount=Sum("amount", filter=Q(round_id=terms.round.pk), default=0),
        )
    )
    return terms.listing.unit_caps(held_units=held["units"], held_amount=held["amount"])


def order_create(
    *,
    supporter: User,
    listing_id: int,
    round_id: int,
    units: int,
    idempotency_key: str,
    now: datetime.datetime,
) -> Order:
    """Create a pending order holding its share of every cap, or raise PurchaseError.

    Ids only: every row is read again here (the caller's copies may be old). The same
    `idempotency_key` from the same supporter returns the order it made the first time (a
    double click, a replayed form), whatever has changed since. Work that only a refusal
    needs (finding a replayed order, releasing stale reservations) is done on the refusal.
    """
    _check_units(units)
    if not idempotency_key or len(idempotency_key) > 64:
        raise PurchaseError("invalid_request")
    try:
        return _order_create(supporter, listing_id, round_id, units, idempotency_key, now)
    except PurchaseError as error:
        # A replayed form whose order exists: the answer is that order, not today's refusal.
        if existing := _order_with_key(supporter, idempotency_key):
            return existing
        if error.code not in ("sold_out", "budget_exhausted"):
            raise
        # The stock or budget may be held by reservations that expired without the cron
        # releasing them: release those, and try once more if any was released.
        scope = {"listing_id": listing_id} if error.code == "sold_out" else {"round_id": round_id}
        if not orders_expire(now=now, **scope):
            raise
        return _order_create(supporter, listing_id, round_id, units, idempotency_key, now)
    except IntegrityError:
        # The key was used before (the INSERT hit the unique constraint; everything this
        # attempt reserved was rolled back with it): the first order is the answer.
        if existing := _order_with_key(supporter, idempotency_key):
            return existing
        raise


def _order_with_key(supporter: User, key: str) -> Order | None:
    return Order.objects.filter(supporter=supporter, idempotency_key=key).first()


def _order_create(
    supporter: User, listing_id: int, round_id: int, units: int, key: str, now
) -> Order:
    if connection.vendor == "postgresql":
        return _order_create_in_database(supporter, listing_id, round_id, units, key, now)
    return _order_create_in_python(supporter, listing_id, round_id, units, key, now)


def _order_create_in_database(
    supporter: User, listing_id: int, round_id: int, units: int, key: str, now
) -> Order:
    """kaika_order_reserve() (purchases/sql/order_reserve.sql): the rules of order_check and
    _reserve in one statement, its own transaction outside an atomic block, so the hot rows'
    locks are never held across a round trip. Inside one (a caller's transaction, the tests) a
    savepoint takes a refusal back without aborting the caller's work."""
    # Eligibility is checked here, before kaika_order_reserve(), not inside it: it is a fact
    # about this supporter that no other order changes (a code once entered stays entered), so
    # nothing can race it between this query and the statement. Only a staff revocation in
    # that instant could slip one order through; staff refund it. One indexed query, keeping
    # the SQL function free of the residents app's table.
    _check_eligible(supporter, listing_id=listing_id)
    code = new_order_code()
    expires_at = now + datetime.timedelta(minutes=reservation_minutes())
    # A reservation need not wait for the disk flush (docs/operations.md says what it risks).
    commit = "off" if settings.KAIKA_ORDER_ASYNC_COMMIT else None
    reserved = Order.objects.raw(
        "SELECT * FROM kaika_order_reserve(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [supporter.pk, listing_id, round_id, units, key, code, now, expires_at, commit],
    )
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with savepoint:
            (order,) = reserved
    except DatabaseError as error:
        refusal = _refusal_from(error)
        if refusal is None:
            if not connection.in_atomic_block:
                # No atomic block closes a broken connection here: give it back, so that the
                # next order gets a working one from the pool even outside a request.
                connection.close_if_unusable_or_obsolete()
            raise
        raise refusal from None
    return order


# The sentences whose numbers are yen (shown with thousands separators, as in Python).
_YEN_PARAMS = {"over_application_max": {"max"}, "over_person_round_max": {"max", "held"}}


def _refusal_from(error: DatabaseError) -> PurchaseError | None:
    """kaika_order_reserve() refuses with RAISE EXCEPTION 'kaika:<code>', the numbers of its
    sentence as JSON in DETAIL. Any other database error is not a refusal (None)."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    message = getattr(diag, "message_primary", None) or ""
    if getattr(cause, "sqlstate", None) != "P0001" or not message.startswith("kaika:"):
        return None
    code = message.removeprefix("kaika:")
    return _refusal(code, json.loads(diag.message_detail) if diag.message_detail else {})


def _refusal(code: str, params: dict) -> PurchaseError:
    yen = _YEN_PARAMS.get(code, set())
    return PurchaseError(code, **{k: _yen(v) if k in yen else v for k, v in params.items()})


def _order_create_in_python(
    supporter: User, listing_id: int, round_id: int, units: int, key: str, now
) -> Order:
    """SQLite's path (and the race tests' on PostgreSQL): the same rules through the ORM."""
    with transaction.atomic():
        _lock_supporter(supporter.pk)
        terms = order_terms(listing_id=listing_id, round_id=round_id, units=units)
        order_check(supporter=supporter, terms=terms, now=now)
        pause_after_checks()
        # The order first, the counters after: the INSERT locks nothing anyone else waits
        # for, so the hot rows (round, project) stay locked only from their UPDATE to the
        # commit. A replay hits the unique (supporter, idempotency_key) constraint here.
        order = Order.objects.create(
            supporter=supporter,
            project=terms.project,
            round=terms.round,
            shop=terms.shop,
            listing=terms.listing,
            units=units,
            unit_price=terms.listing.unit_price,
            amount=terms.amount,
            tickets_value=terms.tickets_value,
            idempotency_key=key,
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=reservation_minutes()),
        )
        _reserve(terms, now)
    return order


def _lock_supporter(user_id: int) -> None:
    # The supporter's row serialises their own tabs: the per-person caps are sums over their
    # orders, read after this lock, so two tabs cannot both fit.
    User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()


def _reserve(terms: OrderTerms, now) -> None:
    """Each UPDATE locks its row and re-checks its cap on the current value; the row count
    says whether it held (a refusal rolls the whole order back). Lock order as above."""
    units, amount = terms.units, terms.amount
    listing = Listing.objects.filter(
        pk=terms.listing.pk, is_active=True, review_status=ListingReview.APPROVED
    ).filter(Q(stock_limit__isnull=True) | Q(stock_limit__gte=F("units_sold") + units))
    if not listing.update(units_sold=F("units_sold") + units):
        raise PurchaseError("sold_out")
    participation = ShopRound.objects.filter(
        Exists(Shop.objects.filter(pk=OuterRef("shop_id"), status=ShopStatus.APPROVED)),
        shop_id=terms.shop.pk,
        round_id=terms.round.pk,
    )
    if not participation.update(
        units_sold=F("units_sold") + units, amount_raised=F("amount_raised") + amount
    ):
        raise PurchaseError("shop_not_in_round")
    # A staff suspension or the closing second may have come since the check.
    if (
        not Round.objects.open_at(now)
        .filter(pk=terms.round.pk)
        .update(amount_raised=F("amount_raised") + amount)
    ):
        raise PurchaseError("round_closed")
    # The hottest row at 9:00: last, so its lock is held for the shortest time.
    if not Project.objects.filter(
        pk=terms.project.pk, amount_raised__lte=F("total_budget") - amount
    ).update(amount_raised=F("amount_raised") + amount):
        raise PurchaseError("budget_exhausted")


# --- Allotting by a draw ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Allotment:
    """Units of a listing a draw gave a supporter: one pending order. `key` is the order's
    idempotency key (one per allotment, so a draw run twice cannot make two orders)."""

    supporter_id: int
    listing: Listing
    units: int
    key: str


def orders_allot(
    *, round_: Round, allotments: list[Allotment], expires_at: datetime.datetime, now
) -> list[int]:
    """Pending orders for a lottery's winners, payable until `expires_at`: from then on the
    same orders as first come (payment, expiry, tickets, refunds). Returns their ids, in the
    allotments' order. Called inside the draw's transaction, which has locked the listings,
    shop rounds, round and project in that order and allotted within what they had left; the
    conditional UPDATEs re-check it (a refusal rolls the whole draw back). Unlike _reserve, no
    open window: the draw comes after it."""
    if not allotments:
        return []
    project = round_.project
    codes = new_order_codes(len(allotments))
    rows = []
    by_listing: dict[int, int] = {}
    by_shop: dict[int, list[int]] = {}
    for a, code in zip(allotments, codes, strict=True):
        amount = a.units * a.listing.unit_price
        rows.append(
            {
                "code": code,
                "supporter": a.supporter_id,
                "project": project.pk,
                "round": round_.pk,
                "shop": a.listing.shop_id,
                "listing": a.listing.pk,
                "units": a.units,
                "unit_price": a.listing.unit_price,
                "amount": amount,
                "tickets_value": a.listing.tickets_value(amount),
                "idempotency_key": a.key,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        by_listing[a.listing.pk] = by_listing.get(a.listing.pk, 0) + a.units
        shop = by_shop.setdefault(a.listing.shop_id, [0, 0])
        shop[0] += a.units
        shop[1] += amount
    ids = insert_many(Order, rows)
    _counters_add(by_listing, by_shop, round_.pk)
    total = sum(row["amount"] for row in rows)
    Round.objects.filter(pk=round_.pk).update(amount_raised=F("amount_raised") + total)
    if not Project.objects.filter(
        pk=project.pk, amount_raised__lte=F("total_budget") - total
    ).update(amount_raised=F("amount_raised") + total):
        raise PurchaseError("budget_exhausted")
    return ids


def _counters_add(by_listing: dict[int, int], by_shop: dict[int, list[int]], round_id) -> None:
    """orders_allot's counters: one UPDATE for all its listings and one for all its shop
    rounds (hundreds of rows; an ORM update per row, or a CASE per row, took seconds), each
    listing's stock re-checked by the WHERE, the row count saying whether every one held."""
    listings = sorted(by_listing)
    shops = sorted(by_shop)
    if connection.vendor != "postgresql":
        for pk in listings:
            n = by_listing[pk]
            held = Listing.objects.filter(pk=pk).filter(
                Q(stock_limit__isnull=True) | Q(stock_limit__gte=F("units_sold") + n)
            )
            if not held.update(units_sold=F("units_sold") + n):
                raise PurchaseError("sold_out")
        for pk in shops:
            ShopRound.objects.filter(shop_id=pk, round_id=round_id).update(
                units_sold=F("units_sold") + by_shop[pk][0],
                amount_raised=F("amount_raised") + by_shop[pk][1],
            )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_listing l SET units_sold = l.units_sold + v.n"
            " FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) WHERE l.id = v.id"
            " AND (l.stock_limit IS NULL OR l.units_sold + v.n <= l.stock_limit)",
            [listings, [by_listing[pk] for pk in listings]],
        )
        if cursor.rowcount != len(listings):
            raise PurchaseError("sold_out")
        cursor.execute(
            "UPDATE projects_shopround s SET units_sold = s.units_sold + v.n,"
            " amount_raised = s.amount_raised + v.amount"
            " FROM unnest(%s::bigint[], %s::integer[], %s::bigint[]) AS v(shop_id, n, amount)"
            " WHERE s.shop_id = v.shop_id AND s.round_id = %s",
            [shops, [by_shop[pk][0] for pk in shops], [by_shop[pk][1] for pk in shops], round_id],
        )


# --- Releasing a reservation ---------------------------------------------------------------


def _release_counters(order: Order) -> None:
    """Give back what the order held (listing, shop round, round, project, in lock order)."""
    Listing.objects.filter(pk=order.listing_id).update(units_sold=F("units_sold") - order.units)
    ShopRound.objects.filter(shop_id=order.shop_id, round_id=order.round_id).update(
        units_sold=F("units_sold") - order.units, amount_raised=F("amount_raised") - order.amount
    )
    Round.objects.filter(pk=order.round_id).update(amount_raised=F("amount_raised") - order.amount)
    Project.objects.filter(pk=order.project_id).update(
        amount_raised=F("amount_raised") - order.amount
    )
    # The waiting crowd may have been told this listing or the round was gone: not any more.
    gone_forget(listing_id=order.listing_id, ended=True, project_id=order.project_id)


def _lock_order(order_id: int) -> Order:
    # Only the order's row ("self"): the supporter's row, when needed, is locked first.
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("supporter", "listing", "project")
        .get(pk=order_id)
    )


def order_expire(*, order: Order, now: datetime.datetime) -> bool:
    """Release a pending order whose time is up. False if it was no longer pending/stale."""
    with transaction.atomic():
        order = _lock_order(order.pk)
        # Re-checked under the lock: it may have been paid or cancelled in the meantime.
        if order.status != OrderStatus.PENDING or order.expires_at > now:
            return False
        _release_counters(order)
        order.status = OrderStatus.EXPIRED
        order.closed_at = now
        order.save(update_fields=["status", "closed_at"])
    return True


def orders_expire(
    *,
    now: datetime.datetime,
    listing_id: int | None = None,
    round_id: int | None = None,
    limit: int = 500,
) -> int:
    """Release stale reservations (all, or those of one listing or of a round's project).
    Used by `manage.py expire_orders` and lazily by order_create. Returns how many."""
    stale = Order.objects.stale_at(now)
    if listing_id is not None:
        stale = stale.filter(listing_id=listing_id)
    if round_id is not None:
        # The budget is the project's: any of its rounds' reservations may hold it.
        stale = stale.filter(project__rounds=round_id)
    released = 0
    for order in stale.order_by("expires_at")[:limit]:
        released += order_expire(order=order, now=now)
    return released


def order_cancel(*, order: Order, supporter: User, now: datetime.datetime) -> Order:
    """The supporter withdraws a pending order: its reservation goes back at once."""
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=supporter.pk)
        order = _lock_order(order.pk)
        if order.supporter_id != supporter.pk:
            raise Order.DoesNotExist
        if order.status != OrderStatus.PENDING:
            raise PurchaseError("order_not_pending")
        _release_counters(order)
        order.status = OrderStatus.CANCELLED
        order.closed_at = now
        order.save(update_fields=["status", "closed_at"])
        _notify(order, "cancelled")
    return order


# --- Payment results -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PaymentResult:
    """What a gateway tells us, once its signature has been checked."""

    provider: str
    order_code: str
    reference: str
    amount: int
    succeeded: bool
    at: datetime.datetime


def payment_record(*, result: PaymentResult, now: datetime.datetime) -> Order:
    """Apply a verified payment result. Safe to call twice, late or out of order:
    tickets are issued once, a failure changes no order (the supporter may pay again with
    another card while the reservation lasts), and a success for an order that can no longer
    take it is refunded through the provider, never revives the order.
    The order's `recorded_as` says what happened: "paid", "failed", "refund_owed" (late or
    duplicate) or "unchanged" (delivered before, or nothing to change). A success that
    matches no order of ours, or not its amount, is refunded too, and refused."""
    order = Order.objects.filter(code=result.order_code).first()
    if order is None or result.amount != order.amount:
        logger.warning("payment %s matches no order (%s)", result.reference, result.order_code)
        if result.succeeded:
            refund_owe(
                order=order,
                provider=result.provider,
                reference=result.reference,
                amount=result.amount,
                reason=RefundReason.ORPHAN,
                now=now,
            )
        raise PurchaseError("invalid_request")
    with transaction.atomic():
        # The supporter's row: the "first paid order" figures below count distinct people.
        User.objects.select_for_update().only("pk").get(pk=order.supporter_id)
        order = _lock_order(order.pk)
        order.recorded_as = "unchanged"
        if not result.succeeded:
            if order.status == OrderStatus.PENDING and now < order.expires_at:
                # Declined: the reservation holds until its deadline, for another card.
                order.recorded_as = "failed"
                _notify(order, "failed")
            return order
        if order.status == OrderStatus.PAID and order.payment_reference == result.reference:
            return order  # the same success delivered again
        owed = Refund.objects.filter(provider=result.provider, payment_reference=result.reference)
        if owed.exists():
            return order  # a payment already owed back, delivered again
        # The payment's own time decides, not when its notice reached us, but only while the
        # reservation is still held: an order already expired by the cron is not revived.
        if order.status == OrderStatus.PENDING and result.at < order.expires_at:
            _mark_paid(order, result, now)
            order.recorded_as = "paid"
            return order
        # A payment the order does not take is sent back, and the supporter told. A paid
        # order stays paid, with its tickets (a second payment of it is refunded); any other
        # is not revived.
        kind = "duplicate" if order.status == OrderStatus.PAID else "late"
        if order.status == OrderStatus.PENDING:
            _release_counters(order)
            order.status = OrderStatus.EXPIRED
            order.closed_at = now
            order.save(update_fields=["status", "closed_at"])
        logger.warning("payment for order %s arrived when it was %s", order.code, order.status)
        refund_owe(
            order=order,
            provider=result.provider,
            reference=result.reference,
            amount=result.amount,
            reason=RefundReason.DUPLICATE if kind == "duplicate" else RefundReason.LATE,
            now=now,
        )
        order.recorded_as = "refund_owed"
        _notify(order, kind)
    return order


def _mark_paid(order: Order, result: PaymentResult, now) -> None:
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.payment_reference = result.reference
    order.payment_provider = result.provider
    order.save(update_fields=["status", "paid_at", "payment_reference", "payment_provider"])
    tickets = tickets_issue(order=order, now=now)
    paid = Order.objects.filter(supporter_id=order.supporter_id, status=OrderStatus.PAID).exclude(
        pk=order.pk
    )
    first_here = not paid.filter(shop_id=order.shop_id, round_id=order.round_id).exists()
    # The public figures (paid support only), one UPDATE per row in the lock order.
    ShopRound.objects.filter(shop_id=order.shop_id, round_id=order.round_id).update(
        tickets_issued_amount=F("tickets_issued_amount") + sum(t.face_value for t in tickets),
        supporters_count=F("supporters_count") + int(first_here),
        amount_paid=F("amount_paid") + order.amount,
    )
    Round.objects.filter(pk=order.round_id).update(
        supporters_count=F("supporters_count")
        + int(not paid.filter(round_id=order.round_id).exists()),
        amount_paid=F("amount_paid") + order.amount,
    )
    Project.objects.filter(pk=order.project_id).update(
        supporters_count=F("supporters_count")
        + int(not paid.filter(project_id=order.project_id).exists()),
        amount_paid=F("amount_paid") + order.amount,
    )
    _notify(order, "paid")


def ticket_face_values(total: int, denomination: int) -> list[int]:
    """`total` split into tickets of `denomination`, the rest (if any) as one smaller ticket."""
    count, rest = divmod(total, denomination)
    return [denomination] * count + ([rest] if rest else [])


def tickets_issue(*, order: Order, now: datetime.datetime) -> list[Ticket]:
    """The order's tickets, and the supporter's wallet at the shop if this is the first."""
    wallet_open(supporter_id=order.supporter_id, shop_id=order.shop_id, now=now)
    listing = order.listing
    label = listing.title
    return Ticket.objects.bulk_create(
        [
            Ticket(
                order=order,
                supporter_id=order.supporter_id,
                shop_id=order.shop_id,
                round_id=order.round_id,
                label=label,
                face_value=value,
                balance=value,
                issued_at=now,
            )
            for value in ticket_face_values(order.tickets_value, order.project.ticket_denomination)
        ]
    )


def order_refund(
    *, order: Order, now: datetime.datetime, note: str = "", staff: User | None = None
) -> Order:
    """Staff cancel a paid order: its budget goes back, its tickets are voided, and its
    payment is refunded through the provider that took it (after commit). Refused once any
    ticket has been used (the shop has already given goods for it)."""
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=order.supporter_id)
        order = _lock_order(order.pk)
        if order.status != OrderStatus.PAID:
            raise PurchaseError("order_not_paid")
        tickets = list(Ticket.objects.select_for_update().filter(order=order))
        if any(t.balance != t.face_value for t in tickets):
            raise PurchaseError("tickets_used")
        Ticket.objects.filter(order=order).update(status=TicketStatus.VOID, balance=0)
        _release_counters(order)
        order.status = OrderStatus.REFUNDED
        order.closed_at = now
        if note:
            order.staff_note = f"{order.staff_note}\n{note}".strip()
        order.save(update_fields=["status", "closed_at", "staff_note"])
        paid = Order.objects.filter(supporter_id=order.supporter_id, status=OrderStatus.PAID)
        others_here = paid.filter(shop_id=order.shop_id, round_id=order.round_id).exists()
        ShopRound.objects.filter(shop_id=order.shop_id, round_id=order.round_id).update(
            tickets_issued_amount=F("tickets_issued_amount") - sum(t.face_value for t in tickets),
            supporters_count=F("supporters_count") - int(not others_here),
            amount_paid=F("amount_paid") - order.amount,
        )
        Round.objects.filter(pk=order.round_id).update(
            supporters_count=F("supporters_count")
            - int(not paid.filter(round_id=order.round_id).exists()),
            amount_paid=F("amount_paid") - order.amount,
        )
        Project.objects.filter(pk=order.project_id).update(
            supporters_count=F("supporters_count")
            - int(not paid.filter(project_id=order.project_id).exists()),
            amount_paid=F("amount_paid") - order.amount,
        )
        refund_owe(
            order=order,
            provider=order.payment_provider,
            reference=order.payment_reference,
            amount=order.amount,
            reason=RefundReason.CANCELLED,
            now=now,
            staff=staff,
            note=note,
        )
        _notify(order, "refunded")
    return order


# --- Payment attempts and the provider's notices ---------------------------------------------


# A checkout being created longer than this was abandoned (the process died mid-call): the
# provider's client gives up well before (STRIPE_API_TIMEOUT times its retries).
ATTEMPT_CREATING_FOR = datetime.timedelta(minutes=2)


def payment_attempt_start(*, order: Order, provider: str, now: datetime.datetime) -> PaymentAttempt:
    """The checkout to send the supporter to: the open one of this order if there is one (Back,
    reload, a second tab, an old link all land on the same page, which takes one payment),
    else a new one, written before the provider is asked (its idempotency key is then the
    attempt's own, and an answer lost on the way leaves a trace). Refused, saying why, when
    the order is paid, its payment is being confirmed, or it can no longer be paid."""
    with transaction.atomic():
        # The order's lock serialises two tabs pressing "pay" at once.
        order = _lock_order(order.pk)
        payment_check(order=order, now=now)
        attempts = PaymentAttempt.objects.filter(order=order, provider=provider)
        live = attempts.filter(status__in=ATTEMPT_LIVE).order_by("-created_at").first()
        if live is not None and live.status == PaymentAttemptStatus.OPEN:
            return live
        if live is not None:
            if live.created_at > now - ATTEMPT_CREATING_FOR:
                raise PurchaseError("payment_starting")
            payment_attempt_failed(attempt=live, error="abandoned", now=now)
        return PaymentAttempt.objects.create(
            order=order, provider=provider, idempotency_key=str(uuid.uuid4()), created_at=now
        )


def payment_check(*, order: Order, now: datetime.datetime) -> None:
    """Whether `order` can take a payment now, or the PurchaseError saying why not."""
    if order.status == OrderStatus.PAID:
        raise PurchaseError("order_paid")
    if order.status != OrderStatus.PENDING:
        raise PurchaseError("order_not_pending")
    if now >= order.expires_at:
        raise PurchaseError("order_expired")
    if order.payment_attempts.filter(status=PaymentAttemptStatus.COMPLETE).exists():
        # Paid at the provider, its notice not applied yet: another checkout would charge twice.
        raise PurchaseError("payment_in_progress")


def payment_attempt_opened(
    *, attempt: PaymentAttempt, checkout_id: str, url: str, expires_at: datetime.datetime
) -> None:
    attempt.checkout_id = checkout_id
    attempt.url = url
    attempt.expires_at = expires_at
    attempt.status = PaymentAttemptStatus.OPEN
    attempt.save(update_fields=["checkout_id", "url", "expires_at", "status"])


def payment_attempt_failed(*, attempt: PaymentAttempt, error: str, now: datetime.datetime) -> None:
    attempt.status = PaymentAttemptStatus.FAILED
    attempt.error = error[:100]
    attempt.closed_at = now
    attempt.save(update_fields=["status", "error", "closed_at"])


def payment_attempt_closed(
    *,
    provider: str,
    checkout_id: str,
    status: str,
    now: datetime.datetime,
    payment_reference: str = "",
) -> None:
    """The provider's checkout ended ("complete", with the payment it took, or "expired"), or
    its payment failed after completing ("payment_failed"). An open one changes nothing."""
    attempts = PaymentAttempt.objects.filter(provider=provider, checkout_id=checkout_id)
    if status == PaymentAttemptStatus.PAYMENT_FAILED:
        attempts.update(status=status, closed_at=now)
    elif status in (PaymentAttemptStatus.COMPLETE, PaymentAttemptStatus.EXPIRED):
        attempts.filter(status__in=ATTEMPT_LIVE).update(status=status, closed_at=now)
    if payment_reference:
        attempts.update(payment_reference=payment_reference)


@dataclasses.dataclass(frozen=True)
class PaymentNotice:
    """One event from a provider (a Stripe webhook), its signature checked and read by the
    gateway: what it says happened, in kaika's terms."""

    provider: str
    event_id: str
    type: str
    created_at: datetime.datetime
    # What the event is about: a checkout (its attempt is closed) or a charge.
    object_id: str = ""
    order_code: str = ""
    # A payment that succeeded or failed, applied by payment_record and its rules.
    result: PaymentResult | None = None
    # The checkout's new state ("complete", "expired"), for its attempt.
    checkout_status: str = ""
    # A refund's new state at the provider: the payment it is about, the yen refunded so
    # far, the refund's id when the event names it, its state (a RefundStatus) and why it
    # failed.
    refunded_reference: str = ""
    amount: int | None = None
    refund_id: str = ""
    refund_status: str = ""
    refund_error: str = ""
    # Why the notice is not applied (not one of ours, a type kaika does not handle).
    ignored: str = ""


_OUTCOMES = {
    "paid": PaymentEventOutcome.PAID,
    "failed": PaymentEventOutcome.FAILED,
    "refund_owed": PaymentEventOutcome.REFUND_OWED,
    "unchanged": PaymentEventOutcome.UNCHANGED,
}


def payment_notice_record(*, notice: PaymentNotice, now: datetime.datetime) -> PaymentEvent | None:
    """Store a provider's event once, by its id, and apply it in the same transaction. A
    redelivered event is neither stored nor applied again (None); one that fails unexpectedly
    is not stored either, so that the provider delivers it again."""
    with transaction.atomic():
        try:
            # A second delivery at the same moment waits here for the first one's commit,
            # then hits the unique constraint (the savepoint keeps this transaction usable).
            with transaction.atomic():
                event = PaymentEvent.objects.create(
                    provider=notice.provider,
                    event_id=notice.event_id,
                    type=notice.type,
                    object_id=notice.object_id,
                    amount=notice.amount,
                    created_at=notice.created_at,
                    received_at=now,
                )
        except IntegrityError:
            return None
        event.outcome, event.note, event.order = _notice_apply(notice, now)
        event.processed_at = now
        event.save(update_fields=["outcome", "note", "order", "processed_at"])
    return event


def _notice_apply(notice: PaymentNotice, now) -> tuple[str, str, Order | None]:
    order = Order.objects.filter(code=notice.order_code).first() if notice.order_code else None
    if notice.ignored:
        return PaymentEventOutcome.IGNORED, notice.ignored, order
    outcome = PaymentEventOutcome.RECORDED
    note = ""
    checkout_status = notice.checkout_status
    if notice.result is not None:
        try:
            order = payment_record(result=notice.result, now=now)
        except PurchaseError as error:
            outcome, note = PaymentEventOutcome.REJECTED, error.code
        else:
            outcome = _OUTCOMES[order.recorded_as]
        if not notice.result.succeeded:
            checkout_status = PaymentAttemptStatus.PAYMENT_FAILED
    elif notice.refunded_reference:
        refund = refund_update(
            provider=notice.provider,
            reference=notice.refunded_reference,
            status=notice.refund_status,
            amount=notice.amount,
            refund_id=notice.refund_id,
            error=notice.refund_error,
            now=now,
        )
        if refund is not None:
            outcome, order = PaymentEventOutcome.REFUND, refund.order
    if checkout_status:
        # After the order's lock (payment_record): the lock order is order, then attempt.
        payment_attempt_closed(
            provider=notice.provider,
            checkout_id=notice.object_id,
            status=checkout_status,
            now=now,
            payment_reference=notice.result.reference if notice.result else "",
        )
    return outcome, note, order


# --- Refunds ---------------------------------------------------------------------------------


def _refund_dispatch_unset(*, refund_id: int) -> None:
    raise RuntimeError("purchases.apps sets the refund dispatch at startup")


# Sends an owed refund after commit: purchases.apps sets the task of purchases.tasks, which
# goes through the gateways (purchases.payments), and they import this module.
refund_dispatch = _refund_dispatch_unset


@dataclasses.dataclass(frozen=True)
class RefundAnswer:
    """What the provider said to a refund request, in kaika's terms: a RefundStatus (OWED
    when it could not be asked: the same request is sent again later), its refund id, and
    the error or failure code."""

    status: str
    refund_id: str = ""
    error: str = ""


def refund_owe(
    *,
    order: Order | None,
    provider: str,
    reference: str,
    amount: int,
    reason: str,
    now: datetime.datetime,
    staff: User | None = None,
    note: str = "",
) -> Refund:
    """A payment to give back, sent to its provider after commit (purchases.tasks). Once
    per payment: asked again, it is the refund already owed or made."""
    refund, created = Refund.objects.get_or_create(
        provider=provider,
        payment_reference=reference,
        defaults={
            "order": order,
            "amount": amount,
            "reason": reason,
            "idempotency_key": str(uuid.uuid4()),
            "created_at": now,
            "requested_by": staff,
            "note": note,
        },
    )
    if created:
        transaction.on_commit(lambda: refund_dispatch(refund_id=refund.pk))
    return refund


def refund_answered(*, refund: Refund, answer: RefundAnswer, now: datetime.datetime) -> Refund:
    """Record the provider's answer to a refund request. A refund already settled (by an
    event that came first, or by hand) keeps its state."""
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update(of=("self",)).select_related("order").get(pk=refund.pk)
        )
        refund.requested_at = refund.requested_at or now
        refund.error = answer.error[:100]
        refund.provider_refund_id = refund.provider_refund_id or answer.refund_id
        fields = ["requested_at", "error", "provider_refund_id"]
        if refund.status in (RefundStatus.OWED, RefundStatus.IN_PROGRESS):
            _refund_move(refund, answer.status, now)
            fields += ["status", "completed_at"]
        refund.save(update_fields=fields)
    return refund


def refund_update(
    *,
    provider: str,
    reference: str,
    status: str,
    amount: int | None,
    refund_id: str,
    error: str,
    now: datetime.datetime,
) -> Refund | None:
    """A refund's state from the provider's notice (or a reconciliation). A refund kaika did
    not ask for (made in the provider's dashboard) is recorded, and staff told: its order
    keeps its tickets until staff cancel it in kaika."""
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update()
            .filter(provider=provider, payment_reference=reference)
            .first()
        )
        if refund is None:
            if status != RefundStatus.DONE:
                return None
            order = Order.objects.filter(
                payment_provider=provider, payment_reference=reference
            ).first()
            refund = Refund.objects.create(
                order=order,
                provider=provider,
                payment_reference=reference,
                amount=amount or (order.amount if order else 0),
                reason=RefundReason.PROVIDER,
                status=RefundStatus.DONE,
                idempotency_key=str(uuid.uuid4()),
                provider_refund_id=refund_id,
                created_at=now,
                completed_at=now,
            )
            logger.warning("refund at the provider for payment %s", reference)
            _tell_staff(refund, "outside")
            return refund
        if refund.recorded_by_hand or refund.status == status:
            return refund
        refund.provider_refund_id = refund.provider_refund_id or refund_id
        if status == RefundStatus.FAILED:
            refund.error = error[:100]
        _refund_move(refund, status, now)
        refund.save(update_fields=["provider_refund_id", "error", "status", "completed_at"])
    return refund


def _refund_move(refund: Refund, status: str, now) -> None:
    if status == RefundStatus.FAILED and refund.status != RefundStatus.FAILED:
        logger.error("refund of payment %s failed: %s", refund.payment_reference, refund.error)
        _tell_staff(refund, "failed")
    refund.status = status
    refund.completed_at = now if status == RefundStatus.DONE else None


def refund_retry(*, refund: Refund, staff: User, now: datetime.datetime) -> Refund:
    """Staff ask the provider again for a failed refund: a new request (new key), since the
    failed one moved no money."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != RefundStatus.FAILED:
            raise PurchaseError("refund_not_failed")
        refund.status = RefundStatus.OWED
        refund.idempotency_key = str(uuid.uuid4())
        refund.provider_refund_id = ""
        refund.requested_by = staff
        refund.note = f"{refund.note}\n{now:%Y-%m-%d %H:%M} {staff.email}: retry".strip()
        refund.save()
        transaction.on_commit(lambda: refund_dispatch(refund_id=refund.pk))
    return refund


def refund_record_by_hand(
    *, refund: Refund, staff: User, reason: str, now: datetime.datetime
) -> Refund:
    """Staff returned the money another way (a bank transfer) after the provider failed."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != RefundStatus.FAILED:
            raise PurchaseError("refund_not_failed")
        refund.status = RefundStatus.DONE
        refund.recorded_by_hand = True
        refund.completed_at = now
        refund.requested_by = staff
        refund.note = f"{refund.note}\n{now:%Y-%m-%d %H:%M} {staff.email}: {reason}".strip()
        refund.save()
    return refund


def _tell_staff(refund: Refund, kind: str) -> None:
    """A refund that needs a person: it failed at the provider, or was made outside kaika."""
    recipients = staff_recipients()
    if not recipients:
        return
    with translation.override("ja"):
        context = {
            "refund": refund,
            "kind": kind,
            "admin_url": settings.KAIKA_SITE_URL
            + reverse("admin:purchases_refund_change", args=[refund.pk]),
        }
        subject = render_to_string("purchases/email/refund_staff_subject.txt", context).strip()
        body = render_to_string("purchases/email/refund_staff_body.txt", context)
    send_email_on_commit(EmailMessage(subject=subject, body=body, to=recipients))


# --- Wallets at the till --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RedemptionTerms:
    """What taking `amount` with a code at the till comes to: the wallet, what its tickets are
    worth today, and the tickets it takes from (what the confirmation shows and the
    redemption writes)."""

    wallet: Wallet
    amount: int
    balance: WalletBalance
    parts: list  # of (Ticket, yen)

    @property
    def balance_after(self) -> int:
        return self.balance.usable_today - self.amount


def redemption_terms(*, shop: Shop, code: str, amount: int, now: datetime.datetime):
    """The till's confirmation: every rule of wallet_redeem on the rows as they are now, or
    the PurchaseError saying why not. Nothing is locked or written."""
    _check_redemption(shop, amount)
    wallet, ticket_id = _find_wallet(code)
    _check_wallet(shop, wallet)
    return _redemption_terms(wallet, _wallet_tickets(wallet, ticket_id), amount, now)


def wallet_redeem(
    *,
    shop: Shop,
    code: str,
    amount: int,
    operator: User | None,
    now: datetime.datetime,
    idempotency_key: str = "",
) -> Redemption:
    """The shop takes `amount` yen from a wallet: from the supporter's tickets for the shop
    usable today, earliest expiry first, split over as many as it needs (one TicketUse each).

    `code` is the wallet's. A ticket's code, printed before wallets, still works for that
    ticket's own balance alone: it may have been handed to someone else, so it never reaches
    the rest of the wallet. The same `idempotency_key` for the same wallet returns the
    redemption it made the first time (its `repeated` attribute then True), and takes nothing
    more. Only an approved shop takes tickets (one withdrawn by staff no longer can)."""
    _check_redemption(shop, amount)
    if len(idempotency_key) > 64:
        raise PurchaseError("invalid_request")
    with transaction.atomic():
        # The wallet's row first: two tills (or two tabs) taking from one wallet at once are
        # served one after the other, and a resent form finds the first one's redemption.
        wallet, ticket_id = _lock_wallet(code)
        _check_wallet(shop, wallet)
        if idempotency_key:
            done = Redemption.objects.filter(wallet=wallet, idempotency_key=idempotency_key)
            if (redemption := done.first()) is not None:
                redemption.repeated = True
                return redemption
        # Then its tickets, in a fixed order (a refund locks an order's tickets too), and
        # every rule re-checked on the locked rows.
        tickets = _lock_wallet_tickets(wallet, ticket_id)
        terms = _redemption_terms(wallet, tickets, amount, now)
        pause_after_checks()
        redemption = Redemption.objects.create(
            wallet=terms.wallet,
            shop=shop,
            amount=amount,
            balance_after=terms.balance_after,
            operator=operator,
            used_at=now,
            idempotency_key=idempotency_key,
        )
        for ticket, part in terms.parts:
            if not _spend(ticket, part):
                raise PurchaseError("over_usable_balance", balance=_yen(terms.balance.usable_today))
            ShopRound.objects.filter(shop_id=ticket.shop_id, round_id=ticket.round_id).update(
                tickets_used_amount=F("tickets_used_amount") + part
            )
            TicketUse.objects.create(
                ticket=ticket,
                shop_id=ticket.shop_id,
                amount=part,
                balance_after=ticket.balance - part,
                operator=operator,
                used_at=now,
                idempotency_key=idempotency_key,
                redemption=redemption,
            )
        redemption.repeated = False
        return redemption


def redemption_undo(
    *, redemption: Redemption, by: User, reason: str, now: datetime.datetime, staff: bool = False
) -> Redemption:
    """Undo a use at the till: each ticket it took from gets its part back, the shop round's
    used figure goes down by the same, and the undoing is recorded (when, who, why). The
    TicketUse rows stay: one already settled becomes a negative line in the shop's next
    statement (settlements.services.settlement_run).

    The shop's operator (`staff=False`) may undo its own shop's use within
    REDEMPTION_UNDO_MINUTES, and only while no part of it is on a statement; staff may undo
    any use at any time."""
    reason = (reason or "").strip()
    if not reason:
        raise PurchaseError("undo_reason_required")
    if len(reason) > UNDO_REASON_MAX_LENGTH:
        raise PurchaseError("undo_reason_too_long", max=UNDO_REASON_MAX_LENGTH)
    if not staff and not Shop.objects.operated_by(by).filter(pk=redemption.shop_id).exists():
        raise PurchaseError("undo_not_operator")
    with transaction.atomic():
        # The locks of wallet_redeem, in its order: wallet, then its tickets (an undo and a
        # use of the same wallet, or two undos of one use, run one after the other).
        wallet = Wallet.objects.get(pk=redemption.wallet_id)
        _lock_wallet(wallet.code)
        tickets = {t.pk: t for t in _lock_wallet_tickets(wallet, None)}
        # Then the shop's row, which settlement_run locks too (for every shop of the project)
        # before it reads the uses: a run and an undo of the shop's use never overlap, so the
        # statement lines this checks for are those of every run committed before, and a run
        # after this one sees the use undone (left out if never settled, reversed if settled).
        _lock_shop_for_settlement(redemption.shop_id)
        # Re-checked on the rows as they are now, under the locks.
        redemption = Redemption.objects.select_related("shop").get(pk=redemption.pk)
        if redemption.undone_at is not None:
            raise PurchaseError("undo_already")
        if not staff:
            if now - redemption.used_at > datetime.timedelta(minutes=REDEMPTION_UNDO_MINUTES):
                raise PurchaseError("undo_too_late", minutes=REDEMPTION_UNDO_MINUTES)
            # statement_line: settlements' record of a settled use (the reverse side of its
            # one-to-one; purchases does not import settlements).
            if redemption.parts.filter(statement_line__isnull=False).exists():
                raise PurchaseError("undo_settled")
        pause_after_checks()
        for part in redemption.parts.all():
            ticket = tickets.get(part.ticket_id)
            if ticket is None or not _give_back(ticket, part.amount):
                raise PurchaseError("undo_failed")
            # A conditional UPDATE, as wallet_redeem's: never below zero.
            moved = ShopRound.objects.filter(
                shop_id=ticket.shop_id,
                round_id=ticket.round_id,
                tickets_used_amount__gte=part.amount,
            ).update(tickets_used_amount=F("tickets_used_amount") - part.amount)
            if not moved:
                raise PurchaseError("undo_failed")
        redemption.undone_at = now
        redemption.undone_by = by
        redemption.undo_reason = reason
        redemption.save(update_fields=["undone_at", "undone_by", "undo_reason"])
    return redemption


def _lock_shop_for_settlement(shop_id: int) -> None:
    # FOR NO KEY UPDATE: the till's inserts (their foreign keys take KEY SHARE on the shop)
    # are not held up; only settlement_run's lock of the same row is.
    Shop.objects.select_for_update(no_key=True).filter(pk=shop_id).values_list("pk").first()


def _give_back(ticket: Ticket, amount: int) -> bool:
    """Put `amount` back on the ticket, never above its face value (the conditional UPDATE is
    the rule; the ticket is 利用可能 again by Ticket.state_on once its balance is not 0)."""
    return bool(
        Ticket.objects.filter(pk=ticket.pk, balance__lte=F("face_value") - amount).update(
            balance=F("balance") + amount
        )
    )


def _check_redemption(shop: Shop, amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise PurchaseError("invalid_amount")
    if shop.status != ShopStatus.APPROVED:
        raise PurchaseError("shop_not_redeeming")


def _check_wallet(shop: Shop, wallet: Wallet | None) -> None:
    if wallet is None:
        raise PurchaseError("wallet_not_found")
    if wallet.shop_id != shop.pk:
        raise PurchaseError("wallet_wrong_shop")


def _redemption_terms(wallet: Wallet, tickets, amount: int, now) -> RedemptionTerms:
    balance = WalletBalance.of(tickets, timezone.localdate(now))
    if not balance.usable_today:
        # Used up, void, not yet or no longer in its usage period (which the sentence names).
        start, end = balance.period or (None, None)
        period = {"start": _date(start), "end": _date(end)} if start else {}
        raise PurchaseError(f"wallet_{balance.why_not}", **period)
    if amount > balance.usable_today:
        raise PurchaseError("over_usable_balance", balance=_yen(balance.usable_today))
    return RedemptionTerms(
        wallet=wallet, amount=amount, balance=balance, parts=balance.split(amount)
    )


def _date(day: datetime.date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


def _find_wallet(code: str) -> tuple[Wallet | None, int | None]:
    """The wallet a code at the till names, and for a ticket's code the ticket alone."""
    if code.startswith("T-"):
        ticket = Ticket.objects.filter(code=code).values("pk", "supporter_id", "shop_id").first()
        if ticket is None:
            return None, None
        wallets = Wallet.objects.filter(
            supporter_id=ticket["supporter_id"], shop_id=ticket["shop_id"]
        )
        return wallets.first(), ticket["pk"]
    return Wallet.objects.filter(code=code).first(), None


def _wallet_tickets(wallet: Wallet, ticket_id: int | None) -> list[Ticket]:
    tickets = wallet.tickets().select_related("round").order_by("pk")
    return list(tickets.filter(pk=ticket_id) if ticket_id else tickets)


def _lock_wallet(code: str) -> tuple[Wallet | None, int | None]:
    wallet, ticket_id = _find_wallet(code)
    if wallet is not None:
        Wallet.objects.select_for_update().filter(pk=wallet.pk).values_list("pk").first()
    return wallet, ticket_id


def _lock_wallet_tickets(wallet: Wallet, ticket_id: int | None) -> list[Ticket]:
    tickets = wallet.tickets().select_related("round").select_for_update(of=("self",))
    if ticket_id:
        tickets = tickets.filter(pk=ticket_id)
    return list(tickets.order_by("pk"))


def _spend(ticket: Ticket, amount: int) -> bool:
    """Take `amount` off the balance if it is still there (the conditional UPDATE is the rule)."""
    return bool(
        Ticket.objects.filter(pk=ticket.pk, balance__gte=amount).update(
            balance=F("balance") - amount
        )
    )


def wallet_open(*, supporter_id: int, shop_id: int, now: datetime.datetime) -> Wallet:
    """The supporter's wallet at the shop, opened with the first ticket issued there."""
    wallet, _created = Wallet.objects.get_or_create(
        supporter_id=supporter_id, shop_id=shop_id, defaults={"created_at": now}
    )
    return wallet


# --- Emails --------------------------------------------------------------------------------


def _notify(order: Order, kind: str) -> None:
    """Confirmation, failure, cancellation, refund, late and duplicate payment emails, after
    commit. They name the order and amounts only, never card data (which we never see), and
    link to the order's page (which asks the supporter to sign in)."""
    # The supporter reads Japanese; the email does not follow the current request's language.
    with translation.override("ja"):
        context = {
            "order": order,
            "kind": kind,
            "order_url": settings.KAIKA_SITE_URL
            + reverse("purchases:order_detail", kwargs={"order_code": order.code}),
        }
        subject = render_to_string("purchases/email/order_subject.txt", context).strip()
        body = render_to_string("purchases/email/order_body.txt", context)
    send_email_on_commit(EmailMessage(subject=subject, body=body, to=[order.supporter.email]))
