"""My page leads shop operators to their shops' management; other supporters see no such link."""

import pytest
from django.urls import reverse

from tests.conftest import make_user
from tests.projects.factories import make_project, make_shop

pytestmark = pytest.mark.django_db


def test_an_operator_finds_each_of_their_shops_management_on_my_page(client):
    operator = make_user()
    project = make_project()
    shops = [make_shop(project, operators=[operator]) for _ in range(2)]
    someone_elses = make_shop(project, operators=[make_user()])
    client.force_login(operator)
    html = client.get(reverse("supporters:mypage")).content.decode()
    assert "お店の管理" in html
    for shop in shops:
        url = reverse("projects:manage_shop", kwargs={"shop_id": shop.pk})
        assert f'href="{url}"' in html and f"{shop.name}の店舗管理" in html
    assert someone_elses.name not in html
    assert f'href="{reverse("projects:manage_index")}"' in html.split("<footer")[0]
    # An operator's account opens other people's data: two-factor is offered, as before.
    assert f'href="{reverse("mfa_index")}"' in html


def test_a_supporter_who_operates_no_shop_sees_no_management_section(client):
    client.force_login(make_user())
    html = client.get(reverse("supporters:mypage")).content.decode()
    assert "お店の管理" not in html
    assert f'href="{reverse("mfa_index")}"' not in html
