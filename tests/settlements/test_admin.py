import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from settlements.models import ChangeKind, PayeeAccount, PayeeAccountChange
from settlements.services import payee_account_save
from tests.conftest import login_staff, make_user
from tests.settlements.conftest import details

CHANGELIST = "admin:settlements_payeeaccount_changelist"


def staff_client(email: str, *codenames: str) -> Client:
    """A staff member (not a superuser) holding just these settlements permissions."""
    user = make_user(email=email, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="settlements", codename__in=codenames)
    )
    client = Client()
    login_staff(client, user)
    return client


@pytest.fixture
def account(shop, operator):
    payee_account_save(shop=shop, details=details(), by=operator, now=shop.applied_at)
    return PayeeAccount.objects.get(shop=shop)


@pytest.fixture
def viewer(db):
    return staff_client("payee-viewer@example.jp", "view_payeeaccount", "view_payeeaccountchange")


@pytest.fixture
def checker(db):
    return staff_client(
        "payee-checker@example.jp",
        "view_payeeaccount",
        "change_payeeaccount",
        "view_full_account",
        "view_payeeaccountchange",
    )


def change_url(account):
    return reverse("admin:settlements_payeeaccount_change", args=[account.pk])


def test_staff_without_the_permission_see_the_number_masked_everywhere(account, viewer):
    for url in (
        reverse(CHANGELIST),
        change_url(account),
        reverse("admin:settlements_payeeaccountchange_changelist"),
        reverse("admin:settlements_payeeaccount_history", args=[account.pk]),
    ):
        response = viewer.get(url)
        assert response.status_code == 200, url
        assert "1234567" not in response.content.decode(), url
    assert "＊＊＊4567" in viewer.get(reverse(CHANGELIST)).content.decode()
    assert "＊＊＊4567" in viewer.get(change_url(account)).content.decode()


def test_staff_holding_the_permission_see_the_whole_number(account, checker, staff_client):
    assert "1234567" in checker.get(reverse(CHANGELIST)).content.decode()
    assert "1234567" in checker.get(change_url(account)).content.decode()
    # Superusers hold every permission.
    assert "1234567" in staff_client.get(reverse(CHANGELIST)).content.decode()


def test_the_number_cannot_be_searched_for(account, viewer):
    page = viewer.get(reverse(CHANGELIST), {"q": "1234567"})
    assert page.context["cl"].result_count == 0
    assert viewer.get(reverse(CHANGELIST), {"q": "山田"}).context["cl"].result_count == 1


def test_accounts_and_their_log_cannot_be_added_changed_or_deleted_in_admin(account, checker):
    change = account.changes.get()
    assert checker.get(reverse("admin:settlements_payeeaccount_add")).status_code == 403
    assert checker.post(change_url(account), {"account_number": "7654321"}).status_code == 403
    assert (
        checker.post(
            reverse("admin:settlements_payeeaccount_delete", args=[account.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    log_url = reverse("admin:settlements_payeeaccountchange_change", args=[change.pk])
    assert checker.get(log_url).status_code == 200  # read-only view
    assert checker.post(log_url, {"kind": "confirmed"}).status_code == 403
    account.refresh_from_db()
    assert account.account_number == "1234567" and PayeeAccount.objects.count() == 1


def test_the_change_log_is_shown_on_the_account_masked(account, checker):
    body = checker.get(change_url(account)).content.decode()
    assert "みずほ(0001) 東京営業部(001) 普通 ＊＊＊4567 ﾔﾏﾀﾞ ﾀﾛｳ" in body


def confirm(client, account, *, apply_with=None):
    data = {"action": "confirm_accounts", "_selected_action": [str(account.pk)], "index": "0"}
    if apply_with is not None:
        data |= {"apply": "1", "versions": apply_with}
    return client.post(reverse(CHANGELIST), data)


def test_staff_confirm_a_change_in_two_steps_which_releases_payouts_and_is_logged(account, checker):
    page = confirm(checker, account)
    assert page.status_code == 200
    body = page.content.decode()
    assert "口座変更の確認" in body and f'value="{account.pk}:1"' in body
    assert account.payout_hold  # nothing done by the first step

    response = confirm(checker, account, apply_with=f"{account.pk}:1")
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.is_payable and account.confirmed_at is not None
    assert account.confirmed_by.email == "payee-checker@example.jp"
    assert account.changes.filter(kind=ChangeKind.CONFIRMED).count() == 1
    entry = LogEntry.objects.get(object_id=str(account.pk))
    assert entry.user.email == "payee-checker@example.jp"
    assert "1234567" not in entry.object_repr + entry.change_message


def test_a_change_made_while_staff_were_confirming_is_not_released(account, checker, operator):
    confirm(checker, account)  # staff are shown version 1
    payee_account_save(
        shop=account.shop,
        details=details(account_number="7654321"),
        by=operator,
        now=account.updated_at,
    )
    response = confirm(checker, account, apply_with=f"{account.pk}:1")
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.payout_hold and account.version == 2
    assert not PayeeAccountChange.objects.filter(kind=ChangeKind.CONFIRMED).exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("確認画面を開いた後に変更されました" in m for m in messages)


def test_staff_who_cannot_see_the_whole_number_cannot_confirm(account, db):
    # Changing rights alone are not enough: who releases a payout checks the whole number.
    client = staff_client("payee-changer@example.jp", "view_payeeaccount", "change_payeeaccount")
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "＊＊＊4567" in page and "confirm_accounts" not in page
    confirm(client, account, apply_with=f"{account.pk}:1")
    account.refresh_from_db()
    assert account.payout_hold
