"""Tickets expire at the end of their round's usage period: the last day (in Japan's time,
to its last second) is usable, the next day is refused, and the till names the period, for a
wallet's code and for a printed ticket's code alike, at the confirmation and at 確定."""

import datetime

import pytest
from django.utils import timezone

from purchases.models import Redemption, Ticket
from purchases.services import PurchaseError, redemption_terms, wallet_redeem
from tests.purchases.helpers import JST
from tests.purchases.test_till import paid_wallet, till

pytestmark = pytest.mark.django_db

LAST_DAY = datetime.date(2031, 12, 31)
LAST_SECOND = datetime.datetime(2031, 12, 31, 23, 59, 59, tzinfo=JST)
NEXT_DAY = datetime.datetime(2032, 1, 1, 0, 0, 0, tzinfo=JST)
SAYS = "利用期間(2031年9月15日〜2031年12月31日)が終わったため、使えるチケットはありません。"


def codes(offer, user) -> dict:
    wallet = paid_wallet(offer, user)
    return {"wallet": wallet.code, "printed": Ticket.objects.order_by("pk").first().code}


@pytest.mark.parametrize("kind", ["wallet", "printed"])
def test_the_last_second_of_the_last_day_is_usable_and_the_next_day_is_refused(offer, user, kind):
    assert offer.round.usage_ends_on == LAST_DAY
    code = codes(offer, user)[kind]
    for call in (redemption_terms, wallet_redeem):
        extra = {"operator": None} if call is wallet_redeem else {}
        with pytest.raises(PurchaseError) as caught:
            call(shop=offer.shop, code=code, amount=100, now=NEXT_DAY, **extra)
        assert (caught.value.code, caught.value.message) == ("wallet_expired", SAYS)
    assert not Redemption.objects.exists()
    assert redemption_terms(shop=offer.shop, code=code, amount=100, now=LAST_SECOND).amount == 100
    taken = wallet_redeem(shop=offer.shop, code=code, amount=100, operator=None, now=LAST_SECOND)
    assert taken.amount == 100


def test_the_day_is_japan_s_whatever_the_server_s_clock_says(offer, user):
    """15:00 UTC on the last day is already the next day in Japan: refused."""
    code = codes(offer, user)["wallet"]
    utc_next_day = NEXT_DAY.astimezone(datetime.UTC)
    assert utc_next_day.date() == LAST_DAY
    with pytest.raises(PurchaseError) as caught:
        wallet_redeem(shop=offer.shop, code=code, amount=100, operator=None, now=utc_next_day)
    assert caught.value.code == "wallet_expired"


@pytest.mark.parametrize("kind", ["wallet", "printed"])
def test_the_till_says_the_tickets_expired_and_when_their_period_was(offer, user, kind):
    code = codes(offer, user)[kind]
    client, url = till(offer)
    today = timezone.localdate()
    ended = today - datetime.timedelta(days=1)
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=today - datetime.timedelta(days=30), usage_ends_on=ended
    )
    for action in ("", "confirm"):
        html = client.post(url, {"code": code, "amount": "100", "action": action}).content.decode()
        assert "が終わったため、使えるチケットはありません。" in html
        assert f"{ended.year}年{ended.month}月{ended.day}日)" in html
    assert not Redemption.objects.exists()
