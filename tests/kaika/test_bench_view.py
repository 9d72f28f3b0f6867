"""The benchmark's bare view (bench/views.py) exists only where KAIKA_BENCH turns it on."""

import pytest

from tests.kaika.test_settings import run

pytestmark = pytest.mark.django_db


def root_urlconf(**env) -> str:
    result = run(
        ["-c", "from django.conf import settings; print(settings.ROOT_URLCONF)"],
        DEBUG="true",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_bare_benchmark_view_is_not_routed_unless_the_benchmark_turns_it_on(
    settings, user_client, user
):
    assert root_urlconf() == "kaika.urls"
    assert root_urlconf(KAIKA_BENCH="true") == "bench.urls"
    assert user_client.get("/bench/bare/").status_code == 404
    # Negative control: the same request does reach it through the benchmark's URLs, which
    # are kaika's too.
    settings.ROOT_URLCONF = "bench.urls"
    response = user_client.get("/bench/bare/")
    assert response.status_code == 200 and response.content == f"ok {user.pk}".encode()
    assert "no-store" in response["Cache-Control"]
    assert user_client.get("/mypage/").status_code == 200
