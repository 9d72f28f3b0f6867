from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from kaika import views
from projects import views as project_views

admin.site.site_header = "kaika 管理"
admin.site.site_title = "kaika 管理"

urlpatterns = [
    path("healthz", views.health, name="health"),
]

# Japanese at the bare paths, English under /en/: the language comes from the URL, never from
# a cookie or the session, so a shared cache can keep both versions of a public page apart.
urlpatterns += i18n_patterns(
    path("", project_views.home, name="home"),
    path("", include("projects.urls")),
    path("accounts/", include("allauth.urls")),
    path("mypage/", include("supporters.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
