"""State changes of lottery rounds: create (the seed committed), apply, draw, re-draw.

Lock order, in line with purchases.services: supporter (User row) -> lottery round -> listing
-> shop round -> round -> project. Emails go after commit, through one task per pass
(lottery.tasks), so that a draw of 100,000 applications queues one job, not 100,000.
"""

import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils.translation import gettext_lazy as _

from kaika.bulk import insert_many
from kaika.debug import pause_after_checks
from kaika.errors import DomainError
from lottery import draw
from lottery.models import Allotment, Application, ApplicationLine, DrawPass, LotteryRound
from projects.models import (
    MAX_UNITS_PER_ORDER,
    Listing,
    Project,
    Round,
    RoundStatus,
    ShopRound,
    ShopStatus,
)
from purchases.models import HOLDING, Order
from purchases.services import Allotment as OrderAllotment
from purchases.services import orders_allot, orders_expire
from residents.services import EligibilityError, eligibility_check
from supporters.models import User


class LotteryError(DomainError):
    MESSAGES = {
        "not_lottery": _("この期は抽選ではありません。"),
        "already_open": _(
            "募集開始後は抽選を設定できません(乱数の種のハッシュは募集開始までに公開します)。"
        ),
        "window_not_open": _("まだ抽選の受付開始前です。"),
        "window_closed": _("抽選の受付は終了しました。お申込の変更もできません。"),
        "round_suspended": _("現在、受付を一時停止しています。"),
        # Who may back a project at all: residents.services.eligibility_check's sentences.
        **EligibilityError.MESSAGES,
        "invalid_units": _("口数は0以上%(max)sまでの整数で入力してください。"),
        "no_lines": _("希望するリターンを1つ以上、1口以上でお選びください。"),
        "listing_not_available": _("選ばれたリターンは、この期には申し込めません。"),
        "over_application_max": _("「%(listing)s」:1つのリターンへのお申込は%(max)s円までです。"),
        "over_listing_person_limit": _(
            "「%(listing)s」はお一人様%(limit)s口までです(お申込済み%(held)s口)。"
        ),
        "over_person_round_max": _(
            "お一人様1期あたり%(max)s円までです(この申込の合計%(amount)s円)。"
        ),
        "sold_out": _("「%(listing)s」は残りがありません(または希望が残りを超えています)。"),
        "budget_exhausted": _("予算の上限に達しています(または希望が残りの予算を超えています)。"),
        "not_closed": _("受付期間が終わるまで抽選できません。"),
        "already_drawn": _("この抽選は実施済みです。"),
        "not_drawn": _("まだ抽選していません。"),
        "payment_pending": _("前回の当選のお支払い期限が、まだ来ていません。"),
        "nothing_to_redraw": _("繰上当選に回せる口数、または対象の申込がありません。"),
    }


# --- Setting up -----------------------------------------------------------------------------


def _lock_round(round_id: int) -> Round:
    return Round.objects.select_for_update().get(pk=round_id)


def lottery_create(*, round_: Round, payment_hours: int, now: datetime.datetime) -> LotteryRound:
    """The lottery of a round in lottery mode, its seed drawn and its hash published now:
    before the window opens, so the seed is fixed before any application exists."""
    with transaction.atomic():
        # Read under the round's lock, as projects.services.round_allocation_mode_set takes
        # it: the mode cannot switch to first come between this check and the lottery.
        locked = _lock_round(round_.pk)
        if not locked.is_lottery:
            raise LotteryError("not_lottery")
        if now >= locked.opens_at:
            raise LotteryError("already_open")
        pause_after_checks()
        return LotteryRound.objects.create(
            round=round_, payment_hours=payment_hours, committed_at=now
        )


# --- Applying -------------------------------------------------------------------------------


def _check_window(round_: Round, now: datetime.datetime) -> None:
    status = round_.status_at(now)
    if status == RoundStatus.SCHEDULED:
        raise LotteryError("window_not_open")
    if status == RoundStatus.SUSPENDED:
        raise LotteryError("round_suspended")
    if status == RoundStatus.CLOSED:
        raise LotteryError("window_closed")


def offered_listings(round_: Round):
    """What can be wished for in a lottery round: what first come would sell in it."""
    return (
        Listing.objects.offered_in(round_)
        .filter(shop__status=ShopStatus.APPROVED)
        .filter(Exists(ShopRound.objects.filter(shop_id=OuterRef("shop_id"), round_id=round_.pk)))
        .select_related("shop__project")
    )


def _check_wishes(supporter: User, round_: Round, wishes: dict[int, int], now) -> list:
    """The wishes as (listing, units) within every cap, or LotteryError."""
    for units in wishes.values():
        if isinstance(units, bool) or not isinstance(units, int):
            raise LotteryError("invalid_units", max=MAX_UNITS_PER_ORDER)
        if not 0 <= units <= MAX_UNITS_PER_ORDER:
            raise LotteryError("invalid_units", max=MAX_UNITS_PER_ORDER)
    wanted = {listing_id: units for listing_id, units in wishes.items() if units}
    if not wanted:
        raise LotteryError("no_lines")
    listings = {listing.pk: listing for listing in offered_listings(round_).filter(pk__in=wanted)}
    if len(listings) != len(wanted):
        raise LotteryError("listing_not_available")
    held = Order.objects.live_at(now).filter(supporter=supporter)
    held_units = dict(
        held.filter(listing_id__in=wanted).values_list("listing_id").annotate(n=Sum("units"))
    )
    lines, total = [], 0
    for listing_id in sorted(wanted):
        listing, units = listings[listing_id], wanted[listing_id]
        for cap in listing.unit_caps(held_units=held_units.get(listing_id, 0)):
            # The round's cap is checked on the whole application below.
            if cap.code != "over_person_round_max" and units > cap.most:
                raise LotteryError(cap.code, listing=listing.display_title, **_figures(cap.params))
        lines.append((listing, units))
        total += units * listing.unit_price
    # As read now with the listings (the caller's round may be an old copy).
    project = lines[0][0].shop.project
    # The rule first-come orders follow: a drawn order is paid without that check, so a
    # lottery takes no application a first-come order would refuse.
    try:
        eligibility_check(supporter=supporter, project=project)
    except EligibilityError as refusal:
        raise LotteryError.relay(refusal) from None
    if total > project.max_per_person_per_round:
        raise LotteryError(
            "over_person_round_max",
            **_figures({"max": project.max_per_person_per_round, "amount": total}),
        )
    return lines


def _figures(params: dict) -> dict:
    return {k: f"{v:,}" if isinstance(v, int) else v for k, v in params.items()}


def _lock_supporter(user_id: int) -> None:
    # The supporter's row serialises their own tabs: the second request finds the first's
    # application and edits it, rather than both creating one (the unique constraint would
    # refuse the second with an error).
    User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()


def application_save(
    *, lottery: LotteryRound, supporter: User, wishes: dict[int, int], now: datetime.datetime
) -> Application:
    """Create or replace `supporter`'s application (one per round): `wishes` is {listing id:
    units}, 0 dropping a line. Until the window closes."""
    round_ = lottery.round
    with transaction.atomic():
        _lock_supporter(supporter.pk)
        _check_window(round_, now)
        lines = _check_wishes(supporter, round_, wishes, now)
        application = Application.objects.filter(lottery=lottery, supporter=supporter).first()
        pause_after_checks()
        if application is None:
            application = Application.objects.create(
                lottery=lottery, supporter=supporter, created_at=now, updated_at=now
            )
        else:
            application.updated_at = now
            application.save(update_fields=["updated_at"])
            application.lines.all().delete()
        ApplicationLine.objects.bulk_create(
            ApplicationLine(application=application, listing=listing, units=units)
            for listing, units in lines
        )
    return application


def application_withdraw(*, application: Application, now: datetime.datetime) -> None:
    with transaction.atomic():
        _lock_supporter(application.supporter_id)
        _check_window(application.lottery.round, now)
        application.lines.all().delete()
        application.delete()


# --- Drawing --------------------------------------------------------------------------------


def _lock_supply(lottery: LotteryRound) -> tuple[Round, dict[int, Listing]]:
    """Lock what the draw shares out, in purchases' lock order, and read it under the lock."""
    round_ = lottery.round
    wished = ApplicationLine.objects.filter(application__lottery=lottery).values("listing_id")
    listings = {
        listing.pk: listing
        for listing in Listing.objects.select_for_update(of=("self",))
        .select_related("shop__project")
        .filter(pk__in=wished)
        .order_by("pk")
    }
    list(ShopRound.objects.select_for_update().filter(round=round_).order_by("pk").values("pk"))
    round_ = (
        Round.objects.select_for_update(of=("self",)).select_related("project").get(pk=round_.pk)
    )
    round_.project = Project.objects.select_for_update().get(pk=round_.project_id)
    return round_, listings


def _wishes(lottery: LotteryRound) -> tuple[dict[str, dict[int, int]], dict[str, tuple]]:
    """{public id: {listing: units}} and {public id: (application pk, supporter pk)}."""
    wishes: dict[str, dict[int, int]] = {}
    ids: dict[str, tuple] = {}
    # A plain cursor: at 100,000 applications the ORM's per-row work was seconds of a draw.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.public_id, a.id, a.supporter_id, l.listing_id, l.units"
            " FROM lottery_applicationline l JOIN lottery_application a"
            " ON a.id = l.application_id WHERE a.lottery_id = %s",
            [lottery.pk],
        )
        for public_id, application_id, supporter_id, listing_id, units in cursor.fetchall():
            wishes.setdefault(public_id, {})[listing_id] = units
            ids[public_id] = (application_id, supporter_id)
    return wishes, ids


def _run_pass(lottery, round_, listings, wishes, ids, excluded, number, now):
    project = round_.project
    budget = project.budget_remaining
    stock = {pk: listing.remaining_stock for pk, listing in listings.items()}
    if listings and not round_.suspended:
        prices = {pk: listing.unit_price for pk, listing in listings.items()}
        result = draw.allocate(
            seed=lottery.seed, wishes=wishes, prices=prices, stock=stock, budget=budget
        )
    else:
        result = {}
    deadline = now + datetime.timedelta(hours=lottery.payment_hours)
    draw_pass = DrawPass.objects.create(
        lottery=lottery,
        number=number,
        drawn_at=now,
        payment_deadline=deadline,
        budget=budget,
        stock={str(pk): left for pk, left in stock.items()},
        excluded=sorted(excluded),
    )
    allotments = [
        (
            public_id,
            OrderAllotment(
                supporter_id=ids[public_id][1],
                listing=listings[listing_id],
                units=units,
                key=f"lottery-{draw_pass.pk}-{public_id}-{listing_id}",
            ),
        )
        for public_id, lines in sorted(result.items())
        for listing_id, units in sorted(lines.items())
    ]
    order_ids = orders_allot(
        round_=round_, allotments=[a for _, a in allotments], expires_at=deadline, now=now
    )
    insert_many(
        Allotment,
        [
            {
                "draw_pass": draw_pass.pk,
                "application": ids[public_id][0],
                "listing": allotment.listing.pk,
                "units": allotment.units,
                "order": order_id,
            }
            for (public_id, allotment), order_id in zip(allotments, order_ids, strict=True)
        ],
    )
    return draw_pass


def lottery_draw(*, lottery: LotteryRound, now: datetime.datetime) -> DrawPass:
    """The first pass, once the window has closed: every application in the seed's order,
    each given what is left of its wishes (lottery.draw). Winners get pending orders payable
    for `payment_hours`; every applicant is emailed after commit."""
    from lottery.tasks import pass_notify

    with transaction.atomic():
        lottery = (
            LotteryRound.objects.select_for_update().select_related("round").get(pk=lottery.pk)
        )
        if now < lottery.round.closes_at:
            raise LotteryError("not_closed")
        if lottery.drawn_at is not None:
            raise LotteryError("already_drawn")
        round_, listings = _lock_supply(lottery)
        wishes, ids = _wishes(lottery)
        draw_pass = _run_pass(lottery, round_, listings, wishes, ids, set(), 1, now)
        lottery.drawn_at = now
        lottery.save(update_fields=["drawn_at"])
        transaction.on_commit(lambda: pass_notify.enqueue(pass_id=draw_pass.pk))
    return draw_pass


def lottery_redraw(*, lottery: LotteryRound, now: datetime.datetime) -> DrawPass:
    """A re-draw (繰上当選) once the last pass's deadline has passed: its unpaid orders are
    released (the purchases expiry), their applicants left out, and what is free goes down
    the same order to the wishes not yet met."""
    from lottery.tasks import pass_notify

    last = DrawPass.objects.filter(lottery=lottery).order_by("-number").first()
    if last is None:
        raise LotteryError("not_drawn")
    if now < last.payment_deadline:
        raise LotteryError("payment_pending")
    # Releases the lapsed reservations (each in its own transaction, as the cron would).
    while orders_expire(now=now, round_id=lottery.round_id):
        pass
    with transaction.atomic():
        lottery = (
            LotteryRound.objects.select_for_update().select_related("round").get(pk=lottery.pk)
        )
        if DrawPass.objects.filter(lottery=lottery, number__gt=last.number).exists():
            raise LotteryError("already_drawn")
        round_, listings = _lock_supply(lottery)
        wishes, ids = _wishes(lottery)
        allotted = Allotment.objects.filter(draw_pass__lottery=lottery).values_list(
            "application__public_id", "listing_id", "units", "order__status"
        )
        given: dict[str, dict[int, int]] = {}
        excluded: set[str] = set()
        for public_id, listing_id, units, status in allotted:
            mine = given.setdefault(public_id, {})
            mine[listing_id] = mine.get(listing_id, 0) + units
            if status not in HOLDING:
                excluded.add(public_id)
        remaining = {}
        for public_id, lines in wishes.items():
            if public_id in excluded:
                continue
            left = {
                listing: units - given.get(public_id, {}).get(listing, 0)
                for listing, units in lines.items()
                if units - given.get(public_id, {}).get(listing, 0) > 0
            }
            if left:
                remaining[public_id] = left
        if not remaining or not _anything_free(round_, listings):
            raise LotteryError("nothing_to_redraw")
        draw_pass = _run_pass(
            lottery,
            round_,
            listings,
            remaining,
            ids,
            excluded,
            last.number + 1,
            now,
        )
        transaction.on_commit(lambda: pass_notify.enqueue(pass_id=draw_pass.pk))
    return draw_pass


def _anything_free(round_: Round, listings: dict[int, Listing]) -> bool:
    budget = round_.project.budget_remaining
    return any(
        listing.unit_price <= budget and listing.remaining_stock != 0
        for listing in listings.values()
    )


def lotteries_run(*, now: datetime.datetime) -> list[DrawPass]:
    """What the cron (`manage.py lottery_draw`) does: draw every lottery whose window has
    closed, and re-draw every one whose last deadline has passed while something is free
    and the usage period has not ended."""
    done = []
    for lottery in LotteryRound.objects.filter(
        drawn_at__isnull=True, round__closes_at__lte=now, round__suspended=False
    ):
        done.append(lottery_draw(lottery=lottery, now=now))
    due = LotteryRound.objects.filter(
        drawn_at__isnull=False, round__usage_ends_on__gte=now.date(), round__suspended=False
    ).exclude(passes__payment_deadline__gt=now)
    for lottery in due.distinct():
        if not _lapsed_since_last_look(lottery, now):
            continue
        try:
            done.append(lottery_redraw(lottery=lottery, now=now))
        except LotteryError:
            LotteryRound.objects.filter(pk=lottery.pk).update(redraw_checked_at=now)
    return done


def _lapsed_since_last_look(lottery: LotteryRound, now: datetime.datetime) -> bool:
    """Whether a re-draw could give anything: an order of the round still pending past its
    deadline (to release), or one that ended unpaid since the last pass or the last look.
    Without it the cron would read every application every minute for nothing."""
    last = DrawPass.objects.filter(lottery=lottery).order_by("-number").first()
    since = max(filter(None, [last.drawn_at if last else None, lottery.redraw_checked_at]))
    orders = Order.objects.filter(round_id=lottery.round_id)
    return (
        orders.stale_at(now).exists()
        or orders.filter(closed_at__gte=since).exclude(status__in=HOLDING).exists()
    )


def lottery_publication(lottery: LotteryRound) -> dict:
    """The public list: what lottery_verify replays. Pseudonymous ids and wishes only."""
    wishes, _ids = _wishes(lottery)
    passes = list(DrawPass.objects.filter(lottery=lottery).order_by("number"))
    prices = dict(
        Listing.objects.filter(
            pk__in=ApplicationLine.objects.filter(application__lottery=lottery).values("listing_id")
        ).values_list("pk", "unit_price")
    )
    results: dict[int, dict[str, dict[str, int]]] = {p.pk: {} for p in passes}
    for pass_id, public_id, listing_id, units in Allotment.objects.filter(
        draw_pass__lottery=lottery
    ).values_list("draw_pass_id", "application__public_id", "listing_id", "units"):
        results[pass_id].setdefault(public_id, {})[str(listing_id)] = units
    return {
        "round": str(lottery.round),
        "round_id": lottery.round_id,
        "seed_sha256": lottery.seed_hash,
        "seed": lottery.published_seed,
        "prices": {str(pk): price for pk, price in sorted(prices.items())},
        "applications": [
            {"id": public_id, "lines": {str(k): v for k, v in sorted(lines.items())}}
            for public_id, lines in sorted(wishes.items())
        ],
        "passes": [
            {
                "number": p.number,
                "drawn_at": p.drawn_at.isoformat(),
                "payment_deadline": p.payment_deadline.isoformat(),
                "budget": p.budget,
                "stock": p.stock,
                "excluded": p.excluded,
                "allotments": dict(sorted(results[p.pk].items())),
            }
            for p in passes
        ],
    }
