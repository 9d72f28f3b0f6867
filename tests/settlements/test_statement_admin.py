import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from settlements.models import SettlementRun, Statement, StatementStatus
from settlements.services import settlement_run
from tests.conftest import login_staff, make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

D = datetime.date
CHANGELIST = "admin:settlements_statement_changelist"
START = "admin:settlements_settlementrun_start"


def staff_member(email: str, *codenames: str):
    user = make_user(email=email, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="settlements", codename__in=codenames)
    )
    client = Client()
    login_staff(client, user)
    return user, client


FLOW = (
    "view_settlementrun",
    "add_settlementrun",
    "view_statement",
    "change_statement",
    "view_statementline",
)


@pytest.fixture
def project(db):
    project = make_project()
    make_round(project)
    shop = make_shop(project)
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    return project


@pytest.fixture
def preparer(db):
    return staff_member("settle-admin-preparer@example.jp", *FLOW)


@pytest.fixture
def second(db):
    return staff_member("settle-admin-second@example.jp", *FLOW)


def start(client, project, day):
    return client.post(reverse(START), {"project": project.pk, "period_end": day})


def act(client, action, statement, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [statement.pk], **extra},
        follow=True,
    )


def test_staff_start_a_period_and_see_the_totals_before_approval(project, preparer):
    user, client = preparer
    response = start(client, project, "2026-12-15")
    run = SettlementRun.objects.get()
    assert response.status_code == 302 and run.created_by == user
    page = client.get(reverse("admin:settlements_settlementrun_change", args=[run.pk]))
    assert "1200" in page.content.decode().replace(",", "")
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "口座未登録のため振込保留" in listing


def test_an_overlapping_period_is_refused_on_the_form_and_nothing_is_saved(project, preparer):
    _, client = preparer
    start(client, project, "2026-12-31")
    response = start(client, project, "2026-12-15")
    assert response.status_code == 200
    assert "重なります" in response.content.decode()
    assert SettlementRun.objects.count() == 1


def test_the_preparer_cannot_approve_through_admin_a_second_member_can(project, preparer, second):
    _user, client = preparer
    other, other_client = second
    start(client, project, "2026-12-15")
    statement = Statement.objects.get()
    act(client, "check_statements", statement)
    response = act(client, "approve_statements", statement)
    assert "別の職員が承認してください" in response.content.decode()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CHECKED
    act(other_client, "approve_statements", statement)
    statement.refresh_from_db()
    assert (statement.status, statement.approved_by) == (StatementStatus.APPROVED, other)


def test_paid_through_admin_asks_for_the_banks_reference(project, preparer):
    _user, client = preparer
    start(client, project, "2026-12-15")
    statement = Statement.objects.get()
    Statement.objects.update(status=StatementStatus.EXPORTED)
    asked = act(client, "mark_paid", statement)
    assert "銀行の受付番号" in asked.content.decode()
    act(client, "mark_paid", statement, apply="1", reference="REF-1")
    statement.refresh_from_db()
    assert (statement.status, statement.bank_reference) == (StatementStatus.PAID, "REF-1")


def test_staff_who_may_only_view_can_neither_start_nor_move_statements(project):
    _user, client = staff_member("settle-viewer@example.jp", "view_settlementrun", "view_statement")
    assert start(client, project, "2026-12-15").status_code == 403
    assert not SettlementRun.objects.exists()
    other = make_user(email="settle-other@example.jp", is_staff=True)
    run = settlement_run(
        project=project, period_end=D(2026, 12, 15), staff=other, now=timezone.now()
    )
    statement = run.statements.get()
    act(client, "check_statements", statement)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.DRAFT


def test_a_statement_page_shows_its_lines(project, preparer):
    _, client = preparer
    start(client, project, "2026-12-15")
    statement = Statement.objects.get()
    page = client.get(reverse("admin:settlements_statement_change", args=[statement.pk]))
    assert page.status_code == 200
    assert "精算明細の行" in page.content.decode()


def test_the_start_form_lists_the_closing_days_and_fills_in_the_next_one(project, preparer):
    _, client = preparer
    start(client, project, "2026-12-15")

    page = client.get(reverse(START)).content.decode()

    assert "15日・末日" in page  # the default policy: 15,31
    assert "2026-12-15" in page  # the latest period's end
    assert "2026-12-31" in page  # the next one, also filled in (the only programme)
    assert 'value="2026-12-31"' in page


def test_before_any_period_the_next_closing_day_is_the_first_from_today():
    from settlements.models import SettlementPolicy

    policy = SettlementPolicy(closing_days="10,31")
    assert policy.closing_days_text == "10日・末日"
    assert policy.next_period_end(None, D(2027, 2, 10)) == D(2027, 2, 10)
    assert policy.next_period_end(None, D(2027, 2, 11)) == D(2027, 2, 28)
    assert policy.next_period_end(D(2027, 2, 10), D(2027, 4, 1)) == D(2027, 2, 28)
