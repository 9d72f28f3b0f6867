"""The programme's books (プログラムの帳簿): what was raised, issued, used, left and settled,
by round, shop, category and municipality. docs/operations.md defines each figure.

Computed from the records (orders, tickets, ticket uses, statement lines) with SQL aggregates,
never from the counters on projects' rows: the books must check the counters, not repeat
them. A fixed number of queries (three per breakdown), whatever the number of rows. For
every round, to the yen: issued = redeemed + outstanding + expired, and redeemed = settled +
awaiting settlement (`Figures.imbalances`); a use undone after settlement stays "awaiting"
with a negative amount until a REVERSAL line takes it back.
"""

import dataclasses
import datetime
from collections.abc import Iterable

from django.db import models
from django.db.models import Case, Count, ExpressionWrapper, Q, Sum, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Category, Municipality, Project, Round, Shop
from purchases.models import Order, OrderStatus, Ticket, TicketStatus, TicketUse

# (field, label) in the order every table and file shows them.
FIGURES = (
    ("supporters", _("支援者数(人)")),
    ("orders", _("支援件数(件)")),
    ("amount_raised", _("支援額(円)")),
    ("tickets_issued", _("発行チケット額(円)")),
    ("redeemed", _("利用額(円)")),
    ("outstanding", _("未使用残高(円)")),
    ("expired", _("期限切れ残高(円)")),
    ("settled", _("精算済み(円)")),
    ("awaiting_settlement", _("精算待ち(円)")),
    ("premium_spent", _("うちプレミアム分(円)")),
)
# Every figure but supporters is a sum: a breakdown's rows add up to the total. Supporters
# are distinct people, and one person may back several shops.
ADDITIVE = tuple(name for name, _label in FIGURES if name != "supporters")

BREAKDOWNS = (
    ("round", _("期別")),
    ("shop", _("店舗別")),
    ("category", _("業種別")),
    ("municipality", _("市町別")),
)


@dataclasses.dataclass
class Figures:
    """One row of the books, in integer yen (counts for supporters and orders)."""

    supporters: int = 0
    orders: int = 0
    amount_raised: int = 0
    tickets_issued: int = 0
    redeemed: int = 0
    outstanding: int = 0
    expired: int = 0
    settled: int = 0
    awaiting_settlement: int = 0
    premium_spent: int = 0

    def imbalances(self) -> list[str]:
        """The identities that do not hold (empty when the books balance to the yen)."""
        broken = []
        left = self.redeemed + self.outstanding + self.expired
        if self.tickets_issued != left:
            broken.append(
                _("発行チケット額 %(issued)s円 ≠ 利用額 + 未使用残高 + 期限切れ残高 %(sum)s円")
                % {"issued": f"{self.tickets_issued:,}", "sum": f"{left:,}"}
            )
        accounted = self.settled + self.awaiting_settlement
        if self.redeemed != accounted:
            broken.append(
                _("利用額 %(redeemed)s円 ≠ 精算済み + 精算待ち %(sum)s円")
                % {"redeemed": f"{self.redeemed:,}", "sum": f"{accounted:,}"}
            )
        return broken

    @property
    def balances(self) -> bool:
        return not self.imbalances()

    def values(self) -> list[int]:
        return [getattr(self, name) for name, _label in FIGURES]


@dataclasses.dataclass
class Row:
    key: object
    label: str
    figures: Figures


@dataclasses.dataclass
class Books:
    project: Project
    round: Round | None
    now: datetime.datetime
    total: Figures
    by_round: list[Row]
    by_shop: list[Row]
    by_category: list[Row]
    by_municipality: list[Row]

    def breakdowns(self) -> list[tuple[str, str, list[Row]]]:
        """(name, label, rows) for each breakdown, in the order of BREAKDOWNS."""
        return [(name, label, getattr(self, f"by_{name}")) for name, label in BREAKDOWNS]

    @property
    def imbalanced_rounds(self) -> list[Row]:
        return [row for row in self.by_round if not row.figures.balances]


# The column each record is grouped by, per breakdown (None: the whole project).
_ORDER_KEYS = {
    "round": "round_id",
    "shop": "shop_id",
    "category": "shop__category",
    "municipality": "shop__municipality",
}
_TICKET_KEYS = _ORDER_KEYS
_USE_KEYS = {**_ORDER_KEYS, "round": "ticket__round_id"}


def _orders(project: Project, round_: Round | None):
    orders = Order.objects.filter(project=project, status=OrderStatus.PAID)
    return orders.filter(round=round_) if round_ else orders


def _tickets(project: Project, round_: Round | None):
    # Tickets of paid orders only: a refunded order's tickets are void, and were never used
    # (purchases.services.order_refund refuses once one is).
    tickets = Ticket.objects.filter(
        round__project=project, status=TicketStatus.VALID, order__status=OrderStatus.PAID
    )
    return tickets.filter(round=round_) if round_ else tickets


def _uses(project: Project, round_: Round | None):
    # Every use, undone ones included: a use undone after settlement is still on a statement.
    uses = TicketUse.objects.filter(ticket__round__project=project)
    return uses.filter(ticket__round=round_) if round_ else uses


def _order_sums():
    return {
        "supporters": Count("supporter", distinct=True),
        "orders": Count("pk"),
        "amount_raised": Sum("amount"),
    }


def _ticket_sums(today: datetime.date):
    # A ticket is expired the day after its round's usage period ends (Ticket.state_on).
    return {
        "tickets_issued": Sum("face_value"),
        "outstanding": Sum("balance", filter=Q(round__usage_ends_on__gte=today)),
        "expired": Sum("balance", filter=Q(round__usage_ends_on__lt=today)),
    }


def _use_sums():
    big = models.BigIntegerField()
    standing = Q(redemption__undone_at__isnull=True)
    undone = Q(redemption__undone_at__isnull=False)
    on_statement = Q(statement_line__isnull=False)
    on_no_statement = Q(statement_line__isnull=True)
    not_reversed = Q(reversal_line__isnull=True)
    # The supporters' part by settlements.cycle.split_face_value's rule (rounded down, as the
    # settlement run computes it); the premium is the rest.
    supporters_part = Case(
        When(
            ticket__order__tickets_value__gt=0,
            then=Cast("amount", big)
            * Cast("ticket__order__amount", big)
            / Cast("ticket__order__tickets_value", big),
        ),
        default=Cast("amount", big),
        output_field=big,
    )
    return {
        "redeemed": Sum("amount", filter=standing),
        "premium_spent": Sum(
            ExpressionWrapper(Cast("amount", big) - supporters_part, output_field=big),
            filter=standing,
        ),
        # USE lines count their (positive) face value, REVERSAL lines their negative one, on a
        # statement of any status: a use on a statement is out of the pool the next run takes.
        "settled": Sum(
            Coalesce("statement_line__face_value", 0) + Coalesce("reversal_line__face_value", 0),
            output_field=big,
        ),
        # Standing and on no statement: the next run pays it. Undone after it was settled and
        # not yet taken back: the next run takes it back (negative).
        "awaiting_settlement": Sum(
            Case(
                When(standing & on_no_statement, then=Cast("amount", big)),
                When(
                    undone & on_statement & not_reversed,
                    then=-Cast("statement_line__face_value", big),
                ),
                default=Value(0),
                output_field=big,
            )
        ),
    }


def _int(value) -> int:
    # PostgreSQL sums bigints as numeric (a Decimal here): exact, so int() loses nothing.
    return int(value or 0)


def _grouped(querysets_and_sums, key_by_source: list[str]) -> dict[object, Figures]:
    """{key: Figures} from one grouped aggregate query per source."""
    result: dict[object, Figures] = {}
    for (queryset, sums), key in zip(querysets_and_sums, key_by_source, strict=True):
        for row in queryset.order_by().values(key).annotate(**sums):
            figures = result.setdefault(row[key], Figures())
            for name in sums:
                setattr(figures, name, _int(row[name]))
    return result


def _total(querysets_and_sums) -> Figures:
    figures = Figures()
    for queryset, sums in querysets_and_sums:
        for name, value in queryset.order_by().aggregate(**sums).items():
            setattr(figures, name, _int(value))
    return figures


def _rows(labels: Iterable[tuple[object, str]], found: dict[object, Figures], *, keep_empty: bool):
    rows = [Row(key, label, found.pop(key, Figures())) for key, label in labels]
    if not keep_empty:
        rows = [row for row in rows if row.figures != Figures()]
    # A key with no label (a category since removed): shown rather than lost from the sums.
    rows += [Row(key, str(key), figures) for key, figures in found.items()]
    return rows


def books_of(*, project: Project, now: datetime.datetime, round_: Round | None = None) -> Books:
    """The books of `project` (of one round if `round_`) as they stand at `now`."""
    today = timezone.localdate(now)
    sources = [
        (_orders(project, round_), _order_sums()),
        (_tickets(project, round_), _ticket_sums(today)),
        (_uses(project, round_), _use_sums()),
    ]
    found = {
        name: _grouped(sources, [_ORDER_KEYS[name], _TICKET_KEYS[name], _USE_KEYS[name]])
        for name, _label in BREAKDOWNS
    }
    rounds = [round_] if round_ else list(project.rounds.order_by("number"))
    shops = Shop.objects.filter(pk__in=list(found["shop"])).order_by("name_kana", "pk")
    return Books(
        project=project,
        round=round_,
        now=now,
        total=_total(sources),
        by_round=_rows(((r.pk, r.label) for r in rounds), found["round"], keep_empty=True),
        by_shop=_rows(((s.pk, s.name) for s in shops), found["shop"], keep_empty=False),
        by_category=_rows(Category.choices, found["category"], keep_empty=False),
        by_municipality=_rows(Municipality.choices, found["municipality"], keep_empty=False),
    )
