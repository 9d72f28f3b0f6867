from collections import defaultdict

from kaika.data_rights import Forfeit, iso
from purchases.models import Order, Ticket, WalletBalance


def export(user) -> dict:
    orders = Order.objects.filter(supporter=user).select_related("shop", "listing")
    tickets = (
        Ticket.objects.filter(supporter=user)
        .select_related("shop")
        .prefetch_related("uses__redemption")
    )
    return {
        "orders": [
            {
                "code": o.code,
                "shop": o.shop.name,
                "listing": o.listing.title,
                "units": o.units,
                "amount": o.amount,
                "tickets_value": o.tickets_value,
                "status": o.status,
                "created_at": iso(o.created_at),
                "paid_at": iso(o.paid_at),
            }
            for o in orders
        ],
        "tickets": [
            {
                "code": t.code,
                "shop": t.shop.name,
                "label": t.label,
                "face_value": t.face_value,
                "balance": t.balance,
                "status": t.status,
                "issued_at": iso(t.issued_at),
                "uses": [
                    {
                        "amount": u.amount,
                        "used_at": iso(u.used_at),
                        "undone_at": iso(u.redemption.undone_at),
                    }
                    for u in t.uses.all()
                ],
            }
            for t in tickets
        ],
    }


# No erasure: orders and tickets stay for accounting and the shops' figures, pointing at the
# emptied user row. Unused balances are not voided either: they are prepaid value, and a
# refund is a staff decision (see the purchases admin).


def forfeits(user, today) -> list[Forfeit]:
    """What each shop's balance still holds, usable today or later (WalletBalance.total, as
    My page shows it): leaving closes My page, where its code is shown, and nothing is paid
    back."""
    by_shop: dict = defaultdict(list)
    for ticket in Ticket.objects.filter(supporter=user).select_related("shop", "round"):
        by_shop[ticket.shop].append(ticket)
    found = []
    for shop, tickets in sorted(by_shop.items(), key=lambda item: (item[0].name, item[0].pk)):
        if total := WalletBalance.of(tickets, today).total:
            found.append(Forfeit(label=shop.name, yen=total))
    return found
