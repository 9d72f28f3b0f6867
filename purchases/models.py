"""Orders (支援の申込), the premium tickets they give, and every use of a ticket at a shop.

The caps are enforced on the counter rows of the projects app (see projects/models.py), which
`purchases.services` moves with conditional UPDATEs when an order is created (the order then
holds a reservation), and moves back when a pending order expires, fails or is cancelled:

- Project.amount_raised, Round.amount_raised, ShopRound.amount_raised / units_sold and
  Listing.units_sold count paid orders *and* live reservations (pending orders), so the budget
  and stock checks are one `UPDATE ... WHERE counter + n <= cap` each;
- supporters_count, amount_paid and tickets_issued_amount move when payment succeeds (and
  back on a refund): the public figures; tickets_used_amount when a ticket is used.

Orders and tickets are addressed by random codes (never by sequential ids) in every URL.
No card data is ever stored here: the card is typed on the payment provider's page.
"""

import dataclasses
import datetime
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from projects.models import Listing, Project, Round, Shop

# Crockford-like alphabet without look-alikes (no 0/O, 1/I/L) for codes read aloud at a till.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def new_order_code() -> str:
    # 26 symbols of 31: ~129 bits (>= 128), unguessable even before the login and ownership
    # checks that also guard every order page.
    return random_code("K-", 26)


def new_order_codes(count: int) -> list[str]:
    """`count` codes like new_order_code, for a lottery's winners at once: one read of the
    system's randomness instead of one per symbol (bytes below 248 = 8 × 31, so every symbol
    is equally likely, as with secrets.choice)."""
    codes = []
    while len(codes) < count:
        symbols = [
            CODE_ALPHABET[b % 31] for b in secrets.token_bytes(32 * (count - len(codes))) if b < 248
        ]
        codes.extend("K-" + "".join(symbols[i : i + 26]) for i in range(0, len(symbols) - 25, 26))
    return codes[:count]


def new_ticket_code() -> str:
    # 28 symbols of 31: ~138 bits (>= 128), because a ticket is money at the till.
    return random_code("T-", 28)


def new_wallet_code() -> str:
    # As a ticket's (~138 bits): a wallet spends every ticket its supporter holds at the shop.
    return random_code("W-", 28)


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("お支払い待ち")
    PAID = "paid", _("お支払い済み")
    FAILED = "failed", _("決済失敗")
    EXPIRED = "expired", _("期限切れ")
    CANCELLED = "cancelled", _("取消")
    REFUNDED = "refunded", _("返金済み")


# Orders whose reservation still counts against the caps (pending ones only until they expire).
HOLDING = (OrderStatus.PENDING, OrderStatus.PAID)


class OrderQuerySet(models.QuerySet):
    def live_at(self, now):
        """Orders that count against a cap at `now`: paid, or pending and not yet expired.
        A pending order past its expiry is ignored even before `expire_orders` has run, so a
        missed cron never blocks anyone's personal allowance."""
        return self.filter(
            Q(status=OrderStatus.PAID) | Q(status=OrderStatus.PENDING, expires_at__gt=now)
        )

    def stale_at(self, now):
        """Pending orders past their expiry, whose reservation should be released."""
        return self.filter(status=OrderStatus.PENDING, expires_at__lte=now)

    def of(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(supporter=user)


class Order(models.Model):
    code = models.CharField(_("申込番号"), max_length=30, unique=True, default=new_order_code)
    supporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("支援者"),
    )
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="orders", verbose_name=_("プロジェクト")
    )
    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="orders", verbose_name=_("期")
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("店舗")
    )
    listing = models.ForeignKey(
        Listing, on_delete=models.PROTECT, related_name="orders", verbose_name=_("リターン")
    )
    units = models.PositiveIntegerField(_("口数"))
    unit_price = models.PositiveIntegerField(_("1口の金額(円)"))
    amount = models.PositiveIntegerField(_("支援額(円)"))
    tickets_value = models.PositiveIntegerField(_("チケット額面合計(円)"))
    status = models.CharField(
        _("状態"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    # From the confirmation form: a double click or a replayed POST finds this same order.
    idempotency_key = models.CharField(_("二重送信防止キー"), max_length=64)
    created_at = models.DateTimeField(_("申込日時"))
    expires_at = models.DateTimeField(_("お支払い期限"))
    paid_at = models.DateTimeField(_("決済日時"), null=True, blank=True)
    closed_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    # The provider's reference for the payment (never card data). A payment the order did
    # not take (late, or a second one) is a Refund, never written here.
    payment_reference = models.CharField(_("決済番号"), max_length=100, blank=True)
    # Which gateway took it ("sandbox", "stripe"): a refund goes back through the same one.
    payment_provider = models.CharField(_("決済代行"), max_length=16, blank=True)
    staff_note = models.TextField(_("事務局メモ"), blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("支援の申込")
        verbose_name_plural = _("支援の申込")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supporter", "idempotency_key"], name="order_unique_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(units__gte=1), name="order_units_positive"),
        ]
        indexes = [
            models.Index(fields=["supporter", "round", "status"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("purchases:order_detail", kwargs={"order_code": self.code})

    def is_payable_at(self, now) -> bool:
        return self.status == OrderStatus.PENDING and now < self.expires_at


class TicketStatus(models.TextChoices):
    VALID = "valid", _("利用可能")
    VOID = "void", _("無効")


class TicketState(models.TextChoices):
    """What a ticket is worth at the till on a given day (Ticket.state_on): what the supporter
    reads beside it, and what WalletBalance spends by."""

    USABLE = "usable", _("利用可能")
    USED_UP = "used_up", _("利用済み")
    NOT_YET = "not_yet", _("利用期間前")
    EXPIRED = "expired", _("利用期間終了")
    VOID = "void", _("無効")


class Ticket(models.Model):
    code = models.CharField(_("チケット番号"), max_length=40, unique=True, default=new_ticket_code)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("支援の申込")
    )
    supporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("支援者"),
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("店舗")
    )
    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("期")
    )
    label = models.CharField(_("内容"), max_length=200)
    face_value = models.PositiveIntegerField(_("額面(円)"))
    balance = models.PositiveIntegerField(_("残額(円)"))
    status = models.CharField(
        _("状態"), max_length=8, choices=TicketStatus.choices, default=TicketStatus.VALID
    )
    issued_at = models.DateTimeField(_("発行日時"))

    class Meta:
        verbose_name = _("チケット")
        verbose_name_plural = _("チケット")
        ordering = ["order", "pk"]
        constraints = [
            # The last line of defence against a double spend.
            models.CheckConstraint(
                condition=Q(balance__lte=models.F("face_value")), name="ticket_balance_le_face"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("purchases:ticket_detail", kwargs={"ticket_code": self.code})

    def usable_on(self, day) -> bool:
        return self.round.usage_starts_on <= day <= self.round.usage_ends_on

    def state_on(self, day) -> TicketState:
        if self.status != TicketStatus.VALID:
            return TicketState.VOID
        if self.balance == 0:
            return TicketState.USED_UP
        if day < self.round.usage_starts_on:
            return TicketState.NOT_YET
        if day > self.round.usage_ends_on:
            return TicketState.EXPIRED
        return TicketState.USABLE

    # `label` is a snapshot of the listing's title, and the standard listing's title is the
    # site's words stored in Japanese: like Listing.display_title, follow the reader's language.
    @property
    def display_label(self) -> str:
        listing = self.order.listing
        return listing.display_title if listing.is_standard else self.label


class Wallet(models.Model):
    """One supporter's balance at one shop: the one code (and QR code) shown at the till, over
    the tickets that supporter holds there, which stay the accounting record. Opened by
    purchases.services.tickets_issue with the first ticket for the shop."""

    code = models.CharField(
        _("ウォレット番号"), max_length=40, unique=True, default=new_wallet_code
    )
    supporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="wallets",
        verbose_name=_("支援者"),
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="wallets", verbose_name=_("お店")
    )
    created_at = models.DateTimeField(_("作成日時"))

    class Meta:
        verbose_name = _("ウォレット(お店ごとの残高)")
        verbose_name_plural = _("ウォレット(お店ごとの残高)")
        constraints = [
            models.UniqueConstraint(fields=["supporter", "shop"], name="wallet_one_per_shop"),
        ]

    def __str__(self) -> str:
        return self.code

    def tickets(self):
        return Ticket.objects.filter(supporter_id=self.supporter_id, shop_id=self.shop_id)


@dataclasses.dataclass(frozen=True)
class WalletBalance:
    """What a wallet's tickets (their `round` loaded) are worth on `day`: what the till takes
    and what My page shows, by Ticket.state_on. The till spends `usable` in its order:
    earliest end of the usage period first, then the order of issue."""

    day: datetime.date
    usable: list  # of Ticket, in spending order
    usable_today: int
    # Not used up, void or expired: usable today or later.
    total: int
    earliest_expiry: datetime.date | None
    # Why nothing is usable today ("" when something is): a TicketState, and the usage
    # period it is about (the next one, or the last one that ended).
    why_not: str
    period: tuple[datetime.date, datetime.date] | None
    # Left on tickets whose usage period has ended (forfeited or refunded on request, by the
    # project's Project.unused_value).
    expired: int = 0

    @classmethod
    def of(cls, tickets, day: datetime.date) -> "WalletBalance":
        by_state: dict[str, list] = {state: [] for state in TicketState}
        for ticket in tickets:
            by_state[ticket.state_on(day)].append(ticket)
        usable = sorted(
            by_state[TicketState.USABLE],
            key=lambda t: (t.round.usage_ends_on, t.issued_at, t.pk),
        )
        later = by_state[TicketState.NOT_YET]
        why_not, period = "", None
        if not usable:
            if later:
                why_not = TicketState.NOT_YET
                first = min(later, key=lambda t: t.round.usage_starts_on).round
                period = (first.usage_starts_on, first.usage_ends_on)
            elif expired := by_state[TicketState.EXPIRED]:
                why_not = TicketState.EXPIRED
                last = max(expired, key=lambda t: t.round.usage_ends_on).round
                period = (last.usage_starts_on, last.usage_ends_on)
            elif by_state[TicketState.USED_UP] or not by_state[TicketState.VOID]:
                why_not = TicketState.USED_UP
            else:
                why_not = TicketState.VOID
        return cls(
            day=day,
            usable=usable,
            usable_today=sum(t.balance for t in usable),
            total=sum(t.balance for t in usable + later),
            earliest_expiry=min((t.round.usage_ends_on for t in usable + later), default=None),
            why_not=why_not,
            period=period,
            expired=sum(t.balance for t in by_state[TicketState.EXPIRED]),
        )

    def split(self, amount: int) -> list[tuple]:
        """(ticket, yen taken) for `amount`, earliest expiry first; `amount` must fit."""
        parts = []
        for ticket in self.usable:
            if amount == 0:
                break
            part = min(amount, ticket.balance)
            parts.append((ticket, part))
            amount -= part
        return parts


class ExpiryReminder(models.Model):
    """An expiry reminder sent (purchases.reminders): one per wallet, round and threshold,
    which the unique constraint holds however many times or workers the command runs."""

    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        related_name="expiry_reminders",
        verbose_name=_("ウォレット"),
    )
    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="+", verbose_name=_("期")
    )
    days_before = models.PositiveSmallIntegerField(_("終了の何日前の案内か"))
    balance = models.PositiveIntegerField(_("案内した残額(円)"))
    ends_on = models.DateField(_("利用終了日"))
    sent_at = models.DateTimeField(_("送信日時"))

    class Meta:
        verbose_name = _("利用期限の案内メール")
        verbose_name_plural = _("利用期限の案内メール")
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "round", "days_before"], name="expiryreminder_once_each"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wallet} {self.round} -{self.days_before}"


# How long after a use the shop itself may undo it (a wrong amount typed, the customer changed
# their mind at the till). Later, or once settled, only staff can (purchases.services).
REDEMPTION_UNDO_MINUTES = 10
UNDO_REASON_MAX_LENGTH = 500


class RedemptionQuerySet(models.QuerySet):
    def standing(self):
        """Redemptions not undone (an undone one gave its amount back to the tickets)."""
        return self.filter(undone_at__isnull=True)

    def daily_totals(self):
        """One row per local day, newest first: {"day", "total", "count", "undone"}. The total
        and count are of standing uses; a day whose uses were all undone is still listed."""
        standing = Q(undone_at__isnull=True)
        return (
            self.annotate(day=TruncDate("used_at"))
            .values("day")
            .annotate(
                total=Sum("amount", filter=standing, default=0),
                count=Count("pk", filter=standing),
                undone=Count("pk", filter=~standing),
            )
            .order_by("-day")
        )


class Redemption(models.Model):
    """One use at the till: `amount` taken from a wallet, split over its tickets, one
    TicketUse per ticket touched (the record that settlement counts)."""

    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("ウォレット")
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("お店")
    )
    amount = models.PositiveIntegerField(_("利用額(円)"))
    # What the supporter could still use that day, as the till showed it.
    balance_after = models.PositiveIntegerField(_("利用後の残額(円)"))
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("受付者"),
    )
    used_at = models.DateTimeField(_("利用日時"))
    # From the till's confirmation, one per entry screen shown: the same confirmation sent
    # twice finds this use instead of taking the amount again.
    idempotency_key = models.CharField(_("二重送信防止キー"), max_length=64, blank=True, default="")
    # Undone (by the shop within minutes, or by staff): the amount went back to the tickets.
    # Its TicketUse rows stay, so a use already settled becomes a negative line in the next
    # statement (settlements.StatementLine.reversed_use).
    undone_at = models.DateTimeField(_("取消日時"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("取り消した人"),
    )
    undo_reason = models.TextField(_("取消の理由"), blank=True, default="")

    objects = RedemptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("お会計での利用")
        verbose_name_plural = _("お会計での利用")
        ordering = ["-used_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="redemption_amount_positive"),
            models.UniqueConstraint(
                fields=["wallet", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="redemption_one_per_form",
            ),
        ]
        indexes = [models.Index(fields=["shop", "used_at"])]

    def __str__(self) -> str:
        return f"{self.wallet} -{self.amount}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None

    def undoable_by_shop_at(self, now) -> bool:
        """Whether the till's log offers the shop's undo (redemption_undo decides, under its
        locks, and also refuses a use already settled)."""
        return not self.is_undone and now - self.used_at <= datetime.timedelta(
            minutes=REDEMPTION_UNDO_MINUTES
        )


class TicketUseQuerySet(models.QuerySet):
    def standing(self):
        """Uses whose redemption is not undone: what the shop is owed for."""
        return self.filter(redemption__undone_at__isnull=True)


class TicketUse(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="uses", verbose_name=_("チケット")
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="ticket_uses", verbose_name=_("店舗")
    )
    amount = models.PositiveIntegerField(_("利用額(円)"))
    balance_after = models.PositiveIntegerField(_("利用後の残額(円)"))
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("受付者"),
    )
    used_at = models.DateTimeField(_("利用日時"))
    # From the redemption form, one per page shown: the same form sent twice (a double tap,
    # a resent POST on a slow connection) finds this use instead of taking the amount again.
    idempotency_key = models.CharField(_("二重送信防止キー"), max_length=64, blank=True, default="")
    # The use at the till this part belongs to (several tickets may pay one amount).
    redemption = models.ForeignKey(
        Redemption,
        on_delete=models.PROTECT,
        related_name="parts",
        verbose_name=_("お会計での利用"),
    )

    objects = TicketUseQuerySet.as_manager()

    class Meta:
        verbose_name = _("チケットの利用")
        verbose_name_plural = _("チケットの利用")
        ordering = ["-used_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="ticketuse_amount_positive"),
            models.UniqueConstraint(
                fields=["ticket", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="ticketuse_one_per_form",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} -{self.amount}"


class PaymentAttemptStatus(models.TextChoices):
    CREATING = "creating", _("作成中")
    OPEN = "open", _("お支払い画面を表示中")
    # Paid on the provider's page: the order is paid once its notice is applied.
    COMPLETE = "complete", _("完了")
    EXPIRED = "expired", _("終了")
    FAILED = "failed", _("作成できず")
    # Completed, then the money did not come (a delayed payment method's failure).
    PAYMENT_FAILED = "payment_failed", _("決済失敗")


# An attempt in one of these may still take the supporter's money: no second one is opened
# beside it (CREATING only for a moment, see PaymentGateway.checkout_url).
ATTEMPT_LIVE = (PaymentAttemptStatus.CREATING, PaymentAttemptStatus.OPEN)


class PaymentAttempt(models.Model):
    """One press of "pay": one checkout at the provider (a Stripe Checkout Session), created
    with its own idempotency key, so that a retried API call never makes a second one."""

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="payment_attempts",
        verbose_name=_("支援の申込"),
    )
    provider = models.CharField(_("決済代行"), max_length=16)
    idempotency_key = models.CharField(_("二重送信防止キー"), max_length=64, unique=True)
    # The provider's id of the checkout (cs_...), once it answered.
    checkout_id = models.CharField(_("決済画面の番号"), max_length=255, blank=True)
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=PaymentAttemptStatus.choices,
        default=PaymentAttemptStatus.CREATING,
    )
    created_at = models.DateTimeField(_("作成日時"))
    # When the provider ends the checkout by itself; kaika ends it earlier, with the
    # reservation (purchases.payments.StripeGateway.checkouts_close).
    expires_at = models.DateTimeField(_("決済画面の期限"), null=True, blank=True)
    closed_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    # The provider's error type or code when it could not be created ("timeout",
    # "rate_limit", ...): never its message, which may quote what was sent.
    error = models.CharField(_("エラー"), max_length=100, blank=True)
    # The provider's hosted page, shown again (not a second checkout) while it is open.
    url = models.URLField(_("お支払い画面"), max_length=1000, blank=True)
    # The payment it took, once complete (pi_... at Stripe): what reconciliation matches.
    payment_reference = models.CharField(_("決済番号"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("お支払いの試行")
        verbose_name_plural = _("お支払いの試行")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "checkout_id"],
                condition=~Q(checkout_id=""),
                name="paymentattempt_unique_checkout",
            ),
        ]
        indexes = [models.Index(fields=["status", "order"])]

    def __str__(self) -> str:
        return self.checkout_id or self.idempotency_key

    def is_open_at(self, now) -> bool:
        return self.status == PaymentAttemptStatus.OPEN and (
            self.expires_at is None or now < self.expires_at
        )


class PaymentEventOutcome(models.TextChoices):
    PAID = "paid", _("入金を反映(チケット発行)")
    REFUND_OWED = "refund_owed", _("返金が必要な入金として記録")
    FAILED = "failed", _("決済失敗を記録")
    REFUND = "refund", _("返金の状態を反映")
    UNCHANGED = "unchanged", _("反映済み(変更なし)")
    RECORDED = "recorded", _("記録のみ")
    IGNORED = "ignored", _("対象外")
    REJECTED = "rejected", _("不整合のため不採用")


class PaymentEvent(models.Model):
    """A provider's notice (a Stripe webhook event), stored once by its id and applied once.
    Only what staff need to follow a payment: never the payload, which carries the payer's
    name, email and address."""

    provider = models.CharField(_("決済代行"), max_length=16)
    event_id = models.CharField(_("イベント番号"), max_length=255)
    type = models.CharField(_("種類"), max_length=100)
    # What the event is about: a checkout (cs_...) or a charge (ch_...).
    object_id = models.CharField(pgettext_lazy("payment event", "対象"), max_length=255, blank=True)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_events",
        verbose_name=_("支援の申込"),
    )
    # Yen: paid, or refunded for a refund event.
    amount = models.PositiveIntegerField(_("金額(円)"), null=True, blank=True)
    created_at = models.DateTimeField(_("発生日時"))
    received_at = models.DateTimeField(_("受信日時"))
    processed_at = models.DateTimeField(_("処理日時"), null=True, blank=True)
    outcome = models.CharField(
        _("結果"), max_length=16, choices=PaymentEventOutcome.choices, blank=True
    )
    # Why it was not applied: a PurchaseError code or a short reason ("not_ours").
    note = models.CharField(_("理由"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("決済の通知")
        verbose_name_plural = _("決済の通知")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="paymentevent_once_per_event"
            ),
        ]

    def __str__(self) -> str:
        return self.event_id


class RefundStatus(models.TextChoices):
    OWED = "owed", _("返金待ち")
    IN_PROGRESS = "in_progress", _("返金処理中")
    FAILED = "failed", _("返金失敗")
    DONE = "done", _("返金済み")


class RefundReason(models.TextChoices):
    CANCELLED = "cancelled", _("事務局による取消")
    DUPLICATE = "duplicate", _("重複したお支払い")
    LATE = "late", _("期限後・取消後のお支払い")
    ORPHAN = "orphan", _("申込と一致しないお支払い")
    PROVIDER = "provider", _("決済代行の管理画面での返金")


class RefundQuerySet(models.QuerySet):
    def to_send(self):
        """Owed refunds, to ask the provider for (again, after a lost answer: same key)."""
        return self.filter(status=RefundStatus.OWED)


class Refund(models.Model):
    """Money going back for one payment, through the provider's refund API. One row per
    payment (the constraint below): a payment is never refunded twice, whoever asks."""

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("支援の申込"),
    )
    provider = models.CharField(_("決済代行"), max_length=16)
    payment_reference = models.CharField(_("返金する決済"), max_length=100)
    amount = models.PositiveIntegerField(_("返金額(円)"))
    reason = models.CharField(_("理由"), max_length=16, choices=RefundReason.choices)
    status = models.CharField(
        _("状態"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.OWED
    )
    # Sent with every request for this refund: a retry after a lost answer is the same
    # refund at the provider. Replaced only when staff retry a failed one.
    idempotency_key = models.CharField(_("二重送信防止キー"), max_length=64, unique=True)
    provider_refund_id = models.CharField(_("返金番号"), max_length=255, blank=True)
    # The provider's error or failure code ("expired_or_canceled_card"), never its message.
    error = models.CharField(_("エラー"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("作成日時"))
    requested_at = models.DateTimeField(_("依頼日時"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("依頼した事務局員"),
    )
    # Done outside the provider's API (a bank transfer): who recorded it and why.
    recorded_by_hand = models.BooleanField(_("手動で記録"), default=False)
    note = models.TextField(_("事務局メモ"), blank=True)

    objects = RefundQuerySet.as_manager()

    class Meta:
        verbose_name = _("返金")
        verbose_name_plural = _("返金")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "payment_reference"], name="refund_once_per_payment"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.payment_reference} {self.amount}"
