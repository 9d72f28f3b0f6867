"""The lottery through its pages: the public page (the hash before, the seed after) and its
published list, the shop page's form leading to the application, bad input on the form, and
My page's state of each application. The views use the real clock."""

import datetime
import json

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from lottery.models import Allotment, Application, LotteryRound
from lottery.services import lottery_draw
from purchases.services import PaymentResult, payment_record
from tests.lottery.helpers import make_lottery_offer, people

pytestmark = pytest.mark.django_db
capture_on_commit_callbacks = TestCase.captureOnCommitCallbacks
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def open_offer(db):
    now = timezone.now()
    return make_lottery_offer(opening=now - HOUR, committed_at=now - 2 * HOUR)


@pytest.fixture
def closed_offer(db):
    now = timezone.now()
    opening = now - datetime.timedelta(days=20)
    return make_lottery_offer(opening=opening, committed_at=opening - HOUR)


def detail_url(offer):
    return reverse(
        "lottery:detail", kwargs={"slug": offer.project.slug, "round_number": offer.round.number}
    )


def list_url(offer):
    return reverse(
        "lottery:applications",
        kwargs={"slug": offer.project.slug, "round_number": offer.round.number},
    )


def apply_url(offer, **query):
    params = "&".join(f"{k}={v}" for k, v in {"round": offer.round.pk, **query}.items())
    return f"{reverse('lottery:application_edit')}?{params}"


def test_the_public_page_shows_the_hash_but_not_the_seed_and_is_cacheable(client, open_offer):
    response = client.get(detail_url(open_offer))
    assert response.status_code == 200
    html = response.content.decode()
    assert open_offer.lottery.seed_hash in html
    assert open_offer.lottery.seed not in html
    assert "public" in response["Cache-Control"]
    assert client.get(list_url(open_offer)).status_code == 404  # not before the close


def test_after_the_draw_the_seed_and_the_list_are_published(client, closed_offer):
    for person in people(3):
        Application.objects.create(
            lottery=closed_offer.lottery,
            supporter=person,
            created_at=closed_offer.round.opens_at,
            updated_at=closed_offer.round.opens_at,
        ).lines.create(listing=closed_offer.limited, units=1)
    lottery_draw(lottery=closed_offer.lottery, now=timezone.now())
    html = client.get(detail_url(closed_offer)).content.decode()
    assert closed_offer.lottery.seed in html
    response = client.get(list_url(closed_offer))
    assert response.status_code == 200
    published = json.loads(response.content)
    assert published["seed"] == closed_offer.lottery.seed
    assert len(published["applications"]) == 3
    assert "@example.jp" not in response.content.decode()


def test_the_shop_page_offers_the_lottery_not_first_come(client, open_offer):
    html = client.get(open_offer.shop.get_absolute_url()).content.decode()
    assert reverse("lottery:application_edit") in html
    assert reverse("purchases:order_confirm") not in html


def test_apply_from_the_shop_page_then_edit(user_client, user, open_offer):
    listing = open_offer.limited
    page = user_client.get(apply_url(open_offer, listing=listing.pk, units=2))
    assert page.status_code == 200
    assert f'name="units_{listing.pk}"' in page.content.decode()
    assert "no-store" in page["Cache-Control"] or "private" in page["Cache-Control"]
    posted = user_client.post(
        reverse("lottery:application_edit"),
        {"round": open_offer.round.pk, "listing": listing.pk, f"units_{listing.pk}": "2"},
    )
    assert posted.status_code == 302
    application = Application.objects.get(supporter=user)
    assert application.lines.get().units == 2
    mine = user_client.get(reverse("lottery:my_applications")).content.decode()
    assert "受付中" in mine and application.public_id in mine


@pytest.mark.parametrize(
    "units", ["", "abc", "-1", "1.5", "1001", "3", "９９９９９９９９９９９９９９９９９９９９"]
)
def test_bad_input_keeps_the_form_with_an_error_and_saves_nothing(user_client, open_offer, units):
    listing = open_offer.limited
    response = user_client.post(
        reverse("lottery:application_edit"),
        {"round": open_offer.round.pk, "listing": listing.pk, f"units_{listing.pk}": units},
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not Application.objects.exists()


@pytest.mark.parametrize("round_value", ["", "x", "999999", "-1"])
def test_an_unknown_round_is_a_404(user_client, open_offer, round_value):
    response = user_client.post(reverse("lottery:application_edit"), {"round": round_value})
    assert response.status_code == 404


def test_a_listing_of_another_round_is_not_added(user_client, open_offer):
    other = make_lottery_offer()
    response = user_client.get(apply_url(open_offer, listing=other.standard.pk, units=1))
    assert response.status_code == 200
    assert f'name="units_{other.standard.pk}"' not in response.content.decode()
    assert "申し込めません" in response.content.decode()


def test_after_the_close_the_form_refuses_changes(user_client, user, closed_offer):
    listing = closed_offer.limited
    response = user_client.post(
        reverse("lottery:application_edit"),
        {"round": closed_offer.round.pk, "listing": listing.pk, f"units_{listing.pk}": "1"},
    )
    assert response.status_code == 200
    assert "受付は終了しました" in response.content.decode()
    assert not Application.objects.exists()


def test_my_page_shows_each_state_from_waiting_to_paid_and_lapsed(client, closed_offer):
    applicants = people(12)
    for person in applicants:
        Application.objects.create(
            lottery=closed_offer.lottery,
            supporter=person,
            created_at=closed_offer.round.opens_at,
            updated_at=closed_offer.round.opens_at,
        ).lines.create(listing=closed_offer.limited, units=1)

    def state_of(person):
        client.force_login(person)
        return client.get(reverse("lottery:my_applications")).content.decode()

    assert "抽選待ち" in state_of(applicants[0])
    now = timezone.now()
    with capture_on_commit_callbacks(execute=True):
        lottery_draw(lottery=closed_offer.lottery, now=now)
    winners = list(Allotment.objects.select_related("order", "application__supporter"))
    assert len(winners) == 10
    winner = winners[0].application.supporter
    page = state_of(winner)
    assert "当選" in page and winners[0].order.get_absolute_url() in page
    loser = next(p for p in applicants if p.pk not in {w.application.supporter_id for w in winners})
    assert "落選" in state_of(loser)
    order = winners[0].order
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_v", order.amount, True, now), now=now
    )
    assert "支払済み" in state_of(winner)
    # Another winner's deadline passes unpaid.
    late = winners[1].order
    type(late).objects.filter(pk=late.pk).update(expires_at=now - HOUR)
    assert "期限切れ" in state_of(winners[1].application.supporter)


def test_a_lottery_mode_round_without_its_committed_seed_has_no_lottery_page(client, db):
    other = make_lottery_offer()
    LotteryRound.objects.filter(pk=other.lottery.pk).delete()
    url = reverse(
        "lottery:detail", kwargs={"slug": other.project.slug, "round_number": other.round.number}
    )
    assert client.get(url).status_code == 404
