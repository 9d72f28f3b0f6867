import datetime
import hashlib

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from settlements import bank_file
from settlements.models import BankFileDownload, Statement, StatementStatus
from settlements.services import (
    BankFileError,
    bank_file_export,
    bank_file_redownload,
    payee_account_confirm,
    payee_account_save,
    settlement_run,
    statement_approve,
    statement_check,
)
from tests.conftest import download_url, login_staff, make_user
from tests.projects.factories import make_project, make_round, make_shop
from tests.settlements.conftest import details
from tests.settlements.factories import at, make_ticket, use

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2027, 1, 5, 10, 0))
URL = "admin:settlements_settlementrun_bank_file"


def staff_member(email, *codenames):
    user = make_user(email=email, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="settlements", codename__in=codenames)
    )
    client = Client()
    login_staff(client, user)
    return user, client


@pytest.fixture
def run(db):
    """Two shops approved: one with a confirmed account, one whose account is held."""
    preparer = make_user(email="bank-preparer@example.jp", is_staff=True)
    approver = make_user(email="bank-approver@example.jp", is_staff=True)
    project = make_project()
    make_round(project)
    payable, held = make_shop(project), make_shop(project)
    for shop in (payable, held):
        payee_account_save(shop=shop, details=details(), by=approver, now=NOW)
        use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    payee_account_confirm(account=payable.payee_account, version=1, by=approver, now=NOW)
    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=preparer, now=NOW)
    for statement in run.statements.all():
        statement_check(statement=statement, by=approver, now=NOW)
        statement_approve(statement=statement, by=approver, now=NOW)
    run.payable_shop, run.held_shop = payable, held
    return run


def test_the_file_carries_only_payable_shops_is_checked_and_logged(run):
    staff = make_user(email="bank-exporter@example.jp", is_staff=True)
    exported = bank_file_export(run=run, file_format="zengin", by=staff, now=NOW)
    parsed = bank_file.parse(exported.content)
    assert (parsed.count, parsed.total) == (1, 1_200)
    assert parsed.header["transfer_date"] == run.payment_date.strftime("%m%d")
    assert parsed.transfers[0]["account_number"] == "1234567"
    done = Statement.objects.get(shop=run.payable_shop)
    waiting = Statement.objects.get(shop=run.held_shop)
    assert (done.status, done.exported_at) == (StatementStatus.EXPORTED, NOW)
    assert waiting.status == StatementStatus.APPROVED
    log = BankFileDownload.objects.get()
    assert (log.run, log.by, log.at, log.count, log.total) == (run, staff, NOW, 1, 1_200)
    assert log.sha256 == hashlib.sha256(exported.content).hexdigest()
    # Nothing left to pay: a second file would pay the same shops twice. Staff are told the
    # file was made and where to fetch it again (in either format).
    for file_format in ("zengin", "csv"):
        with pytest.raises(BankFileError) as refused:
            bank_file_export(run=run, file_format=file_format, by=staff, now=NOW)
        assert refused.value.code == "already_exported"
        assert "再ダウンロード" in refused.value.message
    assert BankFileDownload.objects.count() == 1


def test_a_run_with_nothing_approved_has_nothing_to_pay(db):
    preparer = make_user(email="bank-preparer@example.jp", is_staff=True)
    project = make_project()
    make_round(project)
    shop = make_shop(project)
    use(make_ticket(shop), 1_200, at(D(2026, 12, 1)))
    run = settlement_run(project=project, period_end=D(2026, 12, 15), staff=preparer, now=NOW)
    with pytest.raises(BankFileError) as refused:
        bank_file_export(run=run, file_format="zengin", by=preparer, now=NOW)
    assert refused.value.code == "nothing_to_pay"


def test_the_csv_alternative(run):
    staff = make_user(email="bank-exporter@example.jp", is_staff=True)
    exported = bank_file_export(run=run, file_format="csv", by=staff, now=NOW)
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeff") and ",1234567,ﾔﾏﾀﾞ ﾀﾛｳ,1200," in text
    assert exported.content_type.startswith("text/csv")


def test_without_the_settings_the_download_is_refused(run, settings):
    settings.KAIKA_BANK_CONSIGNOR = {**settings.KAIKA_BANK_CONSIGNOR, "consignor_code": ""}
    staff = make_user(email="bank-exporter@example.jp", is_staff=True)
    with pytest.raises(BankFileError) as refused:
        bank_file_export(run=run, file_format="zengin", by=staff, now=NOW)
    assert "BANK_CONSIGNOR_CODE" in refused.value.message
    assert not BankFileDownload.objects.exists()
    assert not Statement.objects.filter(status=StatementStatus.EXPORTED).exists()


def test_only_staff_holding_the_permission_may_download(run):
    _, without = staff_member("bank-viewer@example.jp", "view_settlementrun", "view_statement")
    response = without.post(download_url(URL, object_id=run.pk, file_format="zengin"))
    assert response.status_code == 403
    page = without.get(reverse("admin:settlements_settlementrun_change", args=[run.pk]))
    assert "振込データ" not in page.content.decode()
    assert not BankFileDownload.objects.exists()

    _, holder = staff_member(
        "bank-holder@example.jp", "view_settlementrun", "view_statement", "download_bank_file"
    )
    page = holder.get(reverse("admin:settlements_settlementrun_change", args=[run.pk]))
    assert "振込データ" in page.content.decode()
    assert holder.get(download_url(URL, object_id=run.pk, file_format="zengin")).status_code == 405
    response = holder.post(download_url(URL, object_id=run.pk, file_format="zengin"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert bank_file.parse(response.content).count == 1
    assert BankFileDownload.objects.count() == 1


def test_an_unknown_format_is_not_found(run):
    _, holder = staff_member("bank-holder@example.jp", "view_settlementrun", "download_bank_file")
    assert holder.post(download_url(URL, object_id=run.pk, file_format="pdf")).status_code == 404


AGAIN = "admin:settlements_bankfiledownload_again"


def test_a_lost_file_is_downloaded_again_with_the_same_bytes_and_logged_as_such(run):
    staff = make_user(email="bank-exporter@example.jp", is_staff=True)
    first = bank_file_export(run=run, file_format="zengin", by=staff, now=NOW)
    exported_at = Statement.objects.get(shop=run.payable_shop).exported_at
    _, holder = staff_member(
        "bank-holder@example.jp",
        "view_bankfiledownload",
        "view_settlementrun",
        "download_bank_file",
    )
    page = holder.get(
        reverse("admin:settlements_bankfiledownload_change", args=[first.download.pk])
    )
    assert "振込データの再ダウンロード" in page.content.decode()

    response = holder.post(download_url(AGAIN, object_id=first.download.pk, file_format="zengin"))

    assert response.status_code == 200 and response.content == first.content
    assert response["Content-Disposition"].startswith("attachment;")
    again = BankFileDownload.objects.exclude(pk=first.download.pk).get()
    assert again.redownload_of == first.download and again.sha256 == first.download.sha256
    assert (again.count, again.total) == (1, 1_200)
    # Nothing exported anew.
    statement = Statement.objects.get(shop=run.payable_shop)
    assert (statement.status, statement.exported_at) == (StatementStatus.EXPORTED, exported_at)
    # A re-download of the re-download is of the same batch.
    csv = holder.post(download_url(AGAIN, object_id=again.pk, file_format="csv"))
    assert csv.status_code == 200 and ",1234567," in csv.content.decode("utf-8")
    assert BankFileDownload.objects.filter(redownload_of=first.download).count() == 2


def test_a_redownload_that_would_differ_from_the_file_given_is_refused(run):
    staff = make_user(email="bank-exporter@example.jp", is_staff=True)
    first = bank_file_export(run=run, file_format="zengin", by=staff, now=NOW)
    payee_account_save(
        shop=run.payable_shop, details=details(account_number="7654321"), by=staff, now=NOW
    )
    with pytest.raises(BankFileError) as refused:
        bank_file_redownload(download=first.download, file_format="zengin", by=staff, now=NOW)
    assert refused.value.code == "batch_changed" and "同じ内容" in refused.value.message
    assert BankFileDownload.objects.count() == 1


def test_only_staff_holding_the_permission_may_download_again(run):
    staff = make_user(email="bank-exporter@example.jp", is_staff=True)
    first = bank_file_export(run=run, file_format="zengin", by=staff, now=NOW)
    _, without = staff_member("bank-viewer@example.jp", "view_bankfiledownload")
    page = without.get(
        reverse("admin:settlements_bankfiledownload_change", args=[first.download.pk])
    )
    assert page.status_code == 200 and "振込データの再ダウンロード" not in page.content.decode()
    url = download_url(AGAIN, object_id=first.download.pk, file_format="zengin")
    assert without.post(url).status_code == 403
    assert BankFileDownload.objects.count() == 1
