"""The lottery's public page (the seed's hash before the draw, the seed after) and its
published list, both the same for everyone and cacheable; the application form and My page's
list of applications, per-user and never cached."""

import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from kaika.cache import public_page
from lottery.forms import ApplicationForm
from lottery.models import Allotment, AllotmentState, Application, DrawPass, LotteryRound
from lottery.services import (
    LotteryError,
    application_save,
    application_withdraw,
    lottery_publication,
    offered_listings,
)


def _lottery(**lookup) -> LotteryRound:
    return get_object_or_404(
        LotteryRound.objects.select_related("round__project"),
        round__project__is_published=True,
        **lookup,
    )


def _cap_public_copy(request, moment: datetime.datetime | None, now) -> None:
    # "Accepting applications" must not be served from a cache after the closing second.
    if moment is None or getattr(request, "kaika_public_max_age", None) is None:
        return
    seconds = max(int((moment - now).total_seconds()), 0)
    request.kaika_public_max_age = min(request.kaika_public_max_age, seconds)


@public_page(max_age=60)
@require_safe
def lottery_detail(request, slug: str, round_number: int):
    now = timezone.now()
    lottery = _lottery(round__project__slug=slug, round__number=round_number)
    round_ = lottery.round
    _cap_public_copy(request, round_.next_change_at(now), now)
    return render(
        request,
        "lottery/lottery_detail.html",
        {
            "lottery": lottery,
            "round": round_,
            "project": round_.project,
            "round_status": round_.status_at(now),
            "passes": DrawPass.objects.filter(lottery=lottery).order_by("number"),
            "applications_count": lottery.applications.count(),
        },
    )


@public_page(max_age=60)
@require_safe
def lottery_applications(request, slug: str, round_number: int):
    """The published list (pseudonymous ids and wishes, the passes' inputs and results): only
    once the window has closed, when it can no longer change."""
    now = timezone.now()
    lottery = _lottery(round__project__slug=slug, round__number=round_number)
    if now < lottery.round.closes_at:
        raise Http404
    response = HttpResponse(
        json.dumps(lottery_publication(lottery), ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="lottery-{slug}-{round_number}-applications.json"'
    )
    return response


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request):
    data = request.POST if request.method == "POST" else request.GET
    round_id = _int(data.get("round"))
    if round_id is None:
        raise Http404
    lottery = _lottery(round_id=round_id)
    round_ = lottery.round
    application = (
        Application.objects.filter(lottery=lottery, supporter=request.user)
        .prefetch_related("lines")
        .first()
    )
    units = {line.listing_id: line.units for line in application.lines.all()} if application else {}
    # A listing to add: from a shop page's "apply" button (GET) or kept in the form (POST).
    added = [pk for pk in map(_int, data.getlist("listing")) if pk is not None][:20]
    wanted = set(units) | set(added)
    listings = list(
        offered_listings(round_).filter(pk__in=wanted).order_by("shop__name_kana", "pk")
    )
    if request.method == "GET" and added and not {pk for pk in added} <= {li.pk for li in listings}:
        messages.error(request, _("選ばれたリターンは、この期には申し込めません。"))
    initial = dict(units)
    if request.method == "GET" and (n := _int(request.GET.get("units"))) is not None:
        for pk in added:
            initial.setdefault(pk, max(0, n))
    form = ApplicationForm(
        request.POST if request.method == "POST" else None, listings=listings, initial_units=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            if not any(form.wishes().values()) and application is not None:
                application_withdraw(application=application, now=timezone.now())
                messages.success(request, _("抽選への申込を取り下げました。"))
                return redirect("lottery:my_applications")
            application_save(
                lottery=lottery, supporter=request.user, wishes=form.wishes(), now=timezone.now()
            )
        except LotteryError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("抽選に申し込みました。受付期間中は、いつでも変更できます。")
            )
            return redirect("lottery:my_applications")
    return render(
        request,
        "lottery/application_form.html",
        {
            "lottery": lottery,
            "round": round_,
            "project": round_.project,
            "application": application,
            "form": form,
            "is_open": round_.is_open_at(timezone.now()),
        },
    )


@never_cache
@login_required
@require_safe
def my_applications(request):
    now = timezone.now()
    applications = list(
        Application.objects.filter(supporter=request.user)
        .select_related("lottery__round__project")
        .prefetch_related("lines__listing__shop")
        .order_by("-created_at")[:50]
    )
    allotments: dict[int, list[Allotment]] = {}
    for allotment in Allotment.objects.filter(application__in=applications).select_related(
        "order", "draw_pass", "listing__shop"
    ):
        allotments.setdefault(allotment.application_id, []).append(allotment)
    rows = []
    for application in applications:
        mine = allotments.get(application.pk, [])
        rows.append(
            {
                "application": application,
                "state": _state(application, mine, now),
                "allotments": [(a, a.state_at(now)) for a in mine],
                "edit_url": reverse("lottery:application_edit")
                + f"?round={application.lottery.round_id}",
            }
        )
    return render(request, "lottery/my_applications.html", {"rows": rows, "now": now})


def _state(application: Application, allotments: list[Allotment], now) -> str:
    """The application's state as My page says it (each allotment's state is shown too)."""
    lottery, round_ = application.lottery, application.lottery.round
    if now < round_.closes_at:
        return _("受付中")
    if lottery.drawn_at is None:
        return _("抽選待ち")
    if not allotments:
        return _("落選")
    states = {allotment.state_at(now) for allotment in allotments}
    for state in (AllotmentState.WON, AllotmentState.WON_REDRAW, AllotmentState.PAID):
        if state in states:
            return state.label
    return AllotmentState.LAPSED.label
