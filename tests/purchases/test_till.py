"""The shop's till: the code and the amount, a confirmation showing what will be taken and what
the supporter keeps, the use recorded only on 確定 (once), and the operator's log by day."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ops.models import ExposureAction, ExposureLog
from purchases.models import Redemption, Ticket, TicketUse, Wallet
from purchases.services import PaymentResult, payment_record, wallet_redeem
from tests.conftest import make_user
from tests.purchases.helpers import DURING, buy, form_fields

pytestmark = pytest.mark.django_db


def paid_wallet(offer, supporter, units=1) -> Wallet:
    order = buy(offer, supporter, units=units)
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.pk}", order.amount, True, DURING),
        now=DURING,
    )
    return Wallet.objects.get(supporter=supporter, shop=offer.shop)


def till(offer):
    """The shop's operator at its till, with today in the usage period (the views use the real
    clock)."""
    operator = make_user()
    offer.shop.operators.add(operator)
    client = Client()
    client.force_login(operator)
    today = timezone.localdate()
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=1),
    )
    return client, reverse("purchases:manage_redeem", kwargs={"shop_id": offer.shop.pk})


def entry_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_the_till_confirms_amount_shop_and_balance_after_then_records_on_confirm(offer, user):
    wallet = paid_wallet(offer, user)  # 1,500 yen
    client, url = till(offer)
    key = entry_key(client.get(url).content.decode())
    scanned = f"https://kaika.example.jp{url}?code={wallet.code}"
    response = client.post(url, {"code": scanned, "amount": "1200", "idempotency_key": key})
    page = response.content.decode()
    assert response.status_code == 200 and "利用の確認" in page
    assert "1,200円" in page and offer.shop.name in page
    assert "300円" in page  # what the supporter keeps
    assert user.email not in page  # nothing that says who they are
    assert not Redemption.objects.exists()  # nothing is taken before 確定
    confirm = form_fields(page)
    confirm.pop("csrfmiddlewaretoken", None)
    assert confirm == {"code": wallet.code, "amount": "1200", "idempotency_key": key}
    done = client.post(url, {**confirm, "action": "confirm"}, follow=True).content.decode()
    assert "1,200円を利用しました。本日使える残額は300円です。" in done
    (redemption,) = Redemption.objects.all()
    assert (redemption.amount, redemption.balance_after) == (1200, 300)
    assert redemption.parts.count() == 3
    assert TicketUse.objects.filter(operator__isnull=False).count() == 3
    # The confirmation showed a supporter's balance to the operator: logged.
    assert ExposureLog.objects.filter(
        subject_id=user.pk, action=ExposureAction.OPERATOR_SUPPORTER_DATA
    ).exists()


def test_back_returns_to_the_entry_with_what_was_typed_and_records_nothing(offer, user):
    wallet = paid_wallet(offer, user)
    client, url = till(offer)
    key = entry_key(client.get(url).content.decode())
    fields = {"code": wallet.code, "amount": "700", "idempotency_key": key}
    page = client.post(url, {**fields, "action": "back"}).content.decode()
    assert f'value="{wallet.code}"' in page and 'value="700"' in page
    assert "確認へ進む" in page and entry_key(page) != key
    assert not Redemption.objects.exists()


def test_a_confirmation_sent_twice_takes_the_amount_once_and_says_so(offer, user):
    wallet = paid_wallet(offer, user)
    client, url = till(offer)
    key = entry_key(client.get(url).content.decode())
    confirm = {"code": wallet.code, "amount": "200", "idempotency_key": key, "action": "confirm"}
    first = client.post(url, confirm, follow=True).content.decode()
    again = client.post(url, confirm, follow=True).content.decode()
    assert "200円を利用しました" in first
    assert "すでに受け付けています" in again and "二重には引いていません" in again
    assert Redemption.objects.count() == 1
    assert sum(Ticket.objects.values_list("balance", flat=True)) == 1300
    # The next customer is a new entry screen, with a new key.
    assert entry_key(again) != key


def test_a_refusal_is_shown_on_the_entry_screen_with_the_balance(offer, user):
    wallet = paid_wallet(offer, user)
    client, url = till(offer)
    for action in ("", "confirm"):
        page = client.post(url, {"code": wallet.code.lower(), "amount": "1501", "action": action})
        html = page.content.decode()
        assert page.status_code == 200
        assert "本日使える残額(1,500円)を超える額は使えません。" in html
        assert "確認へ進む" in html
    unreadable = client.post(url, {"code": "hello", "amount": "1"}).content.decode()
    assert "QRコードの番号が読み取れません。" in unreadable
    assert not Redemption.objects.exists()


def test_a_printed_ticket_s_code_is_confirmed_as_that_ticket_alone(offer, user):
    paid_wallet(offer, user)
    ticket = Ticket.objects.order_by("pk").first()
    client, url = till(offer)
    page = client.post(url, {"code": ticket.code, "amount": "500"}).content.decode()
    assert "以前のチケット番号です。このチケット1枚の残額だけが使えます。" in page
    assert "0円" in page


def test_the_operator_s_log_lists_uses_by_day_with_daily_totals(offer, user, settings):
    wallet = paid_wallet(offer, user, units=10)  # 15,000 yen
    client, url = till(offer)
    type(offer.round).objects.filter(pk=offer.round.pk).update(
        usage_starts_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    log = reverse("purchases:manage_redeem_log", kwargs={"shop_id": offer.shop.pk})
    assert log in client.get(url).content.decode()  # reachable from the till
    today = timezone.localdate()
    noon = datetime.datetime.combine(today, datetime.time(12), timezone.get_current_timezone())
    # Nine days with uses, two of them on the newest day (one just after midnight, local time).
    for days, hour, amount in [(0, 0, 100), (0, 9, 250)] + [(d, 12, 10 * d) for d in range(1, 9)]:
        at = noon.replace(hour=hour, minute=5) - datetime.timedelta(days=days)
        wallet_redeem(shop=offer.shop, code=wallet.code, amount=amount, operator=None, now=at)
    page = client.get(log).content.decode()
    totals = re.findall(r"合計 <strong class=\"figure\">([\d,]+)円</strong> · (\d+)件", page)
    assert totals[0] == ("350", "2")  # today: 100 + 250
    assert totals[1:] == [(str(10 * d), "1") for d in range(1, 7)]  # seven days a page
    assert 'rel="next"' in page
    older = client.get(log, {"page": 2}).content.decode()
    assert re.findall(r"合計 <strong class=\"figure\">([\d,]+)円", older) == ["70", "80"]
    assert "no-store" in client.get(log)["Cache-Control"]


@pytest.mark.parametrize("name", ["purchases:manage_redeem", "purchases:manage_redeem_log"])
def test_another_operator_gets_404_at_the_till_and_its_log(offer, user, name):
    wallet = paid_wallet(offer, user)
    other_operator = make_user()
    client = Client()
    client.force_login(other_operator)
    url = reverse(name, kwargs={"shop_id": offer.shop.pk})
    assert client.get(url).status_code == 404
    confirm = {"code": wallet.code, "amount": "100", "action": "confirm"}
    assert client.post(url, confirm).status_code in (404, 405)
    assert not Redemption.objects.exists()


def test_another_shop_s_operator_is_refused_the_wallet_at_their_own_till(offer, user):
    from tests.projects.factories import make_shop

    wallet = paid_wallet(offer, user)
    other = make_shop(offer.project, now=DURING - datetime.timedelta(days=10))
    operator = make_user()
    other.operators.add(operator)
    client = Client()
    client.force_login(operator)
    url = reverse("purchases:manage_redeem", kwargs={"shop_id": other.pk})
    page = client.post(url, {"code": wallet.code, "amount": "100", "action": "confirm"})
    assert "このチケットは、このお店では使えません。" in page.content.decode()
    assert not Redemption.objects.exists()


def test_staff_find_a_wallet_by_its_code_in_admin_and_its_uses_with_their_tickets(
    offer, user, staff_client
):
    wallet = paid_wallet(offer, user)
    redemption = wallet_redeem(
        shop=offer.shop,
        code=wallet.code,
        amount=700,
        operator=None,
        now=datetime.datetime.combine(
            offer.round.usage_starts_on, datetime.time(12), DURING.tzinfo
        ),
    )
    found = staff_client.get(reverse("admin:purchases_wallet_changelist"), {"q": wallet.code})
    assert found.status_code == 200 and user.email in found.content.decode()
    page = staff_client.get(reverse("admin:purchases_redemption_change", args=[redemption.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "二重送信防止キー" in html
    tickets = Ticket.objects.filter(uses__redemption=redemption)
    assert len(tickets) == 2 and all(t.code in html for t in tickets)
    assert staff_client.get(reverse("admin:purchases_wallet_add")).status_code == 403
