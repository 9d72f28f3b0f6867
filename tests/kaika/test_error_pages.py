import logging

import pytest
from django.urls import path

from tests.conftest import PASSWORD, make_user
from tests.kaika.test_private_by_default import assert_private


def boom(request):
    raise RuntimeError("kaboom")


def database_gone(request):
    from django.db import OperationalError

    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


urlpatterns = [path("boom/", boom), path("db-gone/", database_gone)]
handler500 = "kaika.views.server_error"


@pytest.mark.django_db
def test_not_found_page_is_japanese_and_private_with_a_session_cookie(user_client):
    response = user_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.content.decode()
    assert_private(response, "404 with a session")


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_server_error_page_is_japanese_private_and_shows_no_traceback(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "ただいま表示できません" in body
    assert "kaboom" not in body and "Traceback" not in body
    assert_private(response, "500")


@pytest.mark.django_db
def test_passwords_never_reach_the_logs(client, caplog):
    user = make_user()
    with caplog.at_level(logging.DEBUG):
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-secret-123"})
        client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert "wrong-secret-123" not in caplog.text
    assert PASSWORD not in caplog.text


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_lost_database_connection_is_a_clean_japanese_503_with_retry_after(client):
    client.raise_request_exception = False
    response = client.get("/db-gone/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "ただいま混み合っています" in body and "30秒" in body
    assert "Connection refused" not in body and "Traceback" not in body
    assert_private(response, "503")
