import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from projects.models import Shop, ShopStatus
from tests.conftest import login_staff, make_user
from tests.projects.factories import make_listing, make_project, make_round, make_shop


@pytest.fixture
def project(db):
    return make_project()


def test_staff_approve_shops_from_the_list_and_applicants_are_emailed(
    staff_client, project, mailoutbox, django_capture_on_commit_callbacks
):
    make_round(project)
    shops = [
        make_shop(project, operators=[make_user()], approved=False),
        make_shop(project, operators=[make_user()], approved=False),
    ]
    url = reverse("admin:projects_shop_changelist")
    chosen = {"action": "approve_shops", ACTION_CHECKBOX_NAME: [s.pk for s in shops]}
    first = staff_client.post(url, chosen)
    assert first.status_code == 200 and "申請者への連絡事項" in first.content.decode()
    assert not Shop.objects.listed().exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {**chosen, "apply": "1", "comment": ""})
    assert response.status_code == 302
    assert set(Shop.objects.listed()) == set(shops)
    assert len(mailoutbox) == 2
    assert LogEntry.objects.filter(object_id__in=[str(s.pk) for s in shops]).count() == 2


def test_a_rejection_needs_a_reason_and_a_later_approval_does_not_repeat_it(
    staff_client, project, mailoutbox, django_capture_on_commit_callbacks
):
    make_round(project)
    shop = make_shop(project, operators=[make_user()], approved=False)
    url = reverse("admin:projects_shop_changelist")
    chosen = {ACTION_CHECKBOX_NAME: [shop.pk], "apply": "1"}
    refused = staff_client.post(url, {**chosen, "action": "reject_shops", "comment": ""})
    assert refused.status_code == 200  # the form again: a rejection says why
    assert Shop.objects.get(pk=shop.pk).status == ShopStatus.APPLIED
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            url, {**chosen, "action": "reject_shops", "comment": "所在地を確認できませんでした"}
        )
    assert "所在地を確認できませんでした" in mailoutbox[-1].body
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {**chosen, "action": "approve_shops", "comment": ""})
    shop.refresh_from_db()
    assert shop.status == ShopStatus.APPROVED and shop.review_comment == ""
    assert "所在地を確認できませんでした" not in mailoutbox[-1].body


def test_the_shop_status_is_not_editable_by_hand_in_admin(staff_client, project):
    shop = make_shop(project, approved=False)
    response = staff_client.get(reverse("admin:projects_shop_change", args=[shop.pk]))
    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()


def test_staff_suspend_a_round_with_a_reason_in_two_steps(staff_client, project):
    round_ = make_round(project)
    url = reverse("admin:projects_round_changelist")
    first = staff_client.post(url, {"action": "suspend_rounds", ACTION_CHECKBOX_NAME: [round_.pk]})
    assert first.status_code == 200 and "一時停止の理由" in first.content.decode()
    round_.refresh_from_db()
    assert not round_.suspended
    staff_client.post(
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
    # Resuming reopens sales at once: it is confirmed first, too.
    resume = {"action": "resume_rounds", ACTION_CHECKBOX_NAME: [round_.pk]}
    assert staff_client.post(url, resume).status_code == 200
    round_.refresh_from_db()
    assert round_.suspended
    staff_client.post(url, {**resume, "apply": "1"})
    round_.refresh_from_db()
    assert not round_.suspended
    history = [e.change_message for e in LogEntry.objects.filter(object_id=str(round_.pk))]
    assert sorted(history) == ["一時停止を解除", "募集を一時停止: アクセス集中のため"]


def test_staff_who_may_only_view_get_no_action_that_changes_anything(client, project):
    """Refunds, suspensions and shop decisions need the change permission, not just view."""
    from django.contrib.auth.models import Permission

    from tests.purchases.helpers import buy, make_offer

    buy(make_offer(), make_user())  # a row in each list (admin shows no actions for none)
    lists = {
        "admin:purchases_order_changelist": ["refund_orders", "expire_stale_orders"],
        "admin:projects_round_changelist": ["suspend_rounds", "resume_rounds"],
        "admin:projects_shop_changelist": ["approve_shops", "reject_shops"],
        "admin:projects_listing_changelist": ["approve_listings", "reject_listings"],
    }
    viewer = make_user(email="viewer@example.jp", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_order", "view_round", "view_shop", "view_listing"]
        )
    )
    editor = make_user(email="editor@example.jp", is_staff=True, is_superuser=True)
    for person, shown in ((editor, True), (viewer, False)):
        login_staff(client, person)
        for name, actions in lists.items():
            page = client.get(reverse(name))
            assert page.status_code == 200, name
            for action in actions:
                assert (f'value="{action}"' in page.content.decode()) is shown, (person, action)


@pytest.mark.parametrize(
    "name",
    [
        "admin:projects_project_changelist",
        "admin:projects_round_changelist",
        "admin:projects_shop_changelist",
        "admin:projects_listing_changelist",
    ],
)
def test_admin_lists_search_and_filter(staff_client, project, name):
    make_round(project)
    shop = make_shop(project, name="検索される店")
    make_listing(shop)
    response = staff_client.get(reverse(name), {"q": "検索"})
    assert response.status_code == 200
    if "shop" in name:
        assert "検索される店" in response.content.decode()
        filtered = staff_client.get(reverse(name), {"status__exact": ShopStatus.REJECTED})
        assert "検索される店" not in filtered.content.decode()


def test_saving_a_new_round_in_admin_enrols_approved_shops(staff_client, project):
    shop = make_shop(project)
    response = staff_client.post(
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
            "allocation_mode": "first_come",
            "suspension_reason": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert shop.rounds.filter(number=7).exists()


def test_a_projects_rounds_are_listed_on_its_page_but_added_and_changed_on_their_own(
    staff_client, project
):
    """A round added inline would skip its usage period (a 500), the shops' enrolment and a
    suspension's reason: the project's page lists them with a link to each."""
    round_ = make_round(project)
    response = staff_client.get(reverse("admin:projects_project_change", args=[project.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("admin:projects_round_change", args=[round_.pk]) in page
    assert "opens_at_0" not in page  # no editable date field for a round on this page
    assert "add-row" not in page and "DELETE" not in page


def test_staff_take_a_shop_out_of_the_programme_with_a_reason(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    """A shop that closed mid-round: its page goes, nothing of it is sold, it takes no
    ticket, the operator is told why; paid orders and tickets stay for staff to refund."""
    from purchases.services import PurchaseError, order_create
    from tests.purchases.helpers import DURING, buy, make_offer

    offer = make_offer()
    shop, supporter = offer.shop, make_user()
    shop.applicant = offer.shop.operators.first() or make_user()
    shop.save(update_fields=["applicant"])
    order = buy(offer, supporter)
    url = reverse("admin:projects_shop_changelist")
    chosen = {"action": "withdraw_shops", ACTION_CHECKBOX_NAME: [shop.pk]}
    assert staff_client.post(url, chosen).status_code == 200  # asks why first
    assert staff_client.post(url, {**chosen, "apply": "1", "comment": ""}).status_code == 200
    assert Shop.objects.get(pk=shop.pk).status == ShopStatus.APPROVED
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {**chosen, "apply": "1", "comment": "閉店されたため"})
    shop.refresh_from_db()
    assert shop.status == ShopStatus.WITHDRAWN and shop.review_comment == "閉店されたため"
    assert "参加を、事務局にて取り消しました" in mailoutbox[-1].body
    assert "閉店されたため" in mailoutbox[-1].body
    assert staff_client.get(shop.get_absolute_url()).status_code == 404
    with pytest.raises(PurchaseError):
        order_create(
            supporter=make_user(),
            listing_id=offer.standard.pk,
            round_id=offer.round.pk,
            units=1,
            idempotency_key="after-withdrawal-1",
            now=DURING,
        )
    order.refresh_from_db()
    assert order.status == "pending"  # kept: staff decide
    assert "閉店されたため" in LogEntry.objects.get(object_id=str(shop.pk)).change_message
