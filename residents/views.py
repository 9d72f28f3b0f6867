"""The supporter's code entry, under My page: per-user, never cached."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ops.exposure import client_ip
from residents.forms import CodeForm
from residents.models import ResidentCode
from residents.services import ResidentCodeError, resident_code_redeem


def _next_url(request) -> str:
    """Where the supporter was sent from (the refused order's page), if it is ours."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def code_enter(request):
    next_url = _next_url(request)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            code = resident_code_redeem(
                supporter=request.user,
                typed=form.cleaned_data["code"],
                client_ip=client_ip(request),
                now=timezone.now(),
            )
        except ResidentCodeError as error:
            form.add_error("code", error.message)
            status = 429 if error.code == "rate_limited" else 200
        else:
            if code.repeated:
                text = _("この参加コードは、すでにこのアカウントに登録されています。")
            else:
                text = _("参加コードを登録しました。「%(project)s」にお申し込みいただけます。") % {
                    "project": code.project.name
                }
            messages.success(request, text)
            return redirect(next_url or "residents:code_enter")
    held = (
        ResidentCode.objects.filter(used_by=request.user)
        .select_related("project")
        .order_by("-used_at", "-pk")
    )
    return render(
        request,
        "residents/code_enter.html",
        {"form": form, "held": held, "next": next_url},
        status=status,
    )
