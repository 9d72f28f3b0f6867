import io

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from projects.models import Shop
from purchases.management.commands.seed_demo import DEMO_PASSWORD
from purchases.models import Order, OrderStatus, Ticket, Wallet
from purchases.services import wallet_redeem
from supporters.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_accounts_can_log_in(client):
    call_command("seed_demo")
    call_command("seed_demo")
    assert (
        User.objects.filter(
            email__in=["staff@example.jp", "shop@example.jp", "supporter@example.jp"]
        ).count()
        == 3
    )
    assert EmailAddress.objects.filter(verified=True, email="supporter@example.jp").count() == 1
    response = client.post(
        "/accounts/login/", {"login": "supporter@example.jp", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/mypage/"
    assert User.objects.get(email="staff@example.jp").is_staff


@override_settings(KAIKA_ALLOW_DEMO_DATA=False)
def test_seed_demo_refuses_to_run_where_demo_data_is_off():
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_the_demo_supporter_has_paid_tickets_usable_today_at_the_demo_operators_shop(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Issue 21: the till could not be tried on the demo (no tickets, and the open round's
    tickets are valid from next month)."""
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
        call_command("seed_demo", stdout=io.StringIO())  # idempotent
    supporter = User.objects.get(email="supporter@example.jp")
    operator = User.objects.get(email="shop@example.jp")
    shop = Shop.objects.operated_by(operator).get()
    orders = Order.objects.filter(supporter=supporter)
    assert orders.count() == 2
    assert set(orders.values_list("status", "shop")) == {(OrderStatus.PAID, shop.pk)}
    today = timezone.localdate()
    tickets = list(Ticket.objects.filter(supporter=supporter).select_related("round"))
    assert tickets and all(t.shop_id == shop.pk and t.usable_on(today) for t in tickets)
    assert sum(t.face_value for t in tickets) == sum(o.tickets_value for o in orders) == 30_000
    # The paid support shows in the shop's public figures, as any supporter's would.
    assert shop.participations.get(round=tickets[0].round).amount_paid == 20_000
    # Sent the normal way: one confirmation per order, to the demo supporter only.
    assert [m.to for m in mailoutbox] == [[supporter.email]] * 2
    # The till takes from the supporter's balance at the shop today (the wallet's code).
    wallet = Wallet.objects.get(supporter=supporter, shop=shop)
    use = wallet_redeem(
        shop=shop, code=wallet.code, amount=300, operator=operator, now=timezone.now()
    )
    assert use.balance_after == 30_000 - 300
    client.force_login(supporter)
    assert "29,700" in client.get(reverse("purchases:ticket_list")).content.decode()
    printed = out.getvalue()
    for email in ("staff@example.jp", "shop@example.jp", "supporter@example.jp"):
        assert email in printed.rsplit("Demo accounts ready", 1)[1]
    assert "kaika-demo-2026" in printed
