"""The books' admin page and its files: who may see them, what they hold, never cached."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from settlements.books import FIGURES, books_of
from tests.conftest import download_url, login_staff, make_user
from tests.projects.factories import make_project, make_round
from tests.settlements.test_books import history  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

PAGE = "admin:settlements_books_changelist"
EXPORT = "admin:settlements_books_export"


def staff_client(email: str, *codenames: str) -> Client:
    user = make_user(email=email, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="settlements", codename__in=codenames)
    )
    client = Client()
    login_staff(client, user)
    return client


@pytest.fixture
def bookkeeper(db):
    return staff_client("books-keeper@example.jp", "view_books")


def assert_never_cached(response):
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_page_shows_the_headline_figures_the_chart_and_every_breakdown(
    history,  # noqa: F811
    bookkeeper,
):
    response = bookkeeper.get(reverse(PAGE), {"project": history["project"].pk})
    assert response.status_code == 200
    assert_never_cached(response)
    html = response.content.decode()
    for text in ("期別", "店舗別", "業種別", "市町別", "赤坂食堂", "萩カフェ", "飲食店", "山口市"):
        assert text in html, text
    assert "18,000円" in html  # amount raised
    assert "21,600円" in html  # tickets issued
    assert '<svg class="books-chart" role="img"' in html and "<desc" in html
    assert "1円単位で一致しています" in html
    assert response.context["books"].total.amount_raised == 18_000


def test_the_latest_project_is_shown_without_a_choice(history, bookkeeper):  # noqa: F811
    response = bookkeeper.get(reverse(PAGE))
    assert response.context["books"].project == history["project"]


def test_one_round_alone(history, bookkeeper):  # noqa: F811
    response = bookkeeper.get(
        reverse(PAGE), {"project": history["project"].pk, "round": history["r2"].pk}
    )
    books = response.context["books"]
    assert books.round == history["r2"] and books.total.amount_raised == 8_000
    assert [row.label for row in books.by_round] == ["第2期"]


def test_a_round_of_another_project_is_refused_with_a_reason(history, bookkeeper):  # noqa: F811
    other = make_round(make_project())
    response = bookkeeper.get(reverse(PAGE), {"project": history["project"].pk, "round": other.pk})
    assert response.status_code == 200 and response.context["books"] is None
    assert "の期ではありません" in response.content.decode()


def test_without_any_project_the_page_says_so(bookkeeper):
    response = bookkeeper.get(reverse(PAGE))
    assert response.status_code == 200
    assert "プロジェクトがまだありません" in response.content.decode()


def test_a_break_in_the_books_is_shown(history, bookkeeper):  # noqa: F811
    from purchases.models import Ticket

    Ticket.objects.filter(round=history["r1"]).update(balance=1)
    html = bookkeeper.get(reverse(PAGE), {"project": history["project"].pk}).content.decode()
    assert "帳簿が一致しません" in html and "第1期" in html


def test_the_admin_index_links_the_books_for_those_who_may_see_them(bookkeeper):
    assert reverse(PAGE) in bookkeeper.get(reverse("admin:index")).content.decode()
    other = staff_client("books-other@example.jp", "view_statement")
    assert reverse(PAGE) not in other.get(reverse("admin:index")).content.decode()


def test_staff_without_the_permission_supporters_and_operators_are_refused(history):  # noqa: F811
    other = staff_client("books-other@example.jp", "view_statement", "view_settlementrun")
    assert other.get(reverse(PAGE)).status_code == 403
    assert other.post(download_url(EXPORT, books_format="csv"), {"project": "1"}).status_code == 403
    operator = history["a"]
    user = make_user(email="books-operator@example.jp")
    operator.operators.add(user)
    for who in (user, make_user(email="books-supporter@example.jp"), None):
        client = Client()
        if who is not None:
            client.force_login(who)
        for response in (
            client.get(reverse(PAGE)),
            client.post(download_url(EXPORT, books_format="xlsx"), {"project": "1"}),
        ):
            assert response.status_code in (302, 403), who
            if response.status_code == 302:
                assert "/login/" in response["Location"]
            assert "赤坂食堂" not in response.content.decode(errors="replace")


def test_the_csv_holds_every_breakdown_and_is_logged(history, bookkeeper):  # noqa: F811
    project = history["project"]
    response = bookkeeper.post(download_url(EXPORT, books_format="csv"), {"project": project.pk})
    assert response.status_code == 200
    assert_never_cached(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="books-{project.slug}-'
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["区分", "名称", *(str(label) for _name, label in FIGURES)]
    total = rows[1]
    expected = books_of(project=project, now=timezone.now()).total
    assert total[0] == "合計" and [int(v) for v in total[2:]] == expected.values()
    assert expected.amount_raised == 18_000 and expected.awaiting_settlement == -3_600
    assert [r[:2] for r in rows[2:4]] == [["期別", "第1期"], ["期別", "第2期"]]
    assert ["店舗別", "赤坂食堂"] in [r[:2] for r in rows]
    assert ["業種別", "カフェ・喫茶"] in [r[:2] for r in rows]
    assert ["市町別", "山口市"] in [r[:2] for r in rows]
    entry = LogEntry.objects.get(object_id=str(project.pk))
    assert "帳簿をダウンロード(CSV)" in entry.get_change_message()


def test_the_workbook_has_a_sheet_per_breakdown_with_yen_as_numbers(history, bookkeeper):  # noqa: F811
    project = history["project"]
    response = bookkeeper.post(
        download_url(EXPORT, books_format="xlsx"), {"project": project.pk, "round": ""}
    )
    assert response.status_code == 200
    assert_never_cached(response)
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["概要", "期別", "店舗別", "業種別", "市町別"]
    rounds = workbook["期別"]
    header = [cell.value for cell in rounds[1]]
    assert header == ["名称", *(str(label) for _name, label in FIGURES)]
    first = [cell.value for cell in rounds[2]]
    assert first[0] == "第1期" and first[3] == 10_000 and first[4] == 12_000
    assert all(isinstance(value, int) for value in first[1:])
    assert rounds.cell(2, 4).number_format == '#,##0"円";-#,##0"円"'
    assert rounds.cell(2, 2).number_format == "#,##0"
    assert rounds.cell(rounds.max_row, 1).value == "合計"
    summary = workbook["概要"]
    assert summary["B1"].value == project.name
    assert summary["B4"].value == "全期で一致(1円単位)"


def test_an_unknown_format_or_a_bad_choice_is_refused(history, bookkeeper):  # noqa: F811
    assert (
        bookkeeper.post(
            download_url(EXPORT, books_format="pdf"), {"project": history["project"].pk}
        ).status_code
        == 404
    )
    response = bookkeeper.post(download_url(EXPORT, books_format="csv"), {"project": "999999"})
    assert response.status_code == 302 and response["Location"] == reverse(PAGE)


def test_a_download_url_answers_once(history, bookkeeper):  # noqa: F811
    url = download_url(EXPORT, books_format="csv")
    assert bookkeeper.post(url, {"project": history["project"].pk}).status_code == 200
    assert bookkeeper.post(url, {"project": history["project"].pk}).status_code == 410


def test_a_projects_books_by_its_id(history, bookkeeper):  # noqa: F811
    project = history["project"]
    url = reverse("admin:settlements_books_change", args=[project.pk])
    response = bookkeeper.get(url, follow=True)
    assert response.status_code == 200 and response.context["books"].project == project
    assert (
        bookkeeper.get(reverse("admin:settlements_books_change", args=[999999])).status_code == 404
    )
