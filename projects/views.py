"""The public catalog (cacheable, the same for everyone) and the shop operators' pages.

Public views are marked `public_page` and never look at `request.user`, the session or a CSRF
token: a shared cache may keep them. Operator views are `never_cache` and reach a shop only
through `Shop.objects.operated_by(request.user)`: another shop's id is a 404.
"""

import csv
import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from kaika.cache import public_page
from kaika.downloads import private_download
from projects.forms import ListingForm, ShopApplicationForm, ShopProfileForm, ShopSearchForm
from projects.models import ListingReview, Project, Round, Shop, ShopRound
from projects.services import (
    CatalogError,
    listing_create,
    listing_update,
    listing_withdraw,
    shop_apply,
)
from projects.shortcuts import operated_listing, operated_shop

SHOPS_PER_PAGE = 24


def current_project() -> Project | None:
    return Project.objects.filter(is_published=True).first()


def expire_public_copy_at(request, moment: datetime.datetime | None, now: datetime.datetime):
    """A public page that says "opens in 5 minutes" must not be served from a cache after the
    opening: cap its max-age at the next change of the round's status."""
    if moment is None or getattr(request, "kaika_public_max_age", None) is None:
        return
    seconds = max(int((moment - now).total_seconds()), 0)
    request.kaika_public_max_age = min(request.kaika_public_max_age, seconds)


def countdown(target: datetime.datetime | None, now: datetime.datetime) -> dict | None:
    if target is None:
        return None
    seconds = max(int((target - now).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return {
        "target": target,
        "days": days,
        "hours": hours,
        "minutes": minutes,
        "seconds": seconds,
    }


def round_context(round_: Round | None, now: datetime.datetime) -> dict:
    if round_ is None:
        return {"round": None}
    status = round_.status_at(now)
    return {
        "round": round_,
        "round_status": status,
        "countdown": None if round_.suspended else countdown(round_.next_change_at(now), now),
    }


# --- Public pages --------------------------------------------------------------------------


@public_page(max_age=60)
@require_safe
def home(request):
    now = timezone.now()
    project = current_project()
    context = {"project": project, "round": None}
    if project is not None:
        # Through the related manager, the round comes back with its project already set:
        # the template's links to the round cost no third query (tests/kaika/test_query_budgets).
        round_ = project.rounds.current_at(now).first()
        context.update(round_context(round_, now))
        if round_ is not None:
            expire_public_copy_at(request, round_.next_change_at(now), now)
    return render(request, "home.html", context)


@public_page(max_age=60)
@require_safe
def shop_list(request):
    project = current_project()
    form = ShopSearchForm(request.GET or None)
    shops = (
        Shop.objects.listed()
        .filter(project=project)
        .only("pk", "name", "name_kana", "category", "municipality", "photo", "opening_hours")
    )
    if form.is_valid():
        shops = shops.search(form.cleaned_data["q"])
        if form.cleaned_data["category"]:
            shops = shops.filter(category=form.cleaned_data["category"])
        if form.cleaned_data["municipality"]:
            shops = shops.filter(municipality=form.cleaned_data["municipality"])
    page = Paginator(shops, SHOPS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "projects/shop_list.html",
        {"project": project, "form": form, "page": page, "shops": page.object_list},
    )


# Kept longer than other public pages by shared caches, and so not by browsers (their copy
# would add its own minute to the front's): settings.KAIKA_SHOP_PAGE_SHARED_MAX_AGE says why
# and what it means; the page tells at what time its figures were counted.
@public_page(max_age=60, shared_max_age_setting="KAIKA_SHOP_PAGE_SHARED_MAX_AGE", browser_max_age=0)
@require_safe
def shop_detail(request, shop_id: int):
    now = timezone.now()
    shop = get_object_or_404(Shop.objects.listed().select_related("project"), pk=shop_id)
    # Through the related managers, the round and the listings come back with their project
    # and shop already set: the template costs no further query.
    round_ = shop.project.rounds.current_at(now).first()
    participation = None
    listings = []
    if round_ is not None:
        participation = shop.participations.filter(round=round_).first()
        if participation is not None:
            listings = list(shop.listings.offered_in(round_))
        expire_public_copy_at(request, round_.next_change_at(now), now)
    return render(
        request,
        "projects/shop_detail.html",
        {
            "shop": shop,
            "project": shop.project,
            "participation": participation,
            "listings": listings,
            "counted_at": now,
            **round_context(round_, now),
        },
    )


@public_page(max_age=60)
@require_safe
def project_detail(request, slug: str):
    now = timezone.now()
    project = get_object_or_404(Project, slug=slug, is_published=True)
    rounds = [(r, r.status_at(now)) for r in project.rounds.all()]
    return render(
        request,
        "projects/project_detail.html",
        {"project": project, "rounds": rounds, "tickets_example": project.tickets_value(10_000)},
    )


@public_page(max_age=60)
@require_safe
def round_detail(request, slug: str, number: int):
    now = timezone.now()
    round_ = get_object_or_404(
        Round.objects.select_related("project"),
        project__slug=slug,
        project__is_published=True,
        number=number,
    )
    shops_count = Shop.objects.listed().filter(participations__round=round_).count()
    expire_public_copy_at(request, round_.next_change_at(now), now)
    return render(
        request,
        "projects/round_detail.html",
        {"project": round_.project, "shops_count": shops_count, **round_context(round_, now)},
    )


def static_page(template_name: str, context=dict):
    @public_page(max_age=3600)
    @require_safe
    def view(request):
        return render(request, template_name, {"project": current_project(), **context()})

    view.__name__ = template_name.rsplit("/", 1)[-1].removesuffix(".html")
    return view


faq = static_page("projects/faq.html")
terms = static_page(
    "projects/terms.html",
    lambda: {"terms_effective": datetime.date.fromisoformat(settings.KAIKA_TERMS_VERSION)},
)
privacy = static_page("projects/privacy.html")
# 特定商取引法に基づく表記: the seller comes from settings (the `office` context), the prices
# and caps from the project; the same page for everyone, like the terms.
legal = static_page(
    "projects/legal.html",
    lambda: {"reservation_minutes": settings.KAIKA_ORDER_RESERVATION_MINUTES},
)


# --- Shop operators ------------------------------------------------------------------------


@never_cache
@login_required
@require_safe
def manage_index(request):
    shops = Shop.objects.operated_by(request.user).order_by("-applied_at")
    return render(request, "projects/manage/index.html", {"shops": shops})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def shop_apply_view(request):
    project = current_project()
    if project is None:
        raise Http404
    form = ShopApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        shop = shop_apply(
            applicant=request.user, project=project, data=form.cleaned_data, now=timezone.now()
        )
        messages.success(
            request, _("申請を受け付けました。事務局が確認のうえ、結果をメールでお知らせします。")
        )
        return redirect("projects:manage_shop", shop_id=shop.pk)
    return render(request, "projects/manage/apply.html", {"form": form, "project": project})


@never_cache
@login_required
@require_safe
def manage_shop(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    listings = shop.listings.order_by("-is_standard", "-is_active", "pk")
    return render(request, "projects/manage/shop.html", {"shop": shop, "listings": listings})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_shop_edit(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    form = ShopProfileForm(request.POST or None, request.FILES or None, instance=shop)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("店舗情報を更新しました。"))
        return redirect("projects:manage_shop", shop_id=shop.pk)
    return render(request, "projects/manage/shop_edit.html", {"shop": shop, "form": form})


# The listing form's second button: keep it as a draft instead of asking for review.
SAVE_AS_DRAFT = "save_draft"
REVIEW_MESSAGES = {
    ListingReview.DRAFT: gettext_lazy(
        "リターンを下書きとして保存しました。販売するには審査を申請してください。"
    ),
    ListingReview.PENDING: gettext_lazy(
        "リターンを保存し、事務局に審査を申請しました。承認されるまで販売されません"
        "(結果はメールでお知らせします)。"
    ),
    ListingReview.APPROVED: gettext_lazy("リターンを更新しました。"),
}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_listing_create(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    form = ListingForm(request.POST or None, request.FILES or None, shop=shop)
    if request.method == "POST" and form.is_valid():
        try:
            listing = listing_create(
                shop=shop,
                data=form.listing_data(),
                rounds=list(form.cleaned_data["rounds"]),
                submit=SAVE_AS_DRAFT not in request.POST,
                now=timezone.now(),
            )
        except CatalogError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, REVIEW_MESSAGES[listing.review_status])
            return redirect("projects:manage_shop", shop_id=shop.pk)
    return render(
        request, "projects/manage/listing_form.html", {"shop": shop, "form": form, "listing": None}
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_listing_edit(request, shop_id: int, listing_id: int):
    shop = operated_shop(request, shop_id)
    listing = operated_listing(shop, listing_id)
    if listing.is_standard:
        messages.info(request, str(CatalogError("standard_listing")))
        return redirect("projects:manage_shop", shop_id=shop.pk)
    form = ListingForm(request.POST or None, request.FILES or None, instance=listing, shop=shop)
    if request.method == "POST" and form.is_valid():
        try:
            listing = listing_update(
                listing=listing,
                data=form.listing_data(),
                rounds=list(form.cleaned_data["rounds"]),
                submit=SAVE_AS_DRAFT not in request.POST,
                now=timezone.now(),
            )
        except CatalogError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, REVIEW_MESSAGES[listing.review_status])
            return redirect("projects:manage_shop", shop_id=shop.pk)
    return render(
        request,
        "projects/manage/listing_form.html",
        {"shop": shop, "form": form, "listing": listing},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_listing_withdraw(request, shop_id: int, listing_id: int):
    shop = operated_shop(request, shop_id)
    listing = operated_listing(shop, listing_id)
    if listing.is_standard:
        messages.info(request, str(CatalogError("standard_listing")))
        return redirect("projects:manage_shop", shop_id=shop.pk)
    # The hidden "confirm" field makes the withdrawal a deliberate act of this page's form.
    if request.method == "POST" and request.POST.get("confirm") == "1":
        deleted = listing_withdraw(listing=listing)
        messages.success(
            request,
            _("リターンを削除しました。")
            if deleted
            else _("販売実績があるため、リターンを販売停止にしました(履歴は残ります)。"),
        )
        return redirect("projects:manage_shop", shop_id=shop.pk)
    return render(
        request, "projects/manage/listing_withdraw.html", {"shop": shop, "listing": listing}
    )


def figures_rows(shop: Shop) -> list[ShopRound]:
    return list(ShopRound.objects.filter(shop=shop).select_related("round"))


@never_cache
@login_required
@require_safe
def manage_figures(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    return render(
        request,
        "projects/manage/figures.html",
        {
            "shop": shop,
            "rows": figures_rows(shop),
            "listings": shop.listings.order_by("-is_standard", "pk"),
        },
    )


FIGURES_CSV_HEADER = (
    gettext_lazy("期"),
    gettext_lazy("募集開始"),
    gettext_lazy("募集終了"),
    gettext_lazy("支援者数"),
    gettext_lazy("口数"),
    gettext_lazy("支援額(円)"),
    gettext_lazy("発行チケット額(円)"),
    gettext_lazy("利用済みチケット額(円)"),
)


@private_download
def manage_figures_csv(request, shop_id: int):
    shop = operated_shop(request, shop_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kaika-shop-{shop.pk}-figures.csv"'
    # A byte-order mark so that Excel, which shops will open this with, reads UTF-8 Japanese.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([str(h) for h in FIGURES_CSV_HEADER])
    for row in figures_rows(shop):
        writer.writerow(
            [
                row.round.label,
                timezone.localtime(row.round.opens_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(row.round.closes_at).strftime("%Y-%m-%d %H:%M"),
                row.supporters_count,
                row.units_sold,
                row.amount_raised,
                row.tickets_issued_amount,
                row.tickets_used_amount,
            ]
        )
    return response
