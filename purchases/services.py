"""State changes of orders and tickets: create (with every cap), pay, fail, expire, cancel,
refund, and use a ticket at the till.

Locks are always taken in this order, so that two transactions never wait on each other in a
cycle: supporter (User row) -> order -> ticket -> listing -> shop round -> round -> project.
The counters of the projects app are moved only by conditional UPDATEs whose WHERE clause is
the cap (`units_sold + n <= stock_limit`, `amount_raised + n <= total_budget`): PostgreSQL
locks the row, re-evaluates the condition on the current value, and the row count says whether
the cap held. Nothing here reads a counter into Python and saves it back, except the test-only
path switched on by `KAIKA_TEST_DISABLE_PURCHASE_LOCKS`, which exists to prove the race tests
can see a race (their negative control).

On PostgreSQL, order creation (the 9:00 path) is one statement, kaika_order_reserve(), which
applies the same checks and UPDATEs in the same lock order inside the database
(purchases/migrations/0002_order_reserve_function.py); SQLite runs them from Python. The
purchase tests run every case on both.

Emails are queued with `send_email_on_commit`: only for transactions that commit.
"""

import contextlib
import dataclasses
import datetime
import json
import logging
import time

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from kaika import rows
from kaika.errors import DomainError
from kaika.mail import send_email_on_commit
from projects.models import Listing, Project, Round, RoundStatus, Shop, ShopRound, ShopStatus
from projects.reads import on_sale_in_round
from purchases.models import Order, OrderStatus, Ticket, TicketStatus, TicketUse, new_order_code
from supporters.models import User

logger = logging.getLogger(__name__)

# No real application comes near this; a bigger number is a typo or an attack.
MAX_UNITS_PER_ORDER = 1000
DEFAULT_RESERVATION_MINUTES = 15


class PurchaseError(DomainError):
    """The one domain error of this app; `code` picks a sentence the supporter can act on."""

    MESSAGES = {
        "invalid_units": _("口数は1以上の整数で入力してください。"),
        "invalid_request": _(
            "申込の内容が正しくありません。もう一度お店のページからお申し込みください。"
        ),
        "round_mismatch": _("このお店は、この期には参加していません。"),
        "round_not_open_yet": _("まだ募集開始前です。募集開始時刻になってからお申し込みください。"),
        "round_closed": _("この期の募集は終了しました。"),
        "round_suspended": _("現在、募集を一時停止しています。"),
        "shop_not_available": _("このお店は現在、支援を受け付けていません。"),
        "shop_not_in_round": _("このお店は、この期には参加していません。"),
        "listing_not_available": _("このリターンは、この期には販売していません。"),
        "sold_out": _("申し訳ありません。このリターンは完売しました(または残りが足りません)。"),
        "over_listing_person_limit": _(
            "このリターンはお一人様%(limit)s口までです(お申込済み%(held)s口)。"
        ),
        "over_application_max": _("1回のお申込は%(max)s円までです。"),
        "over_person_round_max": _(
            "お一人様1期あたり%(max)s円までです(この期のお申込済み%(held)s円)。"
        ),
        "budget_exhausted": _(
            "予算の上限に達したため、募集を終了しました(または残りの予算が足りません)。"
        ),
        "order_not_pending": _("この申込は、お支払い待ちではありません。"),
        "order_expired": _("お支払いの期限が過ぎたため、この申込は無効になりました。"),
        "order_not_paid": _("お支払い済みの申込ではありません。"),
        "tickets_used": _("利用済みのチケットがあるため、返金できません。"),
        "ticket_not_found": _("チケットが見つかりません。番号をご確認ください。"),
        "ticket_wrong_shop": _("このチケットは、このお店では使えません。"),
        "shop_not_redeeming": _(
            "このお店は現在、チケットを受け付けられません。事務局にお問い合わせください。"
        ),
        "ticket_void": _("このチケットは無効です。"),
        "ticket_not_in_usage_period": _("チケットの利用期間外です(%(start)s〜%(end)s)。"),
        "invalid_amount": _("利用額は1円以上の整数で入力してください。"),
        "insufficient_balance": _("残額(%(balance)s円)を超える額は使えません。"),
    }


def _locks_disabled() -> bool:
    """TEST-ONLY switch for the negative controls of the race tests: with it on, the caps are
    checked by reading counters into Python, sleeping a moment, and writing the sum back, with
    no row lock, which is exactly the bug the real path prevents. Never set it elsewhere."""
    return bool(getattr(settings, "KAIKA_TEST_DISABLE_PURCHASE_LOCKS", False))


def _race_window() -> None:
    # Only on the test-only unlocked path: widens the read-then-write window so that the
    # negative control overshoots reliably instead of by luck.
    time.sleep(0.02)


def reservation_minutes() -> int:
    return int(getattr(settings, "KAIKA_ORDER_RESERVATION_MINUTES", DEFAULT_RESERVATION_MINUTES))


def _yen(n: int) -> str:
    return f"{n:,}"


# --- Creating an order ---------------------------------------------------------------------


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
    double click, a replayed form), whatever has changed since.

    This is the 9:00 path: on PostgreSQL one statement (kaika_order_reserve: the supporter's
    lock, one read, one sum, the four conditional UPDATEs and the INSERT); elsewhere the same
    in Python. Work that only a refusal needs (finding a replayed order, releasing stale
    reservations) is done on the refusal.
    """
    if isinstance(units, bool) or not isinstance(units, int):
        raise PurchaseError("invalid_units")
    if not 1 <= units <= MAX_UNITS_PER_ORDER:
        raise PurchaseError("invalid_units")
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
    if _reserve_in_database():
        return _order_create_in_database(supporter, listing_id, round_id, units, key, now)
    return _order_create_in_python(supporter, listing_id, round_id, units, key, now)


def _reserve_in_database() -> bool:
    """On PostgreSQL the whole reservation is one statement, kaika_order_reserve() (written
    in purchases/migrations/0002): the same rules as _order_create_in_python, which SQLite
    runs and the race tests' negative control needs. KAIKA_ORDER_RESERVE_IN_DATABASE=False
    (tests only) runs the Python path on PostgreSQL too, so both are tested there."""
    return (
        connection.vendor == "postgresql"
        and getattr(settings, "KAIKA_ORDER_RESERVE_IN_DATABASE", True)
        and not _locks_disabled()
    )


def _order_create_in_database(
    supporter: User, listing_id: int, round_id: int, units: int, key: str, now
) -> Order:
    """One round trip. Outside an atomic block (a request at 9:00) the statement is its own
    transaction: the supporter's, listing's, round's and project's rows are locked and
    released inside PostgreSQL, never held while this thread waits for the GIL to send the
    next statement or the COMMIT (docs/benchmarks.md). Inside one (a caller's transaction,
    the tests) a savepoint takes a refusal back without aborting the caller's work."""
    code = new_order_code()
    expires_at = now + datetime.timedelta(minutes=reservation_minutes())
    statement = _RESERVE_ASYNC if _commit_asynchronously() else _RESERVE_DURABLE
    params = [supporter.pk, listing_id, round_id, units, key, code, now, expires_at]
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with savepoint, connection.cursor() as cursor:
            cursor.execute(statement, params)
            row = cursor.fetchone()
    except DatabaseError as error:
        refusal = _refusal_from(error)
        if refusal is None:
            if not connection.in_atomic_block:
                # No atomic block closes a broken connection here (its rollback would):
                # give it back, so that the next order gets a working one from the pool
                # even outside a request (whose end would do the same).
                connection.close_if_unusable_or_obsolete()
            raise
        raise refusal from None
    order_id, shop_id, project_id, unit_price, amount, tickets_value = row
    order = Order(
        pk=order_id,
        code=code,
        supporter=supporter,
        project_id=project_id,
        round_id=round_id,
        shop_id=shop_id,
        listing_id=listing_id,
        units=units,
        unit_price=unit_price,
        amount=amount,
        tickets_value=tickets_value,
        idempotency_key=key,
        created_at=now,
        expires_at=expires_at,
    )
    order._state.adding = False
    order._state.db = connection.alias
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
    params = json.loads(diag.message_detail) if diag.message_detail else {}
    yen = _YEN_PARAMS.get(code, set())
    return PurchaseError(code, **{k: _yen(v) if k in yen else v for k, v in params.items()})


def _order_create_in_python(
    supporter: User, listing_id: int, round_id: int, units: int, key: str, now
) -> Order:
    with transaction.atomic():
        _commit_without_waiting_for_the_disk()
        if not _locks_disabled():
            # The supporter's row serialises their own tabs: the per-person caps below are
            # sums over their orders, read after this lock, so two tabs cannot both fit.
            User.objects.select_for_update().only("pk").get(pk=supporter.pk)

        listing, round_, amount = _check_limits(supporter, listing_id, round_id, units, now)
        shop = listing.shop
        project = shop.project

        if _locks_disabled():
            _reserve_unlocked(listing, shop, round_, project, units, amount)
        else:
            _reserve(listing, shop, round_, project, units, amount, now)

        tickets_value = project.tickets_value(amount) if listing.premium_applies else amount
        # The unique (supporter, idempotency_key) constraint catches a replay here; the
        # IntegrityError rolls back the reservation above with it (see order_create).
        return Order.objects.create(
            supporter=supporter,
            project=project,
            round=round_,
            shop=shop,
            listing=listing,
            units=units,
            unit_price=listing.unit_price,
            amount=amount,
            tickets_value=tickets_value,
            idempotency_key=key,
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=reservation_minutes()),
        )


def _commit_without_waiting_for_the_disk() -> None:
    """Every order updates the round's and the project's rows, and holds their locks until
    COMMIT returns; COMMIT waits for the WAL to reach the disk. So at 9:00 orders went one
    disk flush at a time (~14 ms each on the benchmark machine): 97 orders a second where the
    CPU allowed 121 (docs/benchmarks.md). A reservation commits asynchronously instead (PostgreSQL's
    `synchronous_commit = off`, for this transaction only): the locks go as soon as the
    commit is in memory, and the flush follows within 3 x wal_writer_delay.

    What it risks: if PostgreSQL itself crashes in that fraction of a second, the newest
    reservations are lost whole (order and counters together: never a counter without its
    order, so no cap can be overshot). Their supporters find no order to pay (the payment
    page needs the order to exist), and the budget they held is free again. Payments,
    refunds and ticket use keep the default and wait for the disk.
    ORDER_ASYNC_COMMIT=false in the environment turns this off."""
    if _commit_asynchronously():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _commit_asynchronously() -> bool:
    return connection.vendor == "postgresql" and settings.KAIKA_ORDER_ASYNC_COMMIT


def _fresh_offer(listing_id: int, round_id: int) -> tuple[Listing, Round]:
    """The listing with its shop and project, and the round, as they are now; and, on the
    listing, whether the shop takes part in the round (`shop_in_round`) and whether the
    listing is on sale in it (`offered`). One statement (_OFFER): the ORM took 1.7 ms of
    CPU to build the three it needed. Raises PurchaseError if either id is unknown."""
    with connection.cursor() as cursor:
        cursor.execute(_OFFER, [round_id, listing_id])
        row = cursor.fetchone()
    if row is None:
        raise PurchaseError("invalid_request")
    values = iter(row)
    listing, shop, project, round_ = (rows.instance(model, values) for model in _OFFER_MODELS)
    in_round, on_sale_in_round = next(values), next(values)
    shop.project = project
    listing.shop = shop
    listing.shop_in_round = bool(in_round)
    listing.offered = listing.is_active and bool(on_sale_in_round)
    return listing, round_


def _offer_statement() -> tuple[str, list]:
    """_OFFER and the models it reads, in order: every concrete column of the listing, its
    shop, the shop's project and the round (so no attribute is left to load later), then the
    two facts about the round. Built once, from the models' own metadata."""
    tables = [(Listing, "l"), (Shop, "s"), (Project, "p"), (Round, "r")]
    selected = [column for model, alias in tables for column in rows.columns(model, alias)]
    statement = f"""
        SELECT {", ".join(selected)},
          EXISTS (SELECT 1 FROM {ShopRound._meta.db_table} sr
                  WHERE sr.shop_id = s.id AND sr.round_id = r.id),
          {on_sale_in_round("l", "r.id")}
        FROM {Listing._meta.db_table} l
        JOIN {Shop._meta.db_table} s ON s.id = l.shop_id
        JOIN {Project._meta.db_table} p ON p.id = s.project_id
        JOIN {Round._meta.db_table} r ON r.id = %s
        WHERE l.id = %s"""  # noqa: S608 (identifiers from the models' metadata, no input)
    return statement, [model for model, _ in tables]


def _check_limits(supporter: User, listing_id: int, round_id: int, units: int, now):
    """Every cap, on fresh rows. Called under the supporter's lock by _order_create (so the
    per-person sums cannot change under it), and without it for the confirmation page."""
    listing, round_ = _fresh_offer(listing_id, round_id)
    shop = listing.shop
    project = shop.project
    _check_offer(shop, listing, round_, now)

    amount = units * listing.unit_price
    if amount > project.max_per_application:
        raise PurchaseError("over_application_max", max=_yen(project.max_per_application))
    held_units, held_amount = _held_by(supporter, listing.pk, round_.pk, now)
    if listing.per_person_limit is not None and held_units + units > listing.per_person_limit:
        raise PurchaseError(
            "over_listing_person_limit", limit=listing.per_person_limit, held=held_units
        )
    if held_amount + amount > project.max_per_person_per_round:
        raise PurchaseError(
            "over_person_round_max",
            max=_yen(project.max_per_person_per_round),
            held=_yen(held_amount),
        )
    # Early answers on figures read a moment ago; the conditional UPDATEs have the last word.
    if amount > project.budget_remaining:
        raise PurchaseError("budget_exhausted")
    if listing.remaining_stock is not None and units > listing.remaining_stock:
        raise PurchaseError("sold_out")
    return listing, round_, amount


def _held_by(supporter: User, listing_id: int, round_id: int, now) -> tuple[int, int]:
    """What the supporter holds at `now` (Order.objects.live_at): units of this listing, and
    yen in this round. One statement, written out like the UPDATEs below."""
    with connection.cursor() as cursor:
        cursor.execute(
            _HELD_BY,
            [
                listing_id,
                round_id,
                supporter.pk,
                OrderStatus.PAID,
                OrderStatus.PENDING,
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
        units, amount = cursor.fetchone()
    return int(units), int(amount)


def order_check(
    *, supporter: User, listing_id: int, round_id: int, units: int, now: datetime.datetime
) -> tuple[Listing, Round, int]:
    """The confirmation page's preview: the same checks, no reservation (nothing locked)."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise PurchaseError("invalid_units")
    if not 1 <= units <= MAX_UNITS_PER_ORDER:
        raise PurchaseError("invalid_units")
    return _check_limits(supporter, listing_id, round_id, units, now)


def _check_offer(shop, listing: Listing, round_: Round, now) -> None:
    """The checks that give the supporter the right sentence. The ones that can change under
    us (round open, stock, budget) are enforced again by the conditional UPDATEs."""
    if round_.project_id != shop.project_id:
        raise PurchaseError("round_mismatch")
    status = round_.status_at(now)
    if status == RoundStatus.SCHEDULED:
        raise PurchaseError("round_not_open_yet")
    if status == RoundStatus.SUSPENDED:
        raise PurchaseError("round_suspended")
    if status == RoundStatus.CLOSED:
        raise PurchaseError("round_closed")
    if shop.status != ShopStatus.APPROVED or not shop.project.is_published:
        raise PurchaseError("shop_not_available")
    if not listing.shop_in_round:
        raise PurchaseError("shop_not_in_round")
    if not listing.offered:
        raise PurchaseError("listing_not_available")


def _reserve(listing, shop, round_, project, units: int, amount: int, now) -> None:
    # Each UPDATE locks its row and re-checks its cap on the current value; the row count
    # says whether it held. Order: listing -> shop round -> round -> project (see module).
    if not _conditional_update(_RESERVE_LISTING, [units, listing.pk, units]):
        raise PurchaseError("sold_out")
    if not _conditional_update(
        _RESERVE_SHOP_ROUND, [units, amount, shop.pk, round_.pk, shop.pk, ShopStatus.APPROVED]
    ):
        raise PurchaseError("shop_not_in_round")
    # A staff suspension or the closing second may have come since the check above.
    at = connection.ops.adapt_datetimefield_value(now)
    if not _conditional_update(_RESERVE_ROUND, [amount, round_.pk, at, at]):
        raise PurchaseError("round_closed")
    # The hottest row at 9:00: last, so its lock is held for the shortest time.
    if not _conditional_update(_RESERVE_PROJECT, [amount, project.pk, amount]):
        raise PurchaseError("budget_exhausted")


def _conditional_update(statement: str, params: list) -> bool:
    """Run one of the conditional UPDATEs below: True if its row changed (its cap held)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount == 1


# The 9:00 statements, written out: the ORM spent 0.4-0.9 ms of CPU building each of them
# (0.95 ms for the holdings), on every order, against 0.1 ms for these
# (bench/profile_order.py, docs/benchmarks.md). Plain SQL that PostgreSQL and SQLite both
# run; each names its cap in its WHERE clause. The table names are the models'
# (tests/purchases/test_limits.py checks they still are).
_RESERVE_LISTING = """
    UPDATE projects_listing SET units_sold = units_sold + %s
    WHERE id = %s AND is_active AND (stock_limit IS NULL OR stock_limit >= units_sold + %s)"""
_RESERVE_SHOP_ROUND = """
    UPDATE projects_shopround SET units_sold = units_sold + %s, amount_raised = amount_raised + %s
    WHERE shop_id = %s AND round_id = %s
      AND EXISTS (SELECT 1 FROM projects_shop WHERE id = %s AND status = %s)"""
# Round.objects.open_at(now), as SQL: opened, not closed, not suspended.
_RESERVE_ROUND = """
    UPDATE projects_round SET amount_raised = amount_raised + %s
    WHERE id = %s AND opens_at <= %s AND closes_at > %s AND NOT suspended"""
_RESERVE_PROJECT = """
    UPDATE projects_project SET amount_raised = amount_raised + %s
    WHERE id = %s AND amount_raised + %s <= total_budget"""
# Whether the shop takes part in the round, and whether the listing is sold in it (with
# is_active, that is Listing.objects.offered_in: tied to the round, or to no round at all),
# read with the rows themselves.
_OFFER, _OFFER_MODELS = _offer_statement()
# The whole reservation on PostgreSQL (purchases/migrations/0002_order_reserve_function.py),
# with the commit that does not wait for the disk named in the call, or without it.
_RESERVE_DURABLE = "SELECT * FROM kaika_order_reserve(%s, %s, %s, %s, %s, %s, %s, %s)"
_RESERVE_ASYNC = _RESERVE_DURABLE.removesuffix(")") + ", synchronous_commit => 'off')"
# Order.objects.live_at(now), as SQL: paid, or pending and not yet expired.
_HELD_BY = """
    SELECT
      COALESCE(SUM(CASE WHEN listing_id = %s THEN units ELSE 0 END), 0),
      COALESCE(SUM(CASE WHEN round_id = %s THEN amount ELSE 0 END), 0)
    FROM purchases_order
    WHERE supporter_id = %s AND (status = %s OR (status = %s AND expires_at > %s))"""
SQL_TABLES = {
    "purchases_order": Order,
    "projects_listing": Listing,
    "projects_shopround": ShopRound,
    "projects_shop": Shop,
    "projects_round": Round,
    "projects_project": Project,
    "projects_listing_rounds": Listing.rounds.through,
}


def _reserve_unlocked(listing, shop, round_, project, units: int, amount: int) -> None:
    """TEST-ONLY (see _locks_disabled): the naive read-check-sleep-write the real path avoids."""
    current = Listing.objects.values_list("units_sold", "stock_limit").get(pk=listing.pk)
    if current[1] is not None and current[0] + units > current[1]:
        raise PurchaseError("sold_out")
    raised, budget = Project.objects.values_list("amount_raised", "total_budget").get(pk=project.pk)
    if raised + amount > budget:
        raise PurchaseError("budget_exhausted")
    _race_window()
    Listing.objects.filter(pk=listing.pk).update(units_sold=current[0] + units)
    ShopRound.objects.filter(shop_id=shop.pk, round_id=round_.pk).update(
        units_sold=F("units_sold") + units, amount_raised=F("amount_raised") + amount
    )
    Round.objects.filter(pk=round_.pk).update(amount_raised=F("amount_raised") + amount)
    Project.objects.filter(pk=project.pk).update(amount_raised=raised + amount)


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

    order_code: str
    reference: str
    amount: int
    succeeded: bool
    at: datetime.datetime


def payment_record(*, result: PaymentResult, now: datetime.datetime) -> Order:
    """Apply a verified payment result. Safe to call twice, late or out of order:
    tickets are issued once, a failure after a success changes nothing, and a success for an
    order that is no longer pending is recorded for a refund, never revives the order."""
    order = Order.objects.filter(code=result.order_code).only("pk", "supporter_id").first()
    if order is None:
        raise PurchaseError("invalid_request")
    with transaction.atomic():
        # The supporter's row: the "first paid order" figures below count distinct people.
        User.objects.select_for_update().only("pk").get(pk=order.supporter_id)
        order = _lock_order(order.pk)
        if result.amount != order.amount:
            logger.warning("payment amount mismatch for order %s", order.code)
            raise PurchaseError("invalid_request")
        if not result.succeeded:
            if order.status == OrderStatus.PENDING:
                _release_counters(order)
                order.status = OrderStatus.FAILED
                order.closed_at = now
                order.save(update_fields=["status", "closed_at"])
                _notify(order, "failed")
            # Otherwise: a late or out-of-order failure for a paid or closed order; ignore.
            return order
        if order.status == OrderStatus.PAID and order.payment_reference == result.reference:
            return order  # the same success delivered again
        refunds_owed = order.late_payment_reference.split()
        if result.reference in refunds_owed:
            return order  # a payment already recorded for a refund, delivered again
        # The payment's own time decides, not when its notice reached us, but only while the
        # reservation is still held: an order already expired by the cron is not revived.
        if order.status == OrderStatus.PENDING and result.at < order.expires_at:
            _mark_paid(order, result.reference, now)
            return order
        # A payment the order does not take: recorded for a refund, and the supporter told.
        # A paid order stays paid, with its tickets (a second payment of it is refunded);
        # any other is not revived.
        kind = "duplicate" if order.status == OrderStatus.PAID else "late"
        if order.status == OrderStatus.PENDING:
            _release_counters(order)
            order.status = OrderStatus.EXPIRED
            order.closed_at = now
        logger.warning("payment for order %s arrived when it was %s", order.code, order.status)
        order.late_payment_reference = "\n".join([*refunds_owed, result.reference])
        order.save(update_fields=["status", "closed_at", "late_payment_reference"])
        _notify(order, kind)
    return order


def _mark_paid(order: Order, reference: str, now) -> None:
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.payment_reference = reference
    order.save(update_fields=["status", "paid_at", "payment_reference"])
    tickets = tickets_issue(order=order, now=now)
    paid = Order.objects.filter(supporter_id=order.supporter_id, status=OrderStatus.PAID).exclude(
        pk=order.pk
    )
    first_here = not paid.filter(shop_id=order.shop_id, round_id=order.round_id).exists()
    ShopRound.objects.filter(shop_id=order.shop_id, round_id=order.round_id).update(
        tickets_issued_amount=F("tickets_issued_amount") + sum(t.face_value for t in tickets),
        supporters_count=F("supporters_count") + int(first_here),
    )
    if not paid.filter(round_id=order.round_id).exists():
        Round.objects.filter(pk=order.round_id).update(supporters_count=F("supporters_count") + 1)
    if not paid.filter(project_id=order.project_id).exists():
        Project.objects.filter(pk=order.project_id).update(
            supporters_count=F("supporters_count") + 1
        )
    _notify(order, "paid")


def ticket_face_values(total: int, denomination: int) -> list[int]:
    """`total` split into tickets of `denomination`, the rest (if any) as one smaller ticket."""
    count, rest = divmod(total, denomination)
    return [denomination] * count + ([rest] if rest else [])


def tickets_issue(*, order: Order, now: datetime.datetime) -> list[Ticket]:
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


def order_refund(*, order: Order, now: datetime.datetime, note: str = "") -> Order:
    """Staff cancel a paid order: its budget goes back and its tickets are voided. Refused
    once any ticket has been used (the shop has already given goods for it)."""
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
        )
        if not paid.filter(round_id=order.round_id).exists():
            Round.objects.filter(pk=order.round_id).update(
                supporters_count=F("supporters_count") - 1
            )
        if not paid.filter(project_id=order.project_id).exists():
            Project.objects.filter(pk=order.project_id).update(
                supporters_count=F("supporters_count") - 1
            )
        _notify(order, "refunded")
    return order


# --- Tickets at the till -------------------------------------------------------------------


def ticket_redeem(
    *,
    shop,
    code: str,
    amount: int,
    operator: User | None,
    now: datetime.datetime,
    idempotency_key: str = "",
) -> TicketUse:
    """The shop takes `amount` yen off a ticket. Partial use keeps the rest on the ticket.

    The same `idempotency_key` for the same ticket returns the use it made the first time
    (its `repeated` attribute then True), and takes nothing more. Only an approved shop
    takes tickets (one withdrawn by staff no longer can)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise PurchaseError("invalid_amount")
    if len(idempotency_key) > 64:
        raise PurchaseError("invalid_request")
    if shop.status != ShopStatus.APPROVED:
        raise PurchaseError("shop_not_redeeming")
    with transaction.atomic():
        tickets = Ticket.objects.select_related("round")
        if not _locks_disabled():
            # Locked, then every rule re-checked on the locked row: two tills (or two tabs)
            # using the same ticket at once cannot both spend its balance.
            tickets = tickets.select_for_update(of=("self",))
        ticket = tickets.filter(code=code).first()
        if ticket is None:
            raise PurchaseError("ticket_not_found")
        if ticket.shop_id != shop.pk:
            raise PurchaseError("ticket_wrong_shop")
        if idempotency_key:
            # Read after the ticket's lock: a first sending that got there before has committed.
            done = TicketUse.objects.filter(ticket=ticket, idempotency_key=idempotency_key).first()
            if done is not None:
                done.repeated = True
                return done
        if ticket.status != TicketStatus.VALID:
            raise PurchaseError("ticket_void")
        if not ticket.usable_on(timezone.localdate(now)):
            raise PurchaseError(
                "ticket_not_in_usage_period",
                start=ticket.round.usage_starts_on.isoformat(),
                end=ticket.round.usage_ends_on.isoformat(),
            )
        if amount > ticket.balance:
            raise PurchaseError("insufficient_balance", balance=_yen(ticket.balance))
        if _locks_disabled():
            _race_window()
            # The naive write the negative control must catch: balance computed in Python.
            Ticket.objects.filter(pk=ticket.pk).update(balance=ticket.balance - amount)
        elif not Ticket.objects.filter(pk=ticket.pk, balance__gte=amount).update(
            balance=F("balance") - amount
        ):
            raise PurchaseError("insufficient_balance", balance=_yen(ticket.balance))
        ShopRound.objects.filter(shop_id=ticket.shop_id, round_id=ticket.round_id).update(
            tickets_used_amount=F("tickets_used_amount") + amount
        )
        use = TicketUse.objects.create(
            ticket=ticket,
            shop_id=ticket.shop_id,
            amount=amount,
            balance_after=ticket.balance - amount,
            operator=operator,
            used_at=now,
            idempotency_key=idempotency_key,
        )
        use.repeated = False
        return use


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
