import datetime

import pytest
from django.utils import timezone

from settlements.models import ChangeKind, HoldReason, PayeeAccount, PayeeAccountChange
from settlements.services import PayeeError, payee_account_confirm, payee_account_save
from tests.conftest import make_user
from tests.settlements.conftest import details

NOW = timezone.make_aware(datetime.datetime(2026, 12, 1, 10, 0))


@pytest.fixture
def staff(db):
    return make_user(email="payee-staff@example.jp", is_staff=True)


def register(shop, by, now=NOW, **extra):
    return payee_account_save(shop=shop, details=details(**extra), by=by, now=now)


def test_a_registration_is_recorded_masked_and_holds_payouts(shop, operator):
    change = register(shop, operator)
    account = PayeeAccount.objects.get(shop=shop)
    assert account.account_number == "1234567"
    assert (account.payout_hold, account.hold_reason, account.version) == (
        True,
        HoldReason.REGISTERED,
        1,
    )
    assert not account.is_payable
    assert not PayeeAccount.objects.payable().exists()
    assert (change.kind, change.by, change.at, change.version) == (
        ChangeKind.REGISTERED,
        operator,
        NOW,
        1,
    )
    assert change.before == {}
    assert change.after["account_number"] == "＊＊＊4567"
    assert change.after_text == "みずほ(0001) 東京営業部(001) 普通 ＊＊＊4567 ﾔﾏﾀﾞ ﾀﾛｳ"


def test_no_change_record_keeps_a_full_account_number(shop, operator):
    register(shop, operator)
    register(shop, operator, account_number="7654321")
    for change in PayeeAccountChange.objects.all():
        assert "1234567" not in str(change.before) + str(change.after)
        assert "7654321" not in str(change.before) + str(change.after)


def test_a_change_is_recorded_before_and_after_and_holds_a_confirmed_account_again(
    shop, operator, co_operator, staff
):
    register(shop, operator)
    payee_account_confirm(account=shop.payee_account, version=1, by=staff, now=NOW)
    assert PayeeAccount.objects.payable().filter(shop=shop).exists()

    later = NOW + datetime.timedelta(days=3)
    change = register(shop, co_operator, now=later, bank_code="0005", bank_name="三菱ＵＦＪ")
    account = PayeeAccount.objects.get(shop=shop)
    assert (change.kind, change.by, change.at) == (ChangeKind.CHANGED, co_operator, later)
    assert change.before["bank_code"] == "0001" and change.after["bank_code"] == "0005"
    assert (account.payout_hold, account.hold_reason, account.version) == (
        True,
        HoldReason.CHANGED,
        2,
    )
    assert account.confirmed_at is None and account.confirmed_by is None
    assert not PayeeAccount.objects.payable().exists()


def test_saving_the_same_details_again_records_holds_and_sends_nothing(
    shop, operator, staff, mailoutbox, django_capture_on_commit_callbacks
):
    register(shop, operator)
    payee_account_confirm(account=shop.payee_account, version=1, by=staff, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        assert register(shop, operator) is None
    assert mailoutbox == []
    assert PayeeAccount.objects.get(shop=shop).is_payable
    assert PayeeAccountChange.objects.count() == 2  # the registration and the confirmation


def test_every_operator_is_emailed_on_their_own_with_the_change_masked(
    shop, operator, co_operator, mailoutbox, django_capture_on_commit_callbacks
):
    register(shop, operator)
    with django_capture_on_commit_callbacks(execute=True):
        register(shop, operator, account_number="7654321")
    assert sorted(m.to[0] for m in mailoutbox) == [co_operator.email, operator.email]
    assert all(len(m.to) == 1 for m in mailoutbox)
    message = mailoutbox[0]
    assert message.subject == "[kaika] 山田食堂 の振込先口座が変更されました"
    assert "変更前: みずほ(0001) 東京営業部(001) 普通 ＊＊＊4567 ﾔﾏﾀﾞ ﾀﾛｳ" in message.body
    assert "登録内容: みずほ(0001) 東京営業部(001) 普通 ＊＊＊4321 ﾔﾏﾀﾞ ﾀﾛｳ" in message.body
    assert f"操作した方: {operator.email}" in message.body
    assert "2026-12-01 10:00" in message.body
    assert "次回のお支払いを保留します" in message.body
    assert "お心当たりがない場合" in message.body
    assert f"/shops/manage/{shop.pk}/payee/" in message.body
    assert "7654321" not in message.body and "1234567" not in message.body


def test_a_registration_is_emailed_too(
    shop, operator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        register(shop, operator)
    assert len(mailoutbox) == 2
    assert mailoutbox[0].subject == "[kaika] 山田食堂 の振込先口座が登録されました"
    assert "変更前" not in mailoutbox[0].body


def test_an_invalid_account_is_never_saved_nor_announced(
    shop, operator, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        register(shop, operator, account_number="12")  # the service re-checks the model
    assert not PayeeAccount.objects.exists() and not PayeeAccountChange.objects.exists()
    assert mailoutbox == []


def test_staff_confirmation_releases_payouts_and_is_logged(shop, operator, staff):
    register(shop, operator)
    later = NOW + datetime.timedelta(hours=2)
    change = payee_account_confirm(account=shop.payee_account, version=1, by=staff, now=later)
    account = PayeeAccount.objects.get(shop=shop)
    assert account.is_payable and list(PayeeAccount.objects.payable()) == [account]
    assert (account.hold_reason, account.confirmed_at, account.confirmed_by) == ("", later, staff)
    assert (change.kind, change.by, change.at, change.version) == (
        ChangeKind.CONFIRMED,
        staff,
        later,
        1,
    )
    assert change.after["account_number"] == "＊＊＊4567"


def test_a_confirmation_of_a_version_since_changed_is_refused(shop, operator, staff):
    register(shop, operator)
    account = PayeeAccount.objects.get(shop=shop)  # what staff were shown: version 1
    register(shop, operator, account_number="7654321")  # changed meanwhile: version 2
    with pytest.raises(PayeeError) as refused:
        payee_account_confirm(account=account, version=1, by=staff, now=NOW)
    assert refused.value.code == "changed_meanwhile"
    assert "山田食堂" in refused.value.message
    assert not PayeeAccount.objects.payable().exists()


def test_confirming_twice_is_refused_the_second_time(shop, operator, staff):
    register(shop, operator)
    payee_account_confirm(account=shop.payee_account, version=1, by=staff, now=NOW)
    with pytest.raises(PayeeError) as refused:
        payee_account_confirm(account=shop.payee_account, version=1, by=staff, now=NOW)
    assert refused.value.code == "not_held"
    assert PayeeAccountChange.objects.filter(kind=ChangeKind.CONFIRMED).count() == 1


def test_a_held_account_always_says_why(shop, operator):
    from django.db import IntegrityError, transaction

    register(shop, operator)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayeeAccount.objects.filter(shop=shop).update(hold_reason="")
