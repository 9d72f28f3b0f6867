"""A residents-only project sells only to supporters holding one of its codes, on the 9:00
path (kaika_order_reserve on PostgreSQL) and the Python one alike, and the confirmation page
says what to do about it."""

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from purchases import services
from purchases.models import Order
from purchases.services import PurchaseError
from residents import services as residents_services
from residents.models import ResidentCode
from residents.services import resident_code_redeem
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.purchases.helpers import buy, confirm_url, form_fields, make_offer
from tests.residents.helpers import import_codes

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", "python"])
def path(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(services, "_order_create_in_database", services._order_create_in_python)


def enter(user, typed):
    return resident_code_redeem(
        supporter=user, typed=typed, client_ip="192.0.2.1", now=timezone.now()
    )


def test_an_order_without_a_code_is_refused_and_nothing_is_reserved(path):
    offer = make_offer(residents_only=True)
    with pytest.raises(PurchaseError) as caught:
        buy(offer, make_user())
    assert caught.value.code == "residents_only"
    assert "参加コード" in caught.value.message
    assert not Order.objects.exists()
    offer.project.refresh_from_db()
    assert offer.project.amount_raised == 0


def test_an_order_with_the_projects_code_goes_through(path):
    offer = make_offer(residents_only=True)
    import_codes(offer.project, "MMMM-1111")
    resident = make_user()
    enter(resident, "MMMM1111")
    assert buy(offer, resident).supporter == resident


def test_another_projects_code_or_a_revoked_one_does_not_open_this_project(path):
    offer = make_offer(residents_only=True)
    other = make_project(residents_only=True)
    import_codes(other, "NNNN-1111")
    import_codes(offer.project, "NNNN-2222")
    outsider, moved_away = make_user(), make_user()
    enter(outsider, "NNNN1111")
    code = enter(moved_away, "NNNN2222")
    code.revoked_at = timezone.now()
    code.save()
    for supporter in (outsider, moved_away):
        with pytest.raises(PurchaseError) as caught:
            buy(offer, supporter)
        assert caught.value.code == "residents_only"


def test_a_project_open_to_all_needs_no_code(path):
    offer = make_offer()
    assert buy(offer, make_user()).pk


def test_negative_control_without_the_check_the_order_goes_through(path, monkeypatch):
    # Proves the refusal above comes from the eligibility check and from nothing else.
    monkeypatch.setattr(
        residents_services, "projects_closed_to", lambda supporter: Project.objects.none()
    )
    offer = make_offer(residents_only=True)
    assert buy(offer, make_user()).pk


@pytest.fixture
def residents_offer(db):
    project = make_project(residents_only=True)
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    return {"project": project, "round": round_, "shop": shop, "listing": shop.listings.get()}


def test_the_confirmation_page_refuses_and_links_to_the_code_page(user_client, residents_offer):
    page = user_client.get(confirm_url(residents_offer, 1))
    assert page.status_code == 200
    assert page.context["refusal"] == "residents_only"
    body = page.content.decode()
    assert "対象地域にお住まいの方だけ" in body
    assert reverse("residents:code_enter") + "?next=" in body
    assert "申し込んでお支払いへ進む" not in body  # no form to post


def test_a_posted_confirmation_is_refused_too(user_client, user, residents_offer):
    import_codes(residents_offer["project"], "OOOO-1111")
    enter(user, "OOOO1111")
    fields = form_fields(user_client.get(confirm_url(residents_offer, 1)).content.decode())
    ResidentCode.objects.update(revoked_at=timezone.now())  # staff revoke it meanwhile
    response = user_client.post(reverse("purchases:order_confirm"), fields)
    assert response.status_code == 200
    assert response.context["refusal"] == "residents_only"
    assert not Order.objects.exists()


def test_after_entering_the_code_the_supporter_comes_back_to_the_confirmation(
    user_client, residents_offer
):
    import_codes(residents_offer["project"], "PPPP-1111")
    back = confirm_url(residents_offer, 1)
    response = user_client.post(
        reverse("residents:code_enter"), {"code": "pppp-1111", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    page = user_client.get(back)
    assert not page.context["error"]
    assert "申し込んでお支払いへ進む" in page.content.decode()


def test_public_pages_say_the_project_is_for_residents_the_same_for_everyone(
    client, residents_offer
):
    project, shop = residents_offer["project"], residents_offer["shop"]
    urls = [
        project.get_absolute_url(),
        residents_offer["round"].get_absolute_url(),
        shop.get_absolute_url(),
    ]
    for url in urls:
        anonymous = client.get(url)
        assert "対象地域にお住まいの方だけ" in anonymous.content.decode(), url
        assert "public" in anonymous["Cache-Control"], url
        assert "cookie" not in anonymous.get("Vary", "").lower(), url
