"""Checking and approving many statements at once (a programme's 3,200 in one admin action):
the same rules as one at a time (status, four eyes per statement), refusals returned with the
single step's sentence, a fixed number of queries, each statement moved logged in admin."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from settlements.models import SettlementRun, Statement, StatementStatus
from settlements.services import settlement_run, statements_approve, statements_check
from tests.conftest import make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use
from tests.settlements.test_statement_admin import FLOW, staff_member

pytestmark = pytest.mark.django_db
D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))
CHANGELIST = "admin:settlements_statement_changelist"


def run_of(shops: int, staff, *, status: str = StatementStatus.DRAFT) -> SettlementRun:
    """A project of `shops` shops with a use each, settled by `staff`: one statement a shop."""
    project = make_project()
    make_round(project)
    for _ in range(shops):
        use(make_ticket(make_shop(project)), 1_000, at(D(2026, 12, 1)))
    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=staff, now=NOW)
    run.statements.update(status=status)
    return run


@pytest.fixture
def preparer(db):
    return make_user(email="bulk-preparer@example.jp", is_staff=True)


@pytest.fixture
def approver(db):
    return make_user(email="bulk-approver@example.jp", is_staff=True)


def test_four_eyes_holds_per_statement_in_a_mixed_selection(preparer, approver):
    theirs = run_of(3, preparer, status=StatementStatus.CHECKED)
    own = run_of(2, approver, status=StatementStatus.CHECKED)

    moved = statements_approve(statements=Statement.objects.all(), by=approver, now=NOW)

    assert {s.pk for s in moved.done} == set(theirs.statements.values_list("pk", flat=True))
    assert {s.pk for s, _ in moved.refused} == set(own.statements.values_list("pk", flat=True))
    assert {e.code for _, e in moved.refused} == {"own_statement"}
    assert "別の職員が承認してください" in moved.refused[0][1].message
    assert set(own.statements.values_list("status", flat=True)) == {StatementStatus.CHECKED}
    approved = theirs.statements.values_list("status", "approved_by", "approved_at")
    assert set(approved) == {(StatementStatus.APPROVED, approver.pk, NOW)}


def test_statements_in_the_wrong_status_are_left_and_named(preparer, approver):
    run = run_of(4, preparer)
    first, second, *_ = run.statements.order_by("pk")
    statements_check(statements=[first, second], by=preparer, now=NOW)

    moved = statements_approve(statements=run.statements.all(), by=approver, now=NOW)

    assert [s.pk for s in moved.done] == [first.pk, second.pk]
    assert len(moved.refused) == 2 and {e.code for _, e in moved.refused} == {"wrong_status"}
    assert "「作成済み」のため、この操作はできません" in moved.refused[0][1].message
    again = statements_check(statements=run.statements.all(), by=preparer, now=NOW)
    assert len(again.done) == 2 and len(again.refused) == 2  # the approved two: not checked again


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("check_statements", StatementStatus.DRAFT, StatementStatus.CHECKED),
        ("approve_statements", StatementStatus.CHECKED, StatementStatus.APPROVED),
    ],
)
def test_an_admin_action_takes_the_same_queries_for_2_and_10_statements(
    action, before, after, preparer
):
    _user, client = staff_member("bulk-admin@example.jp", *FLOW)
    run = run_of(12, preparer, status=before)
    pks = list(run.statements.order_by("pk").values_list("pk", flat=True))
    client.get(reverse(CHANGELIST))  # what is cached once per process, cached
    ContentType.objects.get_for_model(Statement)
    counts = []
    for selected in (pks[:2], pks[2:]):
        with CaptureQueriesContext(connection) as captured:
            client.post(reverse(CHANGELIST), {"action": action, "_selected_action": selected})
        counts.append(len(captured))
    assert set(run.statements.values_list("status", flat=True)) == {after}
    assert counts[0] == counts[1]


def test_the_services_take_the_same_queries_for_2_and_12_statements(preparer, approver):
    counts = []
    for size in (2, 12):
        run = run_of(size, preparer)
        with CaptureQueriesContext(connection) as captured:
            statements_check(statements=run.statements.all(), by=preparer, now=NOW)
            statements_approve(statements=run.statements.all(), by=approver, now=NOW)
        counts.append(len(captured))
        assert set(run.statements.values_list("status", flat=True)) == {StatementStatus.APPROVED}
    assert counts[0] == counts[1]


def test_the_admin_logs_each_statement_moved_and_tells_refusals_once_per_reason(preparer):
    user, client = staff_member("bulk-admin-log@example.jp", *FLOW)
    run = run_of(6, preparer)
    drafts = list(run.statements.order_by("pk"))
    Statement.objects.filter(pk__in=[s.pk for s in drafts[:5]]).update(
        status=StatementStatus.APPROVED
    )

    response = client.post(
        reverse(CHANGELIST),
        {"action": "check_statements", "_selected_action": [s.pk for s in drafts]},
        follow=True,
    )

    text = response.content.decode()
    assert "1件の明細を「確認済み」にしました。" in text
    # Five refused for one reason: one message naming three of them and counting the rest.
    assert text.count("変更できませんでした") == 1
    assert "5件の明細は変更できませんでした。" in text and "ほか2件" in text
    assert "「承認済み」のため、この操作はできません" in text
    logged = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Statement))
    assert list(logged.values_list("object_id", "user", "change_message")) == [
        (str(drafts[5].pk), user.pk, "確認済み")
    ]


def test_a_whole_run_checked_in_admin_is_logged_statement_by_statement(preparer):
    user, client = staff_member("bulk-admin-all@example.jp", *FLOW)
    run = run_of(4, preparer)
    # "Select all N" on the list: the page's boxes ticked and select_across set.
    first = run.statements.order_by("pk").first()
    client.post(
        reverse(CHANGELIST),
        {"action": "check_statements", "_selected_action": [first.pk], "select_across": "1"},
    )
    assert set(run.statements.values_list("status", "checked_by")) == {
        (StatementStatus.CHECKED, user.pk)
    }
    logged = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Statement))
    assert sorted(int(pk) for pk in logged.values_list("object_id", flat=True)) == sorted(
        run.statements.values_list("pk", flat=True)
    )
