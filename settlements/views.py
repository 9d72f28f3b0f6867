"""The shop operator's pages of settling: where the shop is paid.

Private (`never_cache`), and a shop is reached only through `operated_shop`: another shop's
id is a 404. The account number is shown masked here, to operators too: only staff holding
`settlements.view_full_account` see it whole, in admin.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from projects.shortcuts import operated_shop
from settlements.forms import PayeeAccountForm
from settlements.models import ChangeKind, PayeeAccount, PayeeAccountChange
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
