"""The race tests' negative control: purchases.services with its locks and conditional
UPDATEs taken out, so that only the checks made before the writes guard the caps. A race
test that still passes against this cannot see a race. Test code only: applied with
monkeypatch in-process, and by tests/front/settings_unlocked.py in the live app nodes."""

from django.db.models import F

from projects.models import Listing, Project, Round, ShopRound
from purchases import services
from purchases.models import Ticket


def _no_lock(user_id):
    pass


def _reserve_what_was_read(terms, now):
    # The counters as read before the checks, plus this order, written back: the lost update.
    units, amount = terms.units, terms.amount
    Listing.objects.filter(pk=terms.listing.pk).update(units_sold=terms.listing.units_sold + units)
    ShopRound.objects.filter(shop_id=terms.shop.pk, round_id=terms.round.pk).update(
        units_sold=F("units_sold") + units, amount_raised=F("amount_raised") + amount
    )
    Round.objects.filter(pk=terms.round.pk).update(amount_raised=F("amount_raised") + amount)
    Project.objects.filter(pk=terms.project.pk).update(
        amount_raised=terms.project.amount_raised + amount
    )


def _read_wallet(code):
    return services._find_wallet(code)


def _read_wallet_tickets(wallet, ticket_id):
    return services._wallet_tickets(wallet, ticket_id)


def _spend_what_was_read(ticket, amount):
    return Ticket.objects.filter(pk=ticket.pk).update(balance=ticket.balance - amount)


REPLACEMENTS = {
    # The Python path on PostgreSQL too: kaika_order_reserve() has no lock to take out.
    "_order_create_in_database": services._order_create_in_python,
    "_lock_supporter": _no_lock,
    "_reserve": _reserve_what_was_read,
    "_lock_wallet": _read_wallet,
    "_lock_wallet_tickets": _read_wallet_tickets,
    "_spend": _spend_what_was_read,
}


def unlock(setattr=setattr) -> None:
    """Swap the replacements into purchases.services (pass monkeypatch.setattr in tests)."""
    for name, replacement in REPLACEMENTS.items():
        assert callable(getattr(services, name)), name
        setattr(services, name, replacement)
