import logging

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import override_settings
from django.urls import path

from kaika.cache import public_page
from kaika.middleware import PublicPageError
from tests.kaika.test_private_by_default import assert_private, assert_public


@public_page(max_age=30)
def public_ok(request):
    return HttpResponse("same for everyone")


@public_page(max_age=30)
def public_touching_user(request):
    return HttpResponse(f"hello {request.user}")


@public_page(max_age=30)
def public_touching_session(request):
    request.session.get("anything")
    return HttpResponse("peeked at the session")


@public_page(max_age=30)
def public_with_csrf(request):
    return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')


@public_page(max_age=30)
def public_setting_cookie(request):
    response = HttpResponse("cookie")
    response.set_cookie("tracking", "1")
    return response


@public_page(max_age=30)
def public_not_found(request):
    return HttpResponse("gone", status=404)


def private_with_cdn_override(request):
    response = HttpResponse("personal")
    response["X-Accel-Expires"] = "60"
    response["Surrogate-Control"] = "max-age=60"
    response["CDN-Cache-Control"] = "max-age=60"
    return response


@public_page(max_age=30)
def public_with_cdn_override(request):
    response = private_with_cdn_override(request)
    response.content = b"same for everyone"
    return response


def not_marked(request):
    return HttpResponse("default")


@public_page(max_age=30, shared_max_age_setting="KAIKA_SHOP_PAGE_SHARED_MAX_AGE", browser_max_age=0)
def public_kept_longer(request):
    return HttpResponse("same for everyone, kept longer")


@public_page(max_age=30, shared_max_age_setting="KAIKA_SHOP_PAGE_SHARED_MAX_AGE")
def public_kept_longer_touching_user(request):
    return HttpResponse(f"hello {request.user}")


urlpatterns = [
    path("ok/", public_ok),
    path("user/", public_touching_user),
    path("session/", public_touching_session),
    path("csrf/", public_with_csrf),
    path("cookie/", public_setting_cookie),
    path("missing/", public_not_found),
    path("cdn/", private_with_cdn_override),
    path("public-cdn/", public_with_cdn_override),
    path("plain/", not_marked),
    path("longer/", public_kept_longer),
    path("longer-user/", public_kept_longer_touching_user),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def test_a_public_page_that_touches_nothing_personal_is_cacheable(client):
    response = client.get("/ok/")
    assert_public(response, "public_ok")
    assert "max-age=30" in response["Cache-Control"]
    # A shared cache keeps it for a second only (the microcache), browsers for max-age.
    assert "s-maxage=1" in response["Cache-Control"]
    # The language comes from the URL, so the shared cache must not split on Accept-Language.
    assert "Accept-Language" not in response.get("Vary", "")


def test_a_view_may_name_the_setting_for_its_shared_lifetime_never_past_its_max_age(client):
    with override_settings(KAIKA_SHOP_PAGE_SHARED_MAX_AGE=20, KAIKA_SHARED_CACHE_MAX_AGE=1):
        response = client.get("/longer/")
        assert_public(response, "public_kept_longer")
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert directives == {"public", "max-age=0", "s-maxage=20"}
        # Other public views keep the default setting's lifetime.
        assert "s-maxage=1" in client.get("/ok/")["Cache-Control"]
    with override_settings(KAIKA_SHOP_PAGE_SHARED_MAX_AGE=600):
        assert "s-maxage=30" in client.get("/longer/")["Cache-Control"]


def test_a_longer_shared_lifetime_never_makes_a_personal_page_public(client):
    with override_settings(KAIKA_STRICT_PUBLIC_PAGES=False):
        response = client.get("/longer-user/")
    assert_private(response, "public_kept_longer_touching_user")
    assert "s-maxage" not in response["Cache-Control"]


@pytest.mark.parametrize("url", ["/user/", "/session/", "/csrf/", "/cookie/"])
def test_a_public_page_that_touches_personal_state_is_refused(client, url):
    with pytest.raises(PublicPageError):
        client.get(url)


@pytest.mark.parametrize("url", ["/user/", "/session/", "/csrf/", "/cookie/"])
def test_outside_strict_mode_the_mistake_is_logged_and_sent_private(client, url, caplog):
    with override_settings(KAIKA_STRICT_PUBLIC_PAGES=False), caplog.at_level(logging.ERROR):
        response = client.get(url)
    assert_private(response, url)
    assert "was sent private" in caplog.text


def test_a_logged_in_visitor_gets_the_same_public_page(user_client):
    assert_public(user_client.get("/ok/"), "public_ok, logged in")


def test_post_and_errors_on_public_views_are_private(client):
    assert_private(client.post("/ok/"), "POST to a public view")
    assert_private(client.get("/missing/"), "404 from a public view")


def test_unmarked_views_are_private(client):
    assert_private(client.get("/plain/"), "an unmarked view")


def test_headers_that_override_cache_control_are_never_sent(client):
    private = client.get("/cdn/")
    assert_private(private, "private view with CDN overrides")
    public = client.get("/public-cdn/")
    assert_public(public, "public view with CDN overrides")


@pytest.mark.urls("kaika.urls")
@override_settings(
    MIDDLEWARE=[m for m in settings.MIDDLEWARE if not m.endswith("PrivateByDefaultMiddleware")]
)
def test_negative_control_without_the_middleware_allauth_pages_are_not_private(client):
    """Proves the URL walk can fail: allauth's password-reset view sets no never-cache itself."""
    response = client.get("/accounts/password/reset/")
    assert response.status_code == 200
    with pytest.raises(AssertionError):
        assert_private(response, "password reset without the middleware")


@pytest.mark.parametrize("cookie", ["x", "", "1234567"])
def test_an_invalid_session_cookie_counts_as_none_and_public_pages_stay_public(
    client, cookie, caplog
):
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    with caplog.at_level(logging.WARNING):  # strict mode on: a mistake would raise
        response = client.get("/ok/")
    assert_public(response, f"public_ok with sessionid={cookie!r}")
    assert not response.cookies
    assert not caplog.records


@pytest.mark.parametrize("url", ["/user/", "/session/", "/plain/"])
def test_an_invalid_session_cookie_leaves_personal_pages_private(client, url):
    client.cookies[settings.SESSION_COOKIE_NAME] = "x"
    with override_settings(KAIKA_STRICT_PUBLIC_PAGES=False):
        assert_private(client.get(url), url)


def test_a_valid_session_cookie_still_signs_the_visitor_in(user_client, user):
    with override_settings(KAIKA_STRICT_PUBLIC_PAGES=False):
        response = user_client.get("/user/")
    assert response.wsgi_request.user == user
