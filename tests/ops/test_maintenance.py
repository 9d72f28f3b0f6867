import datetime
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from ops import switches
from ops.models import SiteSwitch
from ops.switches import maintenance_set, maintenance_state
from tests.conftest import login_staff
from tests.kaika.test_private_by_default import assert_private
from tests.projects.factories import make_project, make_round, make_shop


@pytest.fixture
def maintenance_on(db):
    return maintenance_set(on=True, message="不具合の調査のため", by=None, now=timezone.now())


def test_with_maintenance_off_pages_answer_as_usual(client, db):
    assert not maintenance_state().on
    response = client.get("/")
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/", "/shops/", "/mypage/", "/contact/", "/accounts/signup/"])
def test_every_page_answers_503_in_japanese_during_maintenance(client, maintenance_on, path):
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 503
    assert "ただいまメンテナンス中です" in html and "不具合の調査のため" in html
    assert response["Retry-After"] == "600"
    assert_private(response, f"maintenance {path}")


def test_logged_in_supporters_and_posts_get_the_maintenance_page_too(user_client, maintenance_on):
    assert user_client.get("/mypage/").status_code == 503
    assert user_client.post("/mypage/profile/", {"family_name": "x"}).status_code == 503
    # Nothing personal on it: the header shows no logout form, hence no name, no CSRF token.
    assert "ログアウト" not in user_client.get("/mypage/").content.decode()


def test_the_english_maintenance_page_is_served_under_en(client, maintenance_on):
    response = client.get("/en/shops/")
    assert response.status_code == 503
    assert 'lang="en"' in response.content.decode()


def test_retry_after_follows_the_planned_end(client, db):
    ends_at = timezone.now() + datetime.timedelta(hours=2)
    maintenance_set(on=True, ends_at=ends_at, by=None, now=timezone.now())
    response = client.get("/")
    assert 7100 <= int(response["Retry-After"]) <= 7200
    assert "再開予定" in response.content.decode()


def test_health_check_and_staff_in_admin_stay_open(client, maintenance_on, staff_user):
    assert client.get("/healthz").status_code == 200
    login_staff(client, staff_user)
    assert client.get(reverse("admin:index")).status_code == 200
    # Staff see the maintenance page like everyone outside admin.
    assert client.get("/").status_code == 503


def test_non_staff_reach_only_the_admin_login_during_maintenance(client, maintenance_on, user):
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert client.get(reverse("account_login")).status_code != 503


def test_staff_switch_maintenance_on_and_off_in_admin(
    client, staff_user, django_capture_on_commit_callbacks
):
    login_staff(client, staff_user)
    switch = switches.site_switch_get()
    url = reverse("admin:ops_siteswitch_change", args=[switch.pk])
    assert client.get(reverse("admin:ops_siteswitch_changelist")).url == url
    assert client.get("/shops/").status_code == 200  # "off" now cached for a second
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url, {"maintenance": "on", "message": "点検中", "ends_at_0": "", "ends_at_1": ""}
        )
    switch.refresh_from_db()
    assert switch.maintenance and switch.changed_by == staff_user
    # In force at the very next request, not after the cached copy expires.
    assert client.get("/shops/").status_code == 503
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"message": "", "ends_at_0": "", "ends_at_1": ""})
    assert client.get("/shops/").status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_switch_written_elsewhere_is_in_force_within_a_second(client, db):
    """Another process (or a bare UPDATE) changing the row: the cached copy lives 1 s at most."""
    switches.site_switch_get()
    assert client.get("/").status_code == 200  # now cached as "off"
    SiteSwitch.objects.update(maintenance=True)
    assert client.get("/").status_code == 200  # the cached copy still answers...
    time.sleep(switches.CACHE_TTL + 0.1)
    assert client.get("/").status_code == 503  # ...for a second at most


def test_when_the_cache_is_down_the_database_decides(client, maintenance_on, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    cache.delete(switches.CACHE_KEY)
    monkeypatch.setattr(switches.cache, "get", broken)
    monkeypatch.setattr(switches.cache, "set", broken)
    assert client.get("/").status_code == 503
    SiteSwitch.objects.update(maintenance=False)
    assert client.get("/").status_code == 200


@pytest.fixture
def suspended_round(db):
    project = make_project()
    round_ = make_round(project, suspended=True, suspension_reason="アクセス集中のため")
    return round_, make_shop(project)


def test_a_suspended_round_says_so_on_the_round_page(client, suspended_round):
    round_, _ = suspended_round
    html = client.get(round_.get_absolute_url()).content.decode()
    assert "一時停止中" in html and "アクセス集中のため" in html
    assert "募集終了まで" not in html


def test_a_suspended_round_says_so_on_the_shop_page(client, suspended_round):
    round_, shop = suspended_round
    html = client.get(shop.get_absolute_url()).content.decode()
    assert "現在、募集を一時停止しています。" in html
    # Control: resumed, the same page counts down to the close again.
    round_.suspended = False
    round_.save()
    html = client.get(shop.get_absolute_url()).content.decode()
    assert "一時停止" not in html and "募集終了まで" in html
