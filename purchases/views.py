"""The purchase flow (confirmation, payment, result), My page's orders and tickets, and the
shop's redemption screen. Every view here is per-user: never cached, and an order or ticket
is found only through its owner (another supporter's code is a 404, as is a made-up one)."""

from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ops.exposure import exposure_record
from ops.models import ExposureAction
from projects.models import Round
from projects.shortcuts import operated_shop
from purchases.forms import OrderForm, RedeemForm, RedemptionUndoForm
from purchases.models import (
    REDEMPTION_UNDO_MINUTES,
    Order,
    OrderStatus,
    Redemption,
    RefundStatus,
    Ticket,
    TicketState,
    Wallet,
    WalletBalance,
)
from purchases.payments import InvalidPaymentResult, get_gateway
from purchases.services import (
    PurchaseError,
    order_cancel,
    order_check,
    order_create,
    order_expire,
    order_terms,
    order_units_max,
    payment_check,
    payment_notice_record,
    payment_record,
    redemption_terms,
    redemption_undo,
    reservation_minutes,
    wallet_redeem,
)
from supporters.decorators import profile_required, verified_email_required
from waitingroom.admission import admission_check


def _round_for(listing_id: int, round_id: int | None, now) -> int | None:
    """The round the supporter backs in: the one posted (checked by the service), else the
    project's round open now, else the one that concerns it (so the message says why)."""
    if round_id:
        return round_id
    rounds = Round.objects.filter(project__shops__listings=listing_id)
    round_ = rounds.open_at(now).first() or rounds.current_at(now).first()
    return round_ and round_.pk


@never_cache
@profile_required
@verified_email_required
@require_http_methods(["GET", "POST"])
def order_confirm(request):
    now = timezone.now()
    data = request.POST if request.method == "POST" else request.GET
    form = OrderForm(data)
    if not form.is_valid():
        return render(request, "purchases/order_confirm.html", {"form": form}, status=400)
    listing_id, units = form.cleaned_data["listing"], form.cleaned_data["units"]
    round_id = form.cleaned_data["round"]
    creating = request.method == "POST" and bool(round_id)
    round_shown = _round_for(listing_id, round_id, now)
    # A first-come round's waiting room: without a live pass of this session, wait there first.
    admission = admission_check(
        request,
        round_id=round_shown,
        listing_id=listing_id,
        units=units,
        spend_key=form.cleaned_data["idempotency_key"] if creating else None,
        now=now,
    )
    if admission.wait_url:
        return redirect(admission.wait_url)
    error = refusal = None
    if creating:
        # The page's rows are read only when there is a page to show (a refusal).
        try:
            order = order_create(
                supporter=request.user,
                listing_id=listing_id,
                round_id=round_id,
                units=units,
                idempotency_key=form.cleaned_data["idempotency_key"],
                now=now,
            )
        except PurchaseError as exc:
            error, refusal = exc.message, exc.code
        else:
            return redirect("purchases:order_pay", order_code=order.code)
    try:
        terms = order_terms(listing_id=listing_id, round_id=round_shown, units=units)
    except PurchaseError:
        admission.refund()
        raise Http404 from None
    if refusal is not None:
        # Refused with a spent pass: the pass back (or not, when the round is over), and what
        # is gone told to those still waiting, from the rows as read after the refusal.
        admission.refused(code=refusal, listing=terms.listing, project=terms.project)
    if error is None:
        # A GET (the preview), or a POST that named no round (the round open now is shown,
        # and the supporter confirms it): the same checks, nothing reserved.
        try:
            order_check(supporter=request.user, terms=terms, now=now)
        except PurchaseError as exc:
            error, refusal = exc.message, exc.code
    change, most = None, 0
    if error is not None:
        # Refused: the units the same rules allow now, to choose from right there (none when
        # the offer itself is closed, or nothing is left for this supporter).
        most = order_units_max(supporter=request.user, terms=terms, now=now)
        if most:
            change = OrderForm(
                initial={"listing": listing_id, "round": terms.round.pk, "units": min(units, most)}
            ).at_most(most)
    hidden = OrderForm(
        initial={
            "listing": listing_id,
            "round": terms.round.pk,
            "units": units,
            "idempotency_key": OrderForm.new_key(),
        }
    )
    # The page shows the supporter's name and address: logged for the incident report.
    exposure_record(request, subject=request.user, action=ExposureAction.PURCHASE_CONFIRMATION)
    return render(
        request,
        "purchases/order_confirm.html",
        {
            "form": hidden,
            "terms": terms,
            "error": error,
            "refusal": refusal,
            "change": change,
            "units_max": most,
            "profile": request.user,
            "minutes": reservation_minutes(),
        },
    )


def own_order(request, order_code: str) -> Order:
    return get_object_or_404(
        Order.objects.of(request.user).select_related("shop", "listing", "round", "project"),
        code=order_code,
    )


@never_cache
@login_required
@require_safe
def order_pay(request, order_code: str):
    order = own_order(request, order_code)
    try:
        url = get_gateway().checkout_url(
            order=order, site_url=request.build_absolute_uri("/").rstrip("/"), now=timezone.now()
        )
    except PurchaseError as exc:
        # Paid, being confirmed, no longer payable, or the provider could not be reached (the
        # order is still held, and payable again): the order page says which.
        messages.warning(request, exc.message)
        return redirect(order)
    return redirect(url)


# How long the return page waits for the provider's notice before saying it takes longer.
PAYMENT_STATUS_POLLS = 40
PAYMENT_STATUS_POLL_SECONDS = 3


@never_cache
@login_required
@require_safe
def order_payment_status(request, order_code: str):
    """Where the provider sends the browser back after paying. The browser carries no result:
    the provider's webhook is the source of truth, so until it has landed the page says the
    payment is being confirmed, and a static script asks again (`?poll=1`: 204 while pending,
    a redirect to the order once it is not)."""
    order = own_order(request, order_code)
    if order.status != OrderStatus.PENDING:
        return redirect(order)
    if request.GET.get("poll"):
        return HttpResponse(status=204)
    exposure_record(request, subject=request.user, action=ExposureAction.ORDER_HISTORY)
    return render(
        request,
        "purchases/order_payment_status.html",
        {
            "order": order,
            "polls": PAYMENT_STATUS_POLLS,
            "poll_seconds": PAYMENT_STATUS_POLL_SECONDS,
        },
    )


@csrf_exempt
@never_cache
@require_POST
def stripe_webhook(request):
    """Stripe's notices of payments, the source of truth for the Stripe gateway. Not tied to
    a session or a CSRF token: the signature, checked by the Stripe library, says the event
    is genuine. Stored and applied once per event id; an error other than a bad signature is
    a 500, and Stripe delivers the event again later."""
    gateway = get_gateway()
    if gateway.name != "stripe":
        raise Http404
    try:
        notice = gateway.webhook_notice(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except InvalidPaymentResult:
        return HttpResponseBadRequest("invalid signature")
    payment_notice_record(notice=notice, now=timezone.now())
    return HttpResponse(status=200)


@never_cache
@require_safe
def payment_return(request):
    """Where the sandbox sends the browser back with its signed result. Not tied to the
    session: the signature, not the cookie, says the result is genuine."""
    try:
        result = get_gateway().parse_result(request)
    except InvalidPaymentResult:
        return render(request, "purchases/payment_invalid.html", status=400)
    try:
        order = payment_record(result=result, now=timezone.now())
    except PurchaseError:
        return render(request, "purchases/payment_invalid.html", status=400)
    if request.user.is_authenticated and order.supporter_id == request.user.pk:
        return redirect(order)
    return render(request, "purchases/payment_received.html")


def expire_due_orders(orders, now) -> None:
    """Release the viewer's pending orders whose deadline has passed, before showing them.

    A write on a GET, through the service and idempotent (order_expire re-checks under the
    order's lock): the page then tells the truth even where no `expire_orders` cron runs
    (`make run`) or it runs late, and says what happened instead of "お支払い待ち"."""
    for order in orders.stale_at(now):
        order_expire(order=order, now=now)


@never_cache
@login_required
@require_safe
def order_list(request):
    expire_due_orders(Order.objects.of(request.user), timezone.now())
    orders = Order.objects.of(request.user).select_related("shop", "listing", "round")
    exposure_record(request, subject=request.user, action=ExposureAction.ORDER_HISTORY)
    return render(request, "purchases/order_list.html", {"orders": orders})


@never_cache
@login_required
@require_safe
def order_detail(request, order_code: str):
    order = own_order(request, order_code)
    now = timezone.now()
    if order.status == OrderStatus.PENDING and order.expires_at <= now:
        order_expire(order=order, now=now)  # as in expire_due_orders
        order.refresh_from_db()
    try:
        payment_check(order=order, now=now)
    except PurchaseError as exc:
        payable, unpayable_because = False, exc.code
    else:
        payable, unpayable_because = True, ""
    refunds = list(order.refunds.all())
    tickets = list(order.tickets.select_related("round"))
    today = timezone.localdate(now)
    for ticket in tickets:
        # What the ticket is today (used up, expired...), not only whether staff voided it.
        ticket.state = ticket.state_on(today)
    exposure_record(request, subject=request.user, action=ExposureAction.ORDER_HISTORY)
    return render(
        request,
        "purchases/order_detail.html",
        {
            "order": order,
            "tickets": tickets,
            "payable": payable,
            "confirming": unpayable_because == "payment_in_progress",
            "refunds": refunds,
            "refunds_pending": any(r.status != RefundStatus.DONE for r in refunds),
            "statuses": OrderStatus,
        },
    )


@never_cache
@login_required
@require_safe
def order_receipt(request, order_code: str):
    """The receipt (領収書) of a paid order, to print or save as PDF.

    Issued by the office, which receives the money (the shop is paid later by the office), so
    the office's invoice registration number and never a shop's. The same document at every
    view (number = order code, date = payment date, amount): a reprint is that receipt again,
    so it is not marked 再発行, and viewing it writes nothing. An order not paid, or refunded,
    has none: the page says why."""
    order = own_order(request, order_code)
    # It names the supporter: logged for the incident report like the order page.
    exposure_record(request, subject=request.user, action=ExposureAction.ORDER_HISTORY)
    return render(
        request,
        "purchases/receipt.html",
        {
            "order": order,
            "issued": order.status == OrderStatus.PAID,
            "refunded": order.status == OrderStatus.REFUNDED,
            "addressee": request.user.full_name,
            "invoice_registration_number": settings.KAIKA_INVOICE_REGISTRATION_NUMBER,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def order_cancel_view(request, order_code: str):
    order = own_order(request, order_code)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        now = timezone.now()
        try:
            order_cancel(order=order, supporter=request.user, now=now)
        except PurchaseError as exc:
            messages.error(request, exc.message)
        else:
            # Its payment page at the provider, if open, ends now rather than at the next
            # `expire_orders` run.
            get_gateway().checkouts_close(now=now, order=order)
            messages.success(request, _("申込を取り消しました。"))
        return redirect(order)
    exposure_record(request, subject=request.user, action=ExposureAction.ORDER_HISTORY)
    return render(request, "purchases/order_cancel.html", {"order": order})


def _till_qr_svg(request, wallet: Wallet) -> str:
    """The wallet's QR code: the shop's till with the wallet's code filled in. Read with the
    shop's phone camera, it opens there (the shop's operators only; anyone else gets a 404);
    read by the till's own scanner, the code is taken out of it. Inline SVG: no image request,
    nothing cached anywhere."""
    till = reverse("purchases:manage_redeem", kwargs={"shop_id": wallet.shop_id})
    url = request.build_absolute_uri(f"{till}?{urlencode({'code': wallet.code})}")
    return segno.make(url, error="m").svg_inline(scale=5, border=2, title=wallet.code)


@never_cache
@login_required
@require_safe
def ticket_list(request):
    """One card per shop: what can be used there today, one QR code for it, and the tickets
    under it as the record."""
    today = timezone.localdate()
    tickets = list(
        Ticket.objects.filter(supporter=request.user).select_related(
            "shop", "round", "order__listing"
        )
    )
    cards = []
    for wallet in Wallet.objects.filter(supporter=request.user).select_related("shop__project"):
        own = [t for t in tickets if t.shop_id == wallet.shop_id]
        for ticket in own:
            ticket.state = ticket.state_on(today)
        balance = WalletBalance.of(own, today)
        qr_svg = _till_qr_svg(request, wallet) if balance.usable_today else ""
        cards.append({"wallet": wallet, "balance": balance, "tickets": own, "qr_svg": qr_svg})
    # The shops where something can be used today first.
    cards.sort(key=lambda card: (not card["balance"].usable_today, card["wallet"].shop.name))
    uses = Redemption.objects.filter(wallet__supporter=request.user).select_related("shop")[:50]
    # Spendable codes and the purchase history: logged for the incident report.
    exposure_record(request, subject=request.user, action=ExposureAction.TICKETS)
    return render(
        request,
        "purchases/ticket_list.html",
        {"cards": cards, "uses": uses, "states": TicketState},
    )


@never_cache
@login_required
@require_safe
def ticket_detail(request, ticket_code: str):
    """A ticket as a record (what it was worth, what is left, each use). It has no QR code of
    its own: the shop's card on the ticket list has the one code that pays with it."""
    ticket = get_object_or_404(
        Ticket.objects.filter(supporter=request.user).select_related(
            "shop", "round", "order__listing"
        ),
        code=ticket_code,
    )
    exposure_record(request, subject=request.user, action=ExposureAction.TICKETS)
    return render(
        request,
        "purchases/ticket_detail.html",
        {
            "ticket": ticket,
            "state": ticket.state_on(timezone.localdate()),
            "states": TicketState,
            "uses": ticket.uses.select_related("redemption"),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_redeem(request, shop_id: int):
    """The till: the code (read by the camera or typed) and the amount, then a confirmation
    showing what will be taken and what the supporter keeps; only its 確定 records the use."""
    shop = operated_shop(request, shop_id)
    if request.method == "GET":
        code = request.GET.get("code", "")
        return _till(request, shop, RedeemForm(initial={"code": code, "idempotency_key": _key()}))
    form = RedeemForm(request.POST)
    if not form.is_valid():
        return _till(request, shop, form)
    data, action = form.cleaned_data, request.POST.get("action")
    if action == "back":
        # A new entry screen with what was typed, for a new confirmation.
        return _till(request, shop, RedeemForm(initial={**data, "idempotency_key": _key()}))
    now = timezone.now()
    try:
        if action == "confirm":
            redemption = wallet_redeem(
                shop=shop,
                code=data["code"],
                amount=data["amount"],
                operator=request.user,
                now=now,
                idempotency_key=data["idempotency_key"],
            )
        else:
            terms = redemption_terms(shop=shop, code=data["code"], amount=data["amount"], now=now)
    except PurchaseError as exc:
        form.add_error(None, exc.message)
        return _till(request, shop, form)
    if action == "confirm":
        _say_redeemed(request, redemption)
        return redirect("purchases:manage_redeem", shop_id=shop.pk)
    # The confirmation shows a supporter's balance: logged for the incident report.
    exposure_record(
        request, subject=terms.wallet.supporter_id, action=ExposureAction.OPERATOR_SUPPORTER_DATA
    )
    old_ticket = data["code"].startswith("T-")
    context = {"shop": shop, "terms": terms, "data": data, "old_ticket": old_ticket}
    return render(request, "purchases/manage_redeem_confirm.html", context)


def _key() -> str:
    return OrderForm.new_key()


def _till(request, shop, form: RedeemForm):
    today = Redemption.objects.standing().filter(shop=shop, used_at__date=timezone.localdate())
    return render(
        request,
        "purchases/manage_redeem.html",
        {
            "shop": shop,
            "form": form,
            "recent": Redemption.objects.filter(shop=shop).select_related("wallet")[:10],
            "today": today.aggregate(total=Sum("amount", default=0), count=Count("pk")),
        },
    )


def _say_redeemed(request, redemption: Redemption) -> None:
    figures = {"amount": f"{redemption.amount:,}", "balance": f"{redemption.balance_after:,}"}
    if redemption.repeated:
        messages.info(
            request,
            _(
                "この利用はすでに受け付けています(%(amount)s円、残額%(balance)s円)。"
                "二重には引いていません。"
            )
            % figures,
        )
    else:
        messages.success(
            request, _("%(amount)s円を利用しました。本日使える残額は%(balance)s円です。") % figures
        )


# Days of the till's log on one page.
LOG_DAYS_PER_PAGE = 7


@never_cache
@login_required
@require_safe
def manage_redeem_log(request, shop_id: int):
    """The shop's uses at the till, day by day with each day's total, newest first."""
    shop = operated_shop(request, shop_id)
    uses = Redemption.objects.filter(shop=shop)
    page = Paginator(uses.daily_totals(), LOG_DAYS_PER_PAGE).get_page(request.GET.get("page"))
    days = {row["day"]: {**row, "uses": []} for row in page}
    for use in uses.filter(used_at__date__in=list(days)).select_related("wallet"):
        days[timezone.localdate(use.used_at)]["uses"].append(use)
    now = timezone.now()
    for day in days.values():
        for use in day["uses"]:
            use.undoable = use.undoable_by_shop_at(now)
    return render(
        request,
        "purchases/manage_redeem_log.html",
        {
            "shop": shop,
            "page": page,
            "days": list(days.values()),
            "minutes": REDEMPTION_UNDO_MINUTES,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_redeem_undo(request, shop_id: int, redemption_id: int):
    """Undo a use from the till's log: the use shown again, the reason asked, then undone
    (redemption_undo says why not: too late, settled, already undone)."""
    shop = operated_shop(request, shop_id)
    redemption = get_object_or_404(
        Redemption.objects.filter(shop=shop).select_related("wallet"), pk=redemption_id
    )
    form = RedemptionUndoForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            redemption_undo(
                redemption=redemption,
                by=request.user,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except PurchaseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("%(amount)s円の利用を取り消しました。お客様のチケットの残額に戻しました。")
                % {"amount": f"{redemption.amount:,}"},
            )
            return redirect("purchases:manage_redeem_log", shop_id=shop.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "purchases/manage_redeem_undo.html",
        {
            "shop": shop,
            "redemption": redemption,
            "form": form,
            "minutes": REDEMPTION_UNDO_MINUTES,
            "undoable": redemption.undoable_by_shop_at(timezone.now()),
        },
        status=status,
    )
