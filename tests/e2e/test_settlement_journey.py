"""Issue 22's "done when", tried as new users would in Chromium: a shop registers its payee
account, staff confirm it; the shop redeems supporters' tickets at the till (and undoes one);
staff A closes the period and checks the statement, staff B approves (A is refused: four
eyes); the bank file downloads and passes the format check (settlements.bank_file.parse); the
shop sees its statement, payment date, printable notice and CSV; staff mark it paid; the
programme's books balance to the yen. Only setup data (the project, supporters' paid orders)
is written directly; every step of the journey is a click on a real screen."""

import csv
import datetime
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from purchases.models import Wallet
from purchases.services import PaymentResult, order_create, payment_record
from settlements import bank_file
from settlements.models import PayeeAccount, SettlementPolicy, Statement, StatementStatus
from tests.conftest import PASSWORD, current_code, make_user
from tests.e2e.conftest import check_screen
from tests.e2e.test_till import too_wide
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def paid_supporter(email, shop, round_, units, now):
    supporter = make_user(email=email)
    order = order_create(
        supporter=supporter,
        listing_id=shop.listings.get(is_standard=True).pk,
        round_id=round_.pk,
        units=units,
        idempotency_key=f"journey-{email}",
        now=now,
    )
    payment_record(
        result=PaymentResult("sandbox", order.code, f"sbx_{order.code}", order.amount, True, now),
        now=now,
    )
    return Wallet.objects.get(supporter=supporter, shop=shop)


def sign_in(page, base, email, *, staff=False):
    page.goto(base + ("/accounts/login/?next=/admin/" if staff else "/accounts/login/"))
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    if staff:
        page.wait_for_url("**/accounts/2fa/authenticate/**")
        page.fill("input[name=code]", current_code())
        page.click("main form button[type=submit]")
        page.wait_for_url("**/admin/")
    else:
        page.wait_for_url("**/mypage/")


def admin_action(page, base, changelist, pk, action):
    page.goto(f"{base}/admin/settlements/{changelist}/")
    page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def yen(text: str) -> int:
    return int(re.sub(r"[^0-9-]", "", text))


def below_the_form_full_width(page) -> bool:
    """The bank file's box sits under the admin form at its width, not squeezed beside the
    form's float into a column a character wide (as it first did)."""
    form = page.locator("#content-main").bounding_box()
    box = page.locator("fieldset.module:has(form.download-form)").bounding_box()
    return box["y"] >= form["y"] + form["height"] - 1 and box["width"] >= form["width"] * 0.9


def lines_of(page, selector) -> int:
    """How many lines the text of the element takes on the screen."""
    return page.locator(selector).evaluate(
        """el => {
            const range = document.createRange();
            range.selectNodeContents(el);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        }"""
    )


def redeem(page, base, shop, wallet, amount):
    page.goto(f"{base}/shops/manage/{shop.pk}/redeem/")
    page.fill("#id_code", wallet.code)
    page.fill("#id_amount", str(amount))
    page.get_by_role("button", name="確認へ進む").click()
    page.get_by_role("button", name="確定").click()
    expect(page.locator(".messages")).to_contain_text(f"{amount:,}円を利用しました")


def test_a_period_from_the_payee_account_to_the_books_balancing_to_the_yen(live_server, page_for):
    base = live_server.url
    now = timezone.now()
    today = timezone.localdate()
    project = make_project()
    round_ = make_round(
        project,
        number=1,
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=60),
    )
    # Today is a closing day: the uses made below, at real time, fall in the period.
    SettlementPolicy.objects.create(project=project, closing_days=str(today.day))
    operator = make_user(email="shop-owner@example.jp")
    shop = make_shop(project, operators=[operator], name="山田食堂")
    first = paid_supporter("first-backer@example.jp", shop, round_, 2, now)
    second = paid_supporter("second-backer@example.jp", shop, round_, 1, now)
    staff_a = make_user(email="staff-a@example.jp", is_staff=True, is_superuser=True)
    staff_b = make_user(email="staff-b@example.jp", is_staff=True)
    staff_b.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="settlements",
            codename__in=["view_statement", "change_statement", "view_settlementrun"],
        )
    )

    # 1. The operator registers the payee account from the shop's management page.
    shop_page = page_for("phone")
    sign_in(shop_page, base, operator.email)
    shop_page.goto(base + "/shops/manage/")
    shop_page.get_by_role("link", name=shop.name).first.click()
    shop_page.get_by_role("link", name=re.compile("振込先口座")).click()
    expect(shop_page.locator("h1")).to_have_text("振込先口座")
    shop_page.get_by_role("link", name="口座を登録する").click()
    shop_page.fill("#id_bank_code", "０００１")  # full-width digits, as a phone may type them
    shop_page.fill("#id_branch_code", "001")
    shop_page.check("input[name=account_type][value='1']")
    shop_page.fill("#id_account_number", "1234567")
    shop_page.fill("#id_holder_name", "やまだ　たろう")
    check_screen(shop_page, "journey-payee-form-phone")
    shop_page.get_by_role("button", name="登録する").click()
    expect(shop_page.locator("h1")).to_have_text("振込先口座")
    expect(shop_page.locator("main")).to_contain_text("お支払いを保留しています")
    expect(shop_page.locator("main")).to_contain_text("ﾔﾏﾀﾞ ﾀﾛｳ")
    assert "1234567" not in shop_page.content()
    check_screen(shop_page, "journey-payee-held-phone")
    account = PayeeAccount.objects.get(shop=shop)
    assert account.holder_name == "ﾔﾏﾀﾞ ﾀﾛｳ" and account.payout_hold

    staff_a_page = page_for("desktop")
    sign_in(staff_a_page, base, staff_a.email, staff=True)
    admin_action(staff_a_page, base, "payeeaccount", account.pk, "confirm_accounts")
    staff_a_page.get_by_role("button", name="確認済みにする").click()
    expect(staff_a_page.locator(".messagelist")).to_contain_text("1件の口座を確認済みにしました")
    shop_page.reload()
    expect(shop_page.locator("main")).to_contain_text("確認済み")

    # 2. The shop redeems at the till; one use is undone from the log with a reason.
    redeem(shop_page, base, shop, first, 1200)
    redeem(shop_page, base, shop, second, 800)
    redeem(shop_page, base, shop, second, 300)
    shop_page.goto(f"{base}/shops/manage/{shop.pk}/redeem/log/")
    shop_page.get_by_role("link", name="取り消す").first.click()
    shop_page.fill("textarea[name=reason], input[name=reason]", "金額の打ち間違い")
    shop_page.get_by_role("button", name=re.compile("300円の利用を取り消す")).click()
    shop_page.goto(f"{base}/shops/manage/{shop.pk}/redeem/log/")
    expect(shop_page.locator(".till-day")).to_contain_text("2,000円")
    expect(shop_page.locator(".till-day")).to_contain_text("金額の打ち間違い")

    # 3. Staff A closes the period and checks; staff B approves; A may not approve.
    staff_a_page.goto(base + "/admin/settlements/settlementrun/")
    staff_a_page.locator("#content .object-tools a.addlink").click()
    expect(staff_a_page.locator("h1")).to_have_text("精算期間を締める")
    staff_a_page.select_option("select[name=project]", str(project.pk))
    staff_a_page.fill("input[name=period_end]", today.isoformat())
    check_screen(staff_a_page, "journey-start-run-desktop")
    staff_a_page.locator("#content form [type=submit]").click()
    expect(staff_a_page.locator(".messagelist")).to_contain_text("明細を 1 件作成しました")
    check_screen(staff_a_page, "journey-run-desktop")
    statement = Statement.objects.get(shop=shop)
    assert statement.face_value == 2000 and statement.status == StatementStatus.DRAFT
    run_url = staff_a_page.url

    admin_action(staff_a_page, base, "statement", statement.pk, "check_statements")
    expect(staff_a_page.locator(".messagelist")).to_contain_text("確認済み")
    admin_action(staff_a_page, base, "statement", statement.pk, "approve_statements")
    expect(staff_a_page.locator(".messagelist .error")).to_contain_text(
        "精算期間を作成した職員は、その明細を承認できません"
    )
    staff_b_page = page_for("desktop")
    sign_in(staff_b_page, base, staff_b.email, staff=True)
    admin_action(staff_b_page, base, "statement", statement.pk, "approve_statements")
    expect(staff_b_page.locator(".messagelist")).to_contain_text("承認済み")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.APPROVED and statement.approved_by == staff_b

    # 4. The bank file from the period's page, read back as a bank would.
    staff_a_page.goto(run_url)
    assert below_the_form_full_width(staff_a_page)
    with staff_a_page.expect_download() as info:
        staff_a_page.get_by_role("button", name="全銀協形式").click()
    parsed = bank_file.parse(open(info.value.path(), "rb").read())
    statement.refresh_from_db()
    assert (parsed.count, parsed.total) == (1, statement.amount_to_pay)
    assert parsed.header["transfer_date"] == statement.run.payment_date.strftime("%m%d")
    (transfer,) = parsed.transfers
    assert int(transfer["amount"]) == statement.amount_to_pay
    assert transfer["account_number"] == "1234567" and transfer["bank_code"] == "0001"
    assert transfer["payee_name"] == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert statement.status == StatementStatus.EXPORTED
    # The CSV as well: the statements are in a file already, so not a second payment but
    # the same statements again, from the export's record.
    staff_a_page.reload()
    staff_a_page.get_by_role("button", name="CSV").click()
    refused = staff_a_page.locator(".messagelist .error")
    expect(refused).to_contain_text("すでに振込データに出力済み")
    check_screen(staff_a_page, "journey-run-exported-desktop")
    staff_a_page.get_by_role("link", name=re.compile("全銀協形式")).click()
    expect(staff_a_page.locator("h2")).to_contain_text(["振込データの再ダウンロード"])
    assert below_the_form_full_width(staff_a_page)
    with staff_a_page.expect_download() as info:
        staff_a_page.get_by_role("button", name="CSV").click()
    csv_text = open(info.value.path(), encoding="utf-8-sig").read()
    assert f",1234567,ﾔﾏﾀﾞ ﾀﾛｳ,{statement.amount_to_pay}," in csv_text

    # 5. The shop's statement: payment date, amounts, printable notice, CSV.
    shop_page.goto(f"{base}/shops/manage/{shop.pk}/")
    shop_page.get_by_role("link", name=re.compile("精算明細")).click()
    row = shop_page.locator("tbody tr").first
    expect(row).to_contain_text(statement.run.payment_date.isoformat())
    expect(row).to_contain_text(f"{statement.amount_to_pay:,}円")
    check_screen(shop_page, "journey-statements-phone")
    row.get_by_role("link").click()
    expect(shop_page.locator("main")).to_contain_text("支払予定日")
    expect(shop_page.locator(".statement-totals")).to_contain_text("2,000円")
    check_screen(shop_page, "journey-statement-phone")
    # On a phone the lines' box scrolls sideways; a time or a ticket's code is never broken
    # over lines (they were, a character a line, in a squeezed table).
    assert too_wide(shop_page) == []
    assert lines_of(shop_page, ".statement-day tbody tr:first-child td:nth-child(1)") == 1
    assert lines_of(shop_page, ".statement-day tbody tr:first-child td:nth-child(3)") == 1
    with shop_page.expect_download() as info:
        shop_page.get_by_role("button", name="CSVでダウンロード").click()
    rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read())))
    assert any(str(statement.amount_to_pay) in cell for r in rows for cell in r)
    shop_page.get_by_role("link", name="印刷用の支払通知書").click()
    expect(shop_page.locator("body")).to_contain_text(f"{statement.amount_to_pay:,}円")
    check_screen(shop_page, "journey-statement-print-phone")

    # 6. Staff mark it paid with the bank's reference; the shop sees it.
    admin_action(staff_a_page, base, "statement", statement.pk, "mark_paid")
    staff_a_page.fill("input[name=reference]", "ZB-20261208-0001")
    staff_a_page.get_by_role("button", name="支払済みにする").click()
    expect(staff_a_page.locator(".messagelist")).to_contain_text("支払済み")
    shop_page.goto(f"{base}/shops/manage/{shop.pk}/statements/")
    row = shop_page.locator("tbody tr").first
    expect(row).to_contain_text("お支払い済み")
    expect(row).to_contain_text("ZB-20261208-0001")
    expect(row).to_contain_text(today.isoformat())

    # 7. The programme's books balance; the figures read off the page add up.
    staff_a_page.goto(base + "/admin/")
    staff_a_page.get_by_role("link", name="プログラムの帳簿").click()
    staff_a_page.select_option("select[name=project]", str(project.pk))
    staff_a_page.get_by_role("button", name="表示する").click()
    expect(staff_a_page.locator(".messagelist .success")).to_contain_text("1円単位で一致")
    check_screen(staff_a_page, "journey-books-desktop")

    def figure(label):
        return staff_a_page.locator(f"th:text-is('{label}') + td").first.inner_text()

    issued, redeemed = yen(figure("発行チケット額")), yen(figure("利用額"))
    outstanding, expired = yen(figure("未使用残高")), yen(figure("期限切れ残高"))
    settled, awaiting = (yen(part) for part in figure("精算済み / 精算待ち").split("/"))
    assert issued == 4500 and redeemed == 2000
    assert issued == redeemed + outstanding + expired
    assert redeemed == settled + awaiting == 2000 + 0
