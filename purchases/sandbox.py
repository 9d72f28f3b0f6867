"""The built-in sandbox payment provider: a hosted card page at /sandbox-pay/..., standing in
for a real provider's. It never stores or logs what is posted to it, and only hands back a
signed result. Like a provider it keeps its checkouts' state (the PaymentAttempt it was
opened for): a completed checkout cannot be paid again, a declined card leaves it open for
another card, and it ends with the reservation.

Test cards (any future expiry, any 3-digit security code), as at Stripe:
  4242 4242 4242 4242  succeeds
  4000 0000 0000 0002  is declined (the page asks for another card)
  4000 0000 0000 5126  succeeds, and a refund of the payment fails
  4000 0000 0000 0119  times out (no result comes back; the order stays pending and expires)
"""

import secrets

from django import forms
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from purchases.models import PaymentAttempt, PaymentAttemptStatus
from purchases.payments import (
    SANDBOX_REFUND_FAILS,
    SandboxGateway,
    get_gateway,
    load_sandbox_session,
    sign_sandbox_result,
)
from purchases.services import payment_attempt_closed

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_REFUND_FAILS = "4000000000005126"
CARD_TIMES_OUT = "4000000000000119"
TEST_CARDS = (
    (CARD_SUCCEEDS, _("成功")),
    (CARD_DECLINED, _("カード会社により拒否")),
    (CARD_REFUND_FAILS, _("成功(返金は失敗)")),
    (CARD_TIMES_OUT, _("タイムアウト")),
)


DECLINED = _("カードが承認されませんでした。別のカードでお試しください。")


class CardForm(forms.Form):
    # Plain inputs; autocomplete hints let a browser fill a card, never our servers keep it.
    card_number = forms.CharField(
        label=_("カード番号"),
        max_length=23,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiry = forms.CharField(
        label=_("有効期限(MM/YY)"),
        max_length=5,
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp"}),
    )
    cvc = forms.CharField(
        label=_("セキュリティコード"),
        max_length=4,
        widget=forms.PasswordInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def clean_card_number(self):
        number = "".join(c for c in self.cleaned_data["card_number"] if c.isdigit())
        if number not in {card for card, _label in TEST_CARDS}:
            # The number itself is never echoed back into the page or an error message.
            raise forms.ValidationError(_("テスト用のカード番号を入力してください。"))
        return number


@sensitive_variables("form", "number")
@sensitive_post_parameters("card_number", "expiry", "cvc")
@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request, token: str):
    if get_gateway().name != SandboxGateway.name:
        raise Http404
    try:
        session = load_sandbox_session(token)
    except signing.BadSignature:
        return HttpResponseBadRequest("invalid payment session")
    context = {
        "amount": session["a"],
        "order_code": session["o"],
        "test_cards": TEST_CARDS,
        "back_url": session["b"],
    }
    now = timezone.now()
    with transaction.atomic():
        # Locked: two tabs submitting the same page at once make one payment.
        attempt = (
            PaymentAttempt.objects.select_for_update()
            .filter(provider=SandboxGateway.name, checkout_id=session["c"])
            .first()
        )
        if attempt is None:
            return HttpResponseBadRequest("invalid payment session")
        if not attempt.is_open_at(now):
            complete = attempt.status == PaymentAttemptStatus.COMPLETE
            return render(
                request,
                "purchases/sandbox/ended.html",
                {**context, "complete": complete},
                status=200 if complete else 410,
            )
        form = CardForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            number = form.cleaned_data["card_number"]
            if number == CARD_TIMES_OUT:
                return render(request, "purchases/sandbox/timeout.html", context, status=504)
            if number == CARD_DECLINED:
                form.add_error(None, DECLINED)
            else:
                prefix = SANDBOX_REFUND_FAILS if number == CARD_REFUND_FAILS else "sbx_"
                reference = prefix + secrets.token_hex(12)
                payment_attempt_closed(
                    provider=SandboxGateway.name,
                    checkout_id=attempt.checkout_id,
                    status=PaymentAttemptStatus.COMPLETE,
                    now=now,
                    payment_reference=reference,
                )
                result = sign_sandbox_result(
                    {
                        "o": session["o"],
                        "a": session["a"],
                        "ref": reference,
                        "ok": True,
                        "at": now.isoformat(),
                    }
                )
                separator = "&" if "?" in session["r"] else "?"
                return HttpResponseRedirect(f"{session['r']}{separator}result={result}")
    # The form is re-rendered empty: a mistyped number is not echoed back.
    if form.is_bound:
        form.data = {}
    return render(request, "purchases/sandbox/checkout.html", {**context, "form": form})


app_name = "sandbox_pay"
urlpatterns = [path("<str:token>/", checkout, name="checkout")]
