"""The benchmark's bare view (bench/views.py) exists only where KAIKA_BENCH turns it on."""

import importlib

import pytest
from django.urls import clear_url_caches
from django.urls.converters import REGISTERED_CONVERTERS

import kaika.urls

pytestmark = pytest.mark.django_db


def reload_urls():
    # kaika.urls registers its converter at import; let it register it again.
    REGISTERED_CONVERTERS.pop("postal_code", None)
    importlib.reload(kaika.urls)
    clear_url_caches()


def test_the_bare_benchmark_view_is_not_routed_unless_the_benchmark_turns_it_on(
    settings, user_client, user
):
    assert user_client.get("/bench/bare/").status_code == 404
    # Negative control: the same request does reach it once the setting is on.
    settings.KAIKA_BENCH = True
    try:
        reload_urls()
        response = user_client.get("/bench/bare/")
        assert response.status_code == 200 and response.content == f"ok {user.pk}".encode()
        assert "no-store" in response["Cache-Control"]
    finally:
        settings.KAIKA_BENCH = False
        reload_urls()
    assert user_client.get("/bench/bare/").status_code == 404
