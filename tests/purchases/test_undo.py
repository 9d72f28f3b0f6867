"""The shop undoes a use at the till (a wrong amount typed): within REDEMPTION_UNDO_MINUTES,
with a reason, only its own shop's and only while not settled; staff at any time. The
amounts go back to the tickets and the shop round's used figure, and the record stays."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from projects.models import ShopRound
from purchases.models import Redemption, Ticket, TicketUse
from purchases.services import (
    REDEMPTION_UNDO_MINUTES,
    UNDO_REASON_MAX_LENGTH,
    PaymentResult,
    PurchaseError,
    payment_record,
    redemption_undo,
    wallet_redeem,
)
from tests.conftest import login_staff, make_user
from tests.purchases.helpers import DURING, buy

pytestmark = pytest.mark.django_db

# In the usage period of make_offer's round (2031-09-15 to 2031-12-31).
USED = datetime.datetime(2031, 10, 1, 12, 0, tzinfo=DURING.tzinfo)
MINUTE = datetime.timedelta(minutes=1)


def two_tickets_used(offer, supporter, operator, amount=2_000):
    """Two orders of 1,500 yen of tickets each (500-yen tickets), and one use of `amount`
    spread over several of them."""
    for _ in range(2):
        order = buy(offer, supporter)
        payment_record(
            result=PaymentResult(
                "sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING
            ),
            now=DURING,
        )
    wallet = supporter.wallets.get()
    offer.shop.operators.add(operator)
    return wallet_redeem(
        shop=offer.shop, code=wallet.code, amount=amount, operator=operator, now=USED
    )


def used_figure(offer) -> int:
    return ShopRound.objects.get(shop=offer.shop, round=offer.round).tickets_used_amount


def balances(supporter) -> list[int]:
    return list(
        Ticket.objects.filter(supporter=supporter).order_by("pk").values_list("balance", flat=True)
    )


@pytest.fixture
def operator(db):
    return make_user(email="undo-operator@example.jp")


def test_the_operator_undoes_within_ten_minutes_and_every_ticket_gets_its_part_back(
    offer, user, operator
):
    redemption = two_tickets_used(offer, user, operator, amount=1_200)
    assert balances(user) == [0, 0, 300, 500, 500, 500] and used_figure(offer) == 1_200
    assert redemption.parts.count() == 3

    undone = redemption_undo(
        redemption=redemption,
        by=operator,
        reason="  金額の打ち間違い  ",
        now=USED + REDEMPTION_UNDO_MINUTES * MINUTE,
    )

    assert balances(user) == [500] * 6
    assert used_figure(offer) == 0
    redemption.refresh_from_db()
    assert redemption.undone_at == USED + REDEMPTION_UNDO_MINUTES * MINUTE == undone.undone_at
    assert redemption.undone_by == operator and redemption.undo_reason == "金額の打ち間違い"
    # The record stays: the uses are kept, and no longer count.
    assert TicketUse.objects.filter(redemption=redemption).count() == 3
    assert not TicketUse.objects.standing().filter(redemption=redemption).exists()
    assert not Redemption.objects.standing().exists()
    # The value is usable again at the till.
    again = wallet_redeem(
        shop=offer.shop, code=redemption.wallet.code, amount=3_000, operator=operator, now=USED
    )
    assert again.balance_after == 0


def refused(code, **kwargs):
    before = (
        list(Ticket.objects.order_by("pk").values_list("balance", flat=True)),
        list(ShopRound.objects.order_by("pk").values_list("tickets_used_amount", flat=True)),
        list(Redemption.objects.order_by("pk").values_list("undone_at", "undo_reason")),
    )
    with pytest.raises(PurchaseError) as error:
        redemption_undo(**kwargs)
    assert error.value.code == code
    # A sentence in Japanese the operator can act on, and nothing saved.
    assert any("\u3040" <= ch <= "\u30ff" for ch in error.value.message)
    after = (
        list(Ticket.objects.order_by("pk").values_list("balance", flat=True)),
        list(ShopRound.objects.order_by("pk").values_list("tickets_used_amount", flat=True)),
        list(Redemption.objects.order_by("pk").values_list("undone_at", "undo_reason")),
    )
    assert after == before
    return error.value


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(offer, user, operator, reason):
    redemption = two_tickets_used(offer, user, operator)
    refused("undo_reason_required", redemption=redemption, by=operator, reason=reason, now=USED)


def test_a_reason_too_long_is_refused(offer, user, operator):
    redemption = two_tickets_used(offer, user, operator)
    error = refused(
        "undo_reason_too_long",
        redemption=redemption,
        by=operator,
        reason="あ" * (UNDO_REASON_MAX_LENGTH + 1),
        now=USED,
    )
    assert str(UNDO_REASON_MAX_LENGTH) in error.message


def test_after_ten_minutes_only_staff_can_undo(offer, user, operator):
    redemption = two_tickets_used(offer, user, operator)
    late = USED + REDEMPTION_UNDO_MINUTES * MINUTE + datetime.timedelta(seconds=1)
    error = refused("undo_too_late", redemption=redemption, by=operator, reason="誤り", now=late)
    assert "10分" in error.message and "事務局" in error.message
    staff = make_user(email="undo-staff@example.jp", is_staff=True)
    redemption_undo(redemption=redemption, by=staff, reason="お店から連絡", now=late, staff=True)
    assert balances(user) == [500] * 6 and used_figure(offer) == 0


def test_another_shops_operator_cannot_undo(offer, user, operator):
    redemption = two_tickets_used(offer, user, operator)
    stranger = make_user(email="undo-stranger@example.jp")
    refused("undo_not_operator", redemption=redemption, by=stranger, reason="誤り", now=USED)


def test_an_undone_use_cannot_be_undone_again(offer, user, operator):
    redemption = two_tickets_used(offer, user, operator)
    redemption_undo(redemption=redemption, by=operator, reason="誤り", now=USED)
    refused("undo_already", redemption=redemption, by=operator, reason="誤り", now=USED)
    staff = make_user(email="undo-staff2@example.jp", is_staff=True)
    refused("undo_already", redemption=redemption, by=staff, reason="誤り", now=USED, staff=True)
    assert balances(user) == [500] * 6


def test_staff_undo_from_admin_asks_a_reason_then_undoes_and_logs(offer, user, operator):
    redemption = two_tickets_used(offer, user, operator, amount=1_200)
    staff = make_user(email="undo-admin@example.jp", is_staff=True, is_superuser=True)
    client = Client()
    login_staff(client, staff)
    changelist = reverse("admin:purchases_redemption_changelist")
    chosen = {"action": "undo", "_selected_action": [redemption.pk]}

    asked = client.post(changelist, chosen)
    assert asked.status_code == 200 and "取り消しの理由" in asked.content.decode()
    no_reason = client.post(changelist, {**chosen, "apply": "1", "reason": ""})
    assert "取り消しの理由を入力してください。" in no_reason.content.decode()
    redemption.refresh_from_db()
    assert redemption.undone_at is None

    client.post(changelist, {**chosen, "apply": "1", "reason": "お店から電話で依頼"})

    redemption.refresh_from_db()
    assert redemption.undone_by == staff and redemption.undo_reason == "お店から電話で依頼"
    assert balances(user) == [500] * 6 and used_figure(offer) == 0
    assert LogEntry.objects.filter(object_id=str(redemption.pk)).exists()
    # Listed as undone; a second undo is refused with the reason.
    again = client.post(changelist, {**chosen, "apply": "1", "reason": "再度"}, follow=True)
    assert "この利用はすでに取り消されています。" in again.content.decode()
