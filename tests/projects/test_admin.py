import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from projects.models import Shop, ShopStatus
from tests.conftest import make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def project(db):
    return make_project()


def test_staff_approve_shops_from_the_list_and_applicants_are_emailed(
    admin_client, project, mailoutbox, django_capture_on_commit_callbacks
):
    make_round(project)
    shops = [
        make_shop(project, operators=[make_user()], approved=False),
        make_shop(project, operators=[make_user()], approved=False),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:projects_shop_changelist"),
            {"action": "approve_shops", ACTION_CHECKBOX_NAME: [s.pk for s in shops]},
        )
    assert response.status_code == 302
    assert set(Shop.objects.listed()) == set(shops)
    assert len(mailoutbox) == 2


def test_the_shop_status_is_not_editable_by_hand_in_admin(admin_client, project):
    shop = make_shop(project, approved=False)
    response = admin_client.get(reverse("admin:projects_shop_change", args=[shop.pk]))
    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()


def test_staff_suspend_a_round_with_a_reason_in_two_steps(admin_client, project):
    round_ = make_round(project)
    url = reverse("admin:projects_round_changelist")
    first = admin_client.post(url, {"action": "suspend_rounds", ACTION_CHECKBOX_NAME: [round_.pk]})
    assert first.status_code == 200 and "一時停止の理由" in first.content.decode()
    round_.refresh_from_db()
    assert not round_.suspended
    admin_client.post(
        url,
        {
            "action": "suspend_rounds",
            ACTION_CHECKBOX_NAME: [round_.pk],
            "apply": "1",
            "reason": "アクセス集中のため",
        },
    )
    round_.refresh_from_db()
    assert round_.suspended and round_.suspension_reason == "アクセス集中のため"
    admin_client.post(url, {"action": "resume_rounds", ACTION_CHECKBOX_NAME: [round_.pk]})
    round_.refresh_from_db()
    assert not round_.suspended


@pytest.mark.parametrize(
    "name",
    [
        "admin:projects_project_changelist",
        "admin:projects_round_changelist",
        "admin:projects_shop_changelist",
        "admin:projects_listing_changelist",
    ],
)
def test_admin_lists_search_and_filter(admin_client, project, name):
    make_round(project)
    shop = make_shop(project, name="検索される店")
    make_listing(shop)
    response = admin_client.get(reverse(name), {"q": "検索"})
    assert response.status_code == 200
    if "shop" in name:
        assert "検索される店" in response.content.decode()
        filtered = admin_client.get(reverse(name), {"status__exact": ShopStatus.REJECTED})
        assert "検索される店" not in filtered.content.decode()


def test_saving_a_new_round_in_admin_enrols_approved_shops(admin_client, project):
    shop = make_shop(project)
    response = admin_client.post(
        reverse("admin:projects_round_add"),
        {
            "project": project.pk,
            "number": 7,
            "shop_applications_close_at_0": "2099-01-01",
            "shop_applications_close_at_1": "09:00:00",
            "opens_at_0": "2099-02-01",
            "opens_at_1": "09:00:00",
            "closes_at_0": "2099-02-20",
            "closes_at_1": "23:59:59",
            "usage_starts_on": "2099-03-01",
            "usage_ends_on": "2099-08-31",
            "suspension_reason": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert shop.rounds.filter(number=7).exists()


def test_a_projects_rounds_are_listed_on_its_page_but_added_and_changed_on_their_own(
    admin_client, project
):
    """A round added inline would skip its usage period (a 500), the shops' enrolment and a
    suspension's reason: the project's page lists them with a link to each."""
    round_ = make_round(project)
    response = admin_client.get(reverse("admin:projects_project_change", args=[project.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("admin:projects_round_change", args=[round_.pk]) in page
    assert "opens_at_0" not in page  # no editable date field for a round on this page
    assert "add-row" not in page and "DELETE" not in page
