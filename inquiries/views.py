from allauth.account.adapter import get_adapter
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from inquiries.forms import InquiryForm
from inquiries.models import Category, Inquiry
from inquiries.services import InquiryError, inquiry_create
from ops.exposure import exposure_record
from ops.models import ExposureAction

# The completion page shows only what this session sent: the reference is kept in the
# session, never in the URL, so no other visitor (or shared cache) can open it.
SENT_SESSION_KEY = "inquiries_sent_reference"

# ?topic= on the contact form: where another page sends the reader to ask for one thing.
TOPICS = {
    # My page's tickets, after the usage period, when the project refunds unused value.
    "unused_refund": {
        "category": Category.TICKETS,
        "subject": _("利用期間を過ぎたチケットの残額の返金のお願い"),
    },
}


@never_cache
@require_http_methods(["GET", "POST"])
def contact(request):
    user = request.user
    if request.method == "POST":
        form = InquiryForm(request.POST, user=user)
        if form.is_valid():
            try:
                inquiry = inquiry_create(
                    **form.inquiry_data(),
                    user=user,
                    client_ip=get_adapter(request).get_client_ip(request),
                    language=translation.get_language() or "ja",
                    now=timezone.now(),
                )
            except InquiryError as error:
                form.add_error(None, error.message)
                return render(request, "inquiries/contact_form.html", {"form": form}, status=429)
            request.session[SENT_SESSION_KEY] = inquiry.reference
            exposure_record(
                request,
                subject=user if user.is_authenticated else None,
                email=inquiry.email,
                action=ExposureAction.CONTACT_SENT,
            )
            return redirect("inquiries:contact_sent")
    else:
        initial = {"idempotency_key": InquiryForm.new_key()}
        if user.is_authenticated:
            initial |= {"name": user.full_name, "email": user.email}
        # A page that sends the reader here for one purpose names it: the form starts with
        # that purpose's category and subject (nothing else is taken from the address).
        initial |= TOPICS.get(request.GET.get("topic", ""), {})
        form = InquiryForm(initial=initial, user=user)
    if user.is_authenticated:
        # Prefilled with the supporter's name and email, or echoing what they typed.
        exposure_record(request, subject=user, action=ExposureAction.CONTACT_FORM_SHOWN)
    return render(request, "inquiries/contact_form.html", {"form": form})


@never_cache
@require_GET
def contact_sent(request):
    reference = request.session.get(SENT_SESSION_KEY)
    if not reference:
        return redirect("inquiries:contact")
    return render(request, "inquiries/contact_sent.html", {"reference": reference})


@never_cache
@login_required
@require_GET
def inquiry_list(request):
    inquiries = Inquiry.objects.of_supporter(request.user)
    exposure_record(request, subject=request.user, action=ExposureAction.INQUIRY_HISTORY)
    return render(request, "inquiries/inquiry_list.html", {"inquiries": inquiries})


@never_cache
@login_required
@require_GET
def inquiry_detail(request, reference):
    # Looked up inside the supporter's own inquiries: anyone else's is a 404, whether they
    # guess the reference or not. Internal notes are never loaded here.
    inquiry = get_object_or_404(Inquiry.objects.of_supporter(request.user), reference=reference)
    replies = inquiry.replies.order_by("created_at")
    exposure_record(request, subject=request.user, action=ExposureAction.INQUIRY_HISTORY)
    return render(
        request, "inquiries/inquiry_detail.html", {"inquiry": inquiry, "replies": replies}
    )
