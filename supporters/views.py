import json
from dataclasses import asdict

from allauth.mfa.recovery_codes.views import DownloadRecoveryCodesView
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kaika.cache import public_page
from kaika.data_rights import forfeits_on_erasure
from kaika.downloads import private_download
from ops.exposure import exposure_record
from ops.models import ExposureAction
from supporters.forms import AccountDeleteForm, ProfileForm
from supporters.postal import lookup
from supporters.services import user_data_export, user_delete


@never_cache
@login_required
def mypage(request):
    user = request.user
    exposure_record(request, subject=user, action=ExposureAction.MY_PAGE)
    # The shops they operate (a link to each one's management), in the one query that also
    # decides two-factor: it is offered to those whose account opens other people's data.
    operated_shops = list(user.operated_shops.only("pk", "name").order_by("name", "pk"))
    offer_two_factor = user.is_staff or bool(operated_shops)
    return render(
        request,
        "supporters/mypage.html",
        {
            "profile": user,
            "offer_two_factor": offer_two_factor,
            "operated_shops": operated_shops,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        exposure_record(request, subject=request.user, action=ExposureAction.PROFILE_UPDATED)
        messages.success(request, _("会員情報を更新しました。"))
        return redirect(next_url or "supporters:mypage")
    exposure_record(request, subject=request.user, action=ExposureAction.PROFILE_VIEWED)
    return render(request, "supporters/profile_edit.html", {"form": form, "next": next_url})


@public_page(max_age=60 * 60 * 24)
def postal_lookup(request, postal_code: str):
    """Public and cacheable: the same answer for everyone, and no personal data in it."""
    address = lookup(postal_code)
    if address is None:
        return JsonResponse({"found": False}, status=404)
    return JsonResponse({"found": True, **asdict(address)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def data_rights(request):
    """Download everything held about me; delete my account (saying first what it gives up)."""
    forfeits = forfeits_on_erasure(user=request.user, today=timezone.localdate())
    form = AccountDeleteForm(request.POST or None, user=request.user, forfeits=forfeits)
    if request.method == "POST" and form.is_valid():
        user_delete(user=request.user, now=timezone.now())
        logout(request)
        return redirect("supporters:account_deleted")
    return render(request, "supporters/data_rights.html", {"form": form, "forfeits": forfeits})


@private_download
def data_export(request):
    data = user_data_export(user=request.user, now=timezone.now())
    exposure_record(request, subject=request.user, action=ExposureAction.DATA_EXPORT)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="kaika-my-data.json"'
    return response


class RecoveryCodesDownloadView(DownloadRecoveryCodesView):
    """allauth's download of the recovery codes, answered to a POST only: allauth's own is a GET
    of one URL for everyone, which a cache ignoring headers would hand to the next person."""

    def post(self, request, *args, **kwargs):
        return self.get(request, *args, **kwargs)


recovery_codes_download = private_download(RecoveryCodesDownloadView.as_view())


@never_cache
def account_deleted(request):
    return render(request, "supporters/account_deleted.html")
