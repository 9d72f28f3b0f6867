from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from kaika import views
from kaika.converters import PostalCodeConverter
from ops import views as ops_views
from projects import views as project_views
from purchases import views as purchase_views
from supporters import views as supporters_views

admin.site.site_header = "kaika 管理"
admin.site.site_title = "kaika 管理"
# Staff log in through allauth like everyone, so its rate limits and the TOTP step apply;
# admin's own password-only login form is never shown.
admin.site.login = secure_admin_login(admin.site.login)

register_converter(PostalCodeConverter, "postal_code")

urlpatterns = [
    path("healthz", views.health, name="health"),
    # Language-neutral data for the address autofill script.
    path(
        "api/postal/<postal_code:postal_code>/",
        supporters_views.postal_lookup,
        name="postal_lookup",
    ),
    # Where a browser reports a per-user page that was made for someone else (tripwire.js).
    path("ops/tripwire/", ops_views.tripwire_report, name="tripwire_report"),
    # Stripe's webhook endpoint (a 404 unless Stripe is the provider): one address whatever
    # the language, as registered in Stripe's dashboard.
    path("payments/stripe/webhook/", purchase_views.stripe_webhook, name="stripe_webhook"),
]
# The built-in sandbox payment provider's hosted card page: stands apart from our own pages,
# as a real provider's would (see purchases/sandbox.py). It gives tickets for test cards, so
# it answers only where the sandbox is the provider (a 404 otherwise, asked per request).
urlpatterns.append(path("sandbox-pay/", include("purchases.sandbox")))

# Japanese at the bare paths, English under /en/: the language comes from the URL, never from
# a cookie or the session, so a shared cache can keep both versions of a public page apart.
urlpatterns += i18n_patterns(
    path("", project_views.home, name="home"),
    path("", include("projects.urls")),
    # Before allauth's: its recovery-code download is a GET of one URL for everyone; ours is a
    # POST under the browser's own nonce (kaika/downloads.py), and the old URL gives no codes.
    path(
        "accounts/2fa/recovery-codes/download/<str:nonce>/",
        supporters_views.recovery_codes_download,
        name="recovery_codes_download",
    ),
    path(
        "accounts/2fa/recovery-codes/download/",
        RedirectView.as_view(pattern_name="mfa_view_recovery_codes"),
    ),
    path("accounts/", include("allauth.urls")),
    path("mypage/", include("supporters.urls")),
    # The contact form, and the supporter's own inquiries under /mypage/inquiries/.
    path("", include("inquiries.urls")),
    # My page's entry of a code mailed to the households of a residents-only project.
    path("", include("residents.urls")),
    # Orders, payment results, My page's orders and tickets, the shop's redemption screen.
    path("", include("purchases.urls")),
    # The waiting room of a first-come opening (answered from Redis alone).
    path("", include("waitingroom.urls")),
    # Settling with shops: the operator's payee account, under the shop's management pages.
    path("", include("settlements.urls")),
    # Lottery rounds: the public page with the seed's hash, the published list, applications.
    path("", include("lottery.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler500 = "kaika.views.server_error"
