import datetime

import pytest
from django.utils import timezone

from settlements.models import (
    ChangeKind,
    HoldReason,
    LineKind,
    PayeeAccount,
    PayeeAccountChange,
    Statement,
    StatementStatus,
)
from settlements.services import (
    SettlementError,
    payee_account_confirm,
    payee_account_save,
    settlement_run,
    statement_approve,
    statement_check,
    statement_mark_paid,
    statement_return,
)
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.conftest import details
from tests.settlements.factories import at, make_ticket, use

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))


@pytest.fixture
def preparer(db):
    return make_user(email="settle-preparer@example.jp", is_staff=True)


@pytest.fixture
def approver(db):
    return make_user(email="settle-approver@example.jp", is_staff=True)


@pytest.fixture
def statement(preparer):
    project = make_project()
    make_round(project)
    shop = make_shop(project)
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=preparer, now=NOW)
    return run.statements.get()


def exported(statement):
    # The bank file's export is the only way there (settlements.services, point 4).
    Statement.objects.filter(pk=statement.pk).update(status=StatementStatus.EXPORTED)
    statement.refresh_from_db()
    return statement


def test_the_one_who_prepared_the_run_cannot_approve(statement, preparer, approver):
    statement_check(statement=statement, by=preparer, now=NOW)
    with pytest.raises(SettlementError) as refused:
        statement_approve(statement=statement, by=preparer, now=NOW)
    assert refused.value.code == "own_statement"
    assert "別の職員が承認してください" in refused.value.message
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CHECKED and statement.approved_by is None

    approved = statement_approve(statement=statement, by=approver, now=NOW)
    assert (approved.status, approved.approved_by, approved.approved_at) == (
        StatementStatus.APPROVED,
        approver,
        NOW,
    )


def test_steps_cannot_be_skipped_or_repeated(statement, preparer, approver):
    with pytest.raises(SettlementError) as refused:
        statement_approve(statement=statement, by=approver, now=NOW)
    assert refused.value.code == "wrong_status"
    statement_check(statement=statement, by=approver, now=NOW)
    with pytest.raises(SettlementError):
        statement_check(statement=statement, by=approver, now=NOW)
    with pytest.raises(SettlementError):
        statement_mark_paid(statement=statement, reference="X1", by=approver, now=NOW)


def test_paid_keeps_the_banks_reference_and_requires_it(statement, approver):
    exported(statement)
    with pytest.raises(SettlementError) as refused:
        statement_mark_paid(statement=statement, reference="  ", by=approver, now=NOW)
    assert refused.value.code == "reference_required"
    paid = statement_mark_paid(
        statement=statement, reference=" 20270108-001 ", by=approver, now=NOW
    )
    assert (paid.status, paid.bank_reference, paid.paid_at) == (
        StatementStatus.PAID,
        "20270108-001",
        NOW,
    )


def test_a_returned_transfer_holds_the_account_and_comes_back_in_the_next_run(
    statement, preparer, approver
):
    shop = statement.shop
    payee_account_save(shop=shop, details=details(), by=approver, now=NOW)
    payee_account_confirm(account=shop.payee_account, version=1, by=approver, now=NOW)
    exported(statement)

    statement_return(statement=statement, by=approver, now=NOW)

    account = PayeeAccount.objects.get(shop=shop)
    assert (account.payout_hold, account.hold_reason) == (True, HoldReason.RETURNED)
    use(make_ticket(shop), 600, at(D(2026, 12, 20)))
    run = settlement_run(project=shop.project, period_end=D(2026, 12, 31), staff=preparer, now=NOW)
    following = run.statements.get()
    assert (following.face_value, following.carried, following.amount_to_pay) == (
        600,
        1_200,
        1_800,
    )
    carried = following.lines.get(kind=LineKind.RETURNED)
    assert carried.returned_statement == statement
    # Carried once only.
    later = settlement_run(project=shop.project, period_end=D(2027, 1, 15), staff=preparer, now=NOW)
    assert not later.statements.exists()


def test_a_returned_transfer_is_recorded_on_the_account_and_emailed_to_each_operator(
    statement, approver, mailoutbox, django_capture_on_commit_callbacks
):
    shop = statement.shop
    first = make_user(email="returned-operator-1@example.jp")
    second = make_user(email="returned-operator-2@example.jp")
    shop.operators.add(first, second)
    payee_account_save(shop=shop, details=details(), by=approver, now=NOW)
    payee_account_confirm(account=shop.payee_account, version=1, by=approver, now=NOW)
    exported(statement)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        statement_return(statement=statement, by=approver, now=NOW)

    change = PayeeAccountChange.objects.filter(account__shop=shop).first()
    assert (change.kind, change.by, change.at, change.version) == (
        ChangeKind.RETURNED,
        approver,
        NOW,
        1,
    )
    assert change.before == change.after == shop.payee_account.snapshot()
    assert sorted(m.to[0] for m in mailoutbox) == [first.email, second.email]
    message = mailoutbox[0]
    assert "組戻し" in message.subject and shop.name in message.subject
    # Why no money came, that it is not lost, and what to do.
    assert "1,200円" in message.body and "繰り越して" in message.body
    assert "振込先口座のページ" in message.body and "＊＊＊4567" in message.body
    assert "1234567" not in message.body


def test_a_refused_return_records_and_sends_nothing(
    statement, approver, mailoutbox, django_capture_on_commit_callbacks
):
    payee_account_save(shop=statement.shop, details=details(), by=approver, now=NOW)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SettlementError):
        statement_return(statement=statement, by=approver, now=NOW)  # still a draft
    assert mailoutbox == []
    assert not PayeeAccountChange.objects.filter(kind=ChangeKind.RETURNED).exists()
