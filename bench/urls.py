"""kaika's URLs and the benchmark's floor for per-user pages: the root URLconf where
KAIKA_BENCH is on (kaika/settings.py), so production never routes it."""

from django.urls import path

from bench import views
from kaika.urls import handler500
from kaika.urls import urlpatterns as kaika_urlpatterns

urlpatterns = [*kaika_urlpatterns, path("bench/bare/", views.bare, name="bench_bare")]

__all__ = ["handler500", "urlpatterns"]
