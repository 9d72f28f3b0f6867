"""The till's log: the undo of a use within minutes (reason asked, confirmed), undone uses
shown as 取消済み and left out of the day's totals; the supporter's pages say so too."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import ShopRound
from purchases.models import Redemption, Ticket
from purchases.services import redemption_undo, wallet_redeem
from tests.conftest import make_user
from tests.purchases.test_till import paid_wallet, till

pytestmark = pytest.mark.django_db


def used(offer, user, amount=400, *, minutes_ago=1):
    wallet = paid_wallet(offer, user)  # 1,500 yen
    client, _ = till(offer)
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    redemption = wallet_redeem(
        shop=offer.shop, code=wallet.code, amount=amount, operator=None, now=at
    )
    log = reverse("purchases:manage_redeem_log", kwargs={"shop_id": offer.shop.pk})
    undo = reverse(
        "purchases:manage_redeem_undo",
        kwargs={"shop_id": offer.shop.pk, "redemption_id": redemption.pk},
    )
    return client, redemption, log, undo


def test_the_operator_undoes_a_use_from_the_log_with_a_reason(offer, user):
    client, redemption, log, undo = used(offer, user)
    page = client.get(log).content.decode()
    assert undo in page and "取り消す" in page

    form = client.get(undo)
    assert form.status_code == 200 and "取り消しの理由" in form.content.decode()
    assert "no-store" in form["Cache-Control"]
    done = client.post(undo, {"reason": "金額の打ち間違い"}, follow=True)
    text = done.content.decode()

    assert "400円の利用を取り消しました" in text
    redemption.refresh_from_db()
    assert redemption.undone_at is not None and redemption.undo_reason == "金額の打ち間違い"
    assert sum(Ticket.objects.values_list("balance", flat=True)) == 1_500
    assert ShopRound.objects.get(shop=offer.shop).tickets_used_amount == 0
    # Struck, labelled, with the reason; the day's total leaves it out; no second undo.
    assert "取消済み" in text and "<s>400円</s>" in text and "金額の打ち間違い" in text
    assert re.search(r"合計 <strong class=\"figure\">0円</strong> · 0件", text)
    assert "取消済み1件は含みません" in text
    assert undo not in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": ""}, "取り消しの理由を入力してください。"),
        ({"reason": "   "}, "取り消しの理由を入力してください。"),
        ({"reason": "あ" * 501}, "500文字以内"),
    ],
)
def test_without_a_proper_reason_nothing_is_undone(offer, user, data, message):
    client, redemption, _, undo = used(offer, user)
    response = client.post(undo, data)
    assert response.status_code == 400 and message in response.content.decode()
    redemption.refresh_from_db()
    assert redemption.undone_at is None
    assert sum(Ticket.objects.values_list("balance", flat=True)) == 1_100


def test_after_ten_minutes_the_log_offers_no_undo_and_a_post_is_refused(offer, user):
    client, redemption, log, undo = used(offer, user, minutes_ago=11)
    assert undo not in client.get(log).content.decode()
    page = client.get(undo).content.decode()
    assert "10分を過ぎたため" in page and "<textarea" not in page
    response = client.post(undo, {"reason": "誤り"})
    assert response.status_code == 400
    assert "10分を過ぎたため" in response.content.decode()
    redemption.refresh_from_db()
    assert redemption.undone_at is None


def test_an_undone_use_cannot_be_undone_twice(offer, user):
    client, _redemption, _, undo = used(offer, user)
    client.post(undo, {"reason": "誤り"})
    response = client.post(undo, {"reason": "誤り"})
    assert response.status_code == 400 and "取り消されています" in response.content.decode()
    assert sum(Ticket.objects.values_list("balance", flat=True)) == 1_500


def test_another_shops_operator_gets_404_and_nothing_is_undone(offer, user):
    _, redemption, _, undo = used(offer, user)
    from tests.projects.factories import make_shop

    stranger = make_user(email="till-undo-stranger@example.jp")
    make_shop(offer.project, operators=[stranger])
    client = Client()
    client.force_login(stranger)
    assert client.get(undo).status_code == 404
    assert client.post(undo, {"reason": "誤り"}).status_code == 404
    redemption.refresh_from_db()
    assert redemption.undone_at is None


def test_the_till_and_the_supporters_pages_show_an_undone_use_as_such(offer, user):
    client, redemption, _, _ = used(offer, user)
    redemption_undo(redemption=redemption, by=user, reason="誤り", now=timezone.now(), staff=True)
    till_page = client.get(reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk}))
    text = till_page.content.decode()
    assert "本日の利用: 0件 · 0円" in text and "取消済み" in text

    supporter = Client()
    supporter.force_login(user)
    tickets = supporter.get(reverse("purchases:ticket_list")).content.decode()
    assert "取消済み" in tickets and "残額に戻りました" in tickets
    ticket = Ticket.objects.filter(uses__redemption=redemption).first()
    detail = supporter.get(ticket.get_absolute_url()).content.decode()
    assert "取消済み" in detail
    assert not Redemption.objects.standing().exists()
