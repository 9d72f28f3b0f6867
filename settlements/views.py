"""The shop operator's pages of settling: where the shop is paid.

Private (`never_cache`), and a shop is reached only through `operated_shop`: another shop's
id is a 404. The account number is shown masked here, to operators too: only staff holding
`settlements.view_full_account` see it whole, in admin.
"""

import csv
import dataclasses
import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from kaika.downloads import private_download
from projects.shortcuts import operated_shop
from settlements.forms import PayeeAccountForm
from settlements.models import (
    ChangeKind,
    LineKind,
    PayeeAccount,
    PayeeAccountChange,
    Statement,
    StatementLine,
)
from settlements.services import payee_account_save

# Changes listed on the operator's page (the full log is in admin).
RECENT_CHANGES = 10


@never_cache
@login_required
@require_safe
def payee_detail(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    account = PayeeAccount.objects.filter(shop=shop).first()
    changes = (
        PayeeAccountChange.objects.filter(account=account).select_related("by")[:RECENT_CHANGES]
        if account is not None
        else []
    )
    return render(
        request,
        "settlements/payee_detail.html",
        {"shop": shop, "account": account, "changes": changes},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def payee_edit(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    account = PayeeAccount.objects.filter(shop=shop).first()
    # The current details, but never the number: it is typed again for any change.
    initial = (
        {
            "bank_code": account.bank_code,
            "branch_code": account.branch_code,
            "account_type": account.account_type,
            "holder_name": account.holder_name,
        }
        if account is not None
        else {}
    )
    form = PayeeAccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        change = payee_account_save(
            shop=shop, details=form.details(), by=request.user, now=timezone.now()
        )
        if change is None:
            messages.info(request, _("登録済みの口座と同じ内容です。変更はありません。"))
        else:
            messages.success(
                request,
                _("振込先口座を登録しました。")
                if change.kind == ChangeKind.REGISTERED
                else _("振込先口座を変更しました。"),
            )
        return redirect("settlements:payee_detail", shop_id=shop.pk)
    return render(
        request,
        "settlements/payee_form.html",
        {"shop": shop, "account": account, "form": form},
    )


# --- The shop's statements -------------------------------------------------------------------

STATEMENTS_PER_PAGE = 12


@never_cache
@login_required
@require_safe
def statement_list(request, shop_id: int):
    """The shop's statements, newest period first, from staff's approval on
    (Statement.objects.shown_to_shop)."""
    shop = operated_shop(request, shop_id)
    statements = Statement.objects.shown_to_shop().filter(shop=shop).select_related("run")
    page = Paginator(statements.order_by("-run__period_end", "-pk"), STATEMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "settlements/statement_list.html", {"shop": shop, "page": page})


@dataclasses.dataclass
class Day:
    """One day of a statement's lines and its subtotals."""

    day: datetime.date | None
    lines: list
    face_value: int = 0
    supporter_part: int = 0
    premium_part: int = 0
    carried: int = 0


def _shop_statement(request, shop_id: int, statement_id: int):
    shop = operated_shop(request, shop_id)
    statement = get_object_or_404(
        Statement.objects.shown_to_shop().filter(shop=shop).select_related("run"),
        pk=statement_id,
    )
    return shop, statement


def _lines(statement: Statement) -> list[StatementLine]:
    lines = list(
        statement.lines.select_related(
            "ticket_use__redemption__wallet",
            "reversed_use__redemption__wallet",
            "returned_statement__run",
        ).order_by("used_at", "pk")
    )
    for line in lines:
        use = line.ticket_use or line.reversed_use
        line.wallet_tail = use.redemption.wallet.code[-6:] if use else ""
        line.original_used_at = line.reversed_use.used_at if line.reversed_use else None
        # A carried line's amount is the statement it brings (returned, or below zero).
        line.carried = line.returned_statement.amount_to_pay if line.returned_statement else 0
    return lines


def _days(lines: list[StatementLine]) -> list[Day]:
    days: dict[datetime.date, Day] = {}
    for line in lines:
        day = timezone.localdate(line.used_at)
        entry = days.setdefault(day, Day(day=day, lines=[]))
        entry.lines.append(line)
        entry.face_value += line.face_value
        entry.supporter_part += line.supporter_part
        entry.premium_part += line.premium_part
        entry.carried += line.carried
    return list(days.values())


def _redemptions(lines: list[StatementLine]) -> int:
    """The payments at the till settled by these lines: what the operator counts. One payment
    may use several tickets, each a line of its own."""
    return len({line.ticket_use.redemption_id for line in lines if line.kind == LineKind.USE})


def _statement_context(shop, statement):
    lines = _lines(statement)
    count = _redemptions(lines)
    return {
        "shop": shop,
        "statement": statement,
        "days": _days(lines),
        "count": count,
        # Fewer payments than use lines: say why the rows outnumber the count.
        "split": count < sum(1 for line in lines if line.kind == LineKind.USE),
        "kinds": LineKind,
        "office": settings.KAIKA_OFFICE,
        "office_is_demo": settings.KAIKA_OFFICE_IS_DEMO,
    }


@never_cache
@login_required
@require_safe
def statement_detail(request, shop_id: int, statement_id: int):
    shop, statement = _shop_statement(request, shop_id, statement_id)
    return render(request, "settlements/statement_detail.html", _statement_context(shop, statement))


@never_cache
@login_required
@require_safe
def statement_print(request, shop_id: int, statement_id: int):
    """The statement as a paper 支払通知書: the office as its issuer, for the shop's books."""
    shop, statement = _shop_statement(request, shop_id, statement_id)
    return render(request, "settlements/statement_print.html", _statement_context(shop, statement))


STATEMENT_CSV_HEADER = (
    gettext_lazy("日付"),
    gettext_lazy("時刻"),
    gettext_lazy("種類"),
    gettext_lazy("番号(末尾)"),
    gettext_lazy("内容"),
    gettext_lazy("額面(円)"),
    gettext_lazy("支援者の負担分(円)"),
    gettext_lazy("プレミアム分(円)"),
    gettext_lazy("繰越(円)"),
)


def _line_note(line: StatementLine) -> str:
    if line.original_used_at:
        at = timezone.localtime(line.original_used_at)
        return _("%(at)s の利用の取消") % {"at": f"{at:%Y-%m-%d %H:%M}"}
    if line.returned_statement_id:
        return _("%(day)s締めの明細から") % {
            "day": f"{line.returned_statement.run.period_end:%Y-%m-%d}"
        }
    return ""


@private_download
def statement_csv(request, shop_id: int, statement_id: int):
    """The statement's lines, one row each, then its totals: for the shop's bookkeeping."""
    shop, statement = _shop_statement(request, shop_id, statement_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"kaika-shop-{shop.pk}-statement-{statement.run.period_end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A byte-order mark so that Excel, which shops will open this with, reads UTF-8 Japanese
    # (as projects.views.manage_figures_csv).
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([str(h) for h in STATEMENT_CSV_HEADER])
    lines = _lines(statement)
    for line in lines:
        at = timezone.localtime(line.used_at)
        writer.writerow(
            [
                f"{at:%Y-%m-%d}",
                f"{at:%H:%M}",
                line.get_kind_display(),
                line.wallet_tail,
                _line_note(line),
                line.face_value,
                line.supporter_part,
                line.premium_part,
                line.carried,
            ]
        )
    writer.writerow([])
    writer.writerow([_("利用件数(お会計の回数)"), "", "", "", "", _redemptions(lines)])
    for label, value in (
        (_("利用額(額面)"), statement.face_value),
        (_("うち支援者の負担分"), statement.supporter_part),
        (_("うちプレミアム分"), statement.premium_part),
        (_("手数料"), -statement.fee),
        (_("繰越"), statement.carried),
        (_("支払額"), statement.amount_to_pay),
    ):
        writer.writerow([str(label), "", "", "", "", value])
    return response
