"""The shop's statements on its management pages: from staff's approval on, each with its
payment date, lines by day with subtotals, a CSV and a printable 支払通知書."""

import csv
import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from purchases.models import Redemption, TicketUse
from settlements.models import Statement, StatementStatus
from settlements.services import (
    settlement_run,
    statement_approve,
    statement_check,
    statement_mark_paid,
)
from settlements.views import STATEMENTS_PER_PAGE
from tests.conftest import download_url, make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.factories import at, make_ticket, use

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))
pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    preparer = make_user(email="pages-preparer@example.jp", is_staff=True)
    approver = make_user(email="pages-approver@example.jp", is_staff=True)
    operator = make_user(email="pages-operator@example.jp")
    project = make_project()
    make_round(project)
    shop = make_shop(project, operators=[operator], name="山田食堂")
    client = Client()
    client.force_login(operator)
    return {
        "preparer": preparer,
        "approver": approver,
        "shop": shop,
        "project": project,
        "client": client,
    }


def approved(s, day):
    run = settlement_run(project=s["project"], period_end=day, staff=s["preparer"], now=NOW)
    statement = run.statements.get()
    statement_check(statement=statement, by=s["approver"], now=NOW)
    return statement_approve(statement=statement, by=s["approver"], now=NOW)


def list_url(shop):
    return reverse("settlements:statement_list", kwargs={"shop_id": shop.pk})


def detail_url(statement, name="statement_detail"):
    return reverse(
        f"settlements:{name}",
        kwargs={"shop_id": statement.shop_id, "statement_id": statement.pk},
    )


def test_the_shop_page_links_to_the_statements_and_an_empty_list_says_why(setting):
    client, shop = setting["client"], setting["shop"]
    page = client.get(reverse("projects:manage_shop", kwargs={"shop_id": shop.pk}))
    assert list_url(shop) in page.content.decode()
    empty = client.get(list_url(shop))
    assert empty.status_code == 200 and "まだ精算明細はありません" in empty.content.decode()
    assert "no-store" in empty["Cache-Control"]


def test_a_draft_is_not_shown_to_the_shop_until_approved(setting):
    shop = setting["shop"]
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    run = settlement_run(
        project=setting["project"], period_end=D(2026, 12, 15), staff=setting["preparer"], now=NOW
    )
    draft = run.statements.get()
    assert "まだ精算明細はありません" in setting["client"].get(list_url(shop)).content.decode()
    assert setting["client"].get(detail_url(draft)).status_code == 404
    statement_check(statement=draft, by=setting["approver"], now=NOW)
    statement_approve(statement=draft, by=setting["approver"], now=NOW)
    page = setting["client"].get(list_url(shop)).content.decode()
    assert "お支払い予定" in page and "1,200円" in page
    assert run.payment_date.strftime("%Y-%m-%d") in page


def test_a_paid_statement_shows_its_date_and_the_banks_reference(setting):
    shop = setting["shop"]
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    statement = approved(setting, D(2026, 12, 15))
    Statement.objects.filter(pk=statement.pk).update(status=StatementStatus.EXPORTED)
    statement_mark_paid(
        statement=statement, reference="BK-20270108-7", by=setting["approver"], now=NOW
    )
    page = setting["client"].get(list_url(shop)).content.decode()
    assert "お支払い済み" in page and "BK-20270108-7" in page and "2027-01-05" in page


def test_the_detail_groups_lines_by_day_with_subtotals_and_labels_a_reversal(setting):
    shop = setting["shop"]
    settled = use(make_ticket(shop, paid=10_000, value=13_000), 1_000, at(D(2026, 12, 1)))
    approved(setting, D(2026, 12, 15))
    Redemption.objects.filter(pk=settled.redemption_id).update(
        undone_at=at(D(2026, 12, 20), 15), undo_reason="誤り"
    )
    use(make_ticket(shop, paid=10_000, value=10_000), 3_000, at(D(2026, 12, 21), 10))
    use(make_ticket(shop, paid=10_000, value=10_000), 2_000, at(D(2026, 12, 21), 18))
    statement = approved(setting, D(2026, 12, 31))

    page = setting["client"].get(detail_url(statement))
    text = page.content.decode()

    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "2026-12-20" in text and "2026-12-21" in text
    assert "利用の取消(精算後)" in text and "2026-12-01 12:00 の利用の取消" in text
    assert "-1,000円" in text and "5,000円" in text  # the two days' subtotals
    assert "4,000円" in text  # the statement's face value and amount to pay
    assert detail_url(statement, "statement_print") in text


def test_the_csv_has_a_bom_every_line_and_the_totals(setting):
    shop = setting["shop"]
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1), 9))
    use(make_ticket(shop), 300, at(D(2026, 12, 2), 18))
    statement = approved(setting, D(2026, 12, 15))
    detail = setting["client"].get(detail_url(statement)).content.decode()
    assert "CSVでダウンロード" in detail

    response = setting["client"].post(
        download_url("settlements:statement_csv", shop_id=shop.pk, statement_id=statement.pk)
    )

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["日付", "時刻", "種類"]
    assert rows[1][:3] == ["2026-12-01", "09:00", "利用"] and rows[1][5] == "1200"
    assert rows[2][:2] == ["2026-12-02", "18:00"] and rows[2][5] == "300"
    assert ["支払額", "", "", "", "", "1500"] in rows


def test_the_printable_statement_names_the_office_as_issuer(setting, settings):
    shop = setting["shop"]
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    statement = approved(setting, D(2026, 12, 15))
    page = setting["client"].get(detail_url(statement, "statement_print")).content.decode()
    assert "支払通知書" in page and "山田食堂 御中" in page
    assert str(settings.KAIKA_OFFICE["name"]) in page and "発行" in page
    assert "print.js" in page


def test_another_shops_operator_gets_404_everywhere(setting):
    shop = setting["shop"]
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    statement = approved(setting, D(2026, 12, 15))
    stranger = make_user(email="pages-stranger@example.jp")
    other = make_shop(setting["project"], operators=[stranger])
    client = Client()
    client.force_login(stranger)
    assert client.get(list_url(shop)).status_code == 404
    assert client.get(detail_url(statement)).status_code == 404
    # Its own shop's id with this statement's id: not found either.
    mixed = reverse(
        "settlements:statement_detail", kwargs={"shop_id": other.pk, "statement_id": statement.pk}
    )
    assert client.get(mixed).status_code == 404
    csv_url = download_url("settlements:statement_csv", shop_id=other.pk, statement_id=statement.pk)
    assert client.post(csv_url).status_code == 404


def test_the_list_is_paginated_newest_first(setting):
    shop = setting["shop"]
    days = [D(2026, 1, 15), D(2026, 1, 31)]
    for month in range(2, 8):
        days += [D(2026, month, 15), (D(2026, month + 1, 1) - datetime.timedelta(days=1))]
    for day in days[: STATEMENTS_PER_PAGE + 1]:
        use(make_ticket(shop), 100, at(day))
        approved(setting, day)
    first = setting["client"].get(list_url(shop)).content.decode()
    assert 'rel="next"' in first and days[STATEMENTS_PER_PAGE].strftime("%Y-%m-%d") in first
    second = setting["client"].get(list_url(shop), {"page": 2}).content.decode()
    assert days[0].strftime("%Y-%m-%d") in second and 'rel="prev"' in second


def test_the_count_is_of_payments_at_the_till_not_of_ticket_lines(setting):
    """One payment of 1,500 yen over two tickets (two lines) and one of 300 yen: 2 uses."""
    shop = setting["shop"]
    first = use(make_ticket(shop, face=1_000), 1_000, at(D(2026, 12, 1), 9))
    second = make_ticket(shop, face=1_000)
    TicketUse.objects.create(
        ticket=second,
        shop=shop,
        amount=500,
        balance_after=500,
        used_at=first.used_at,
        redemption=first.redemption,
    )
    Redemption.objects.filter(pk=first.redemption_id).update(amount=1_500)
    use(make_ticket(shop), 300, at(D(2026, 12, 2), 18))
    statement = approved(setting, D(2026, 12, 15))
    client = setting["client"]

    for name in ("statement_detail", "statement_print"):
        text = client.get(detail_url(statement, name)).content.decode()
        assert "明細(利用 2件)" in text
        assert "チケットごとに1行ずつ" in text
    response = client.post(
        download_url("settlements:statement_csv", shop_id=shop.pk, statement_id=statement.pk)
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))
    assert len([row for row in rows if row[2:3] == ["利用"]]) == 3  # a row per ticket line
    assert ["利用件数(お会計の回数)", "", "", "", "", "2"] in rows


def test_one_ticket_per_payment_needs_no_note(setting):
    shop = setting["shop"]
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    statement = approved(setting, D(2026, 12, 15))
    text = setting["client"].get(detail_url(statement)).content.decode()
    assert "明細(利用 1件)" in text and "チケットごとに1行ずつ" not in text
