"""Redis stops in the middle of use: the site keeps working, and recovers without a restart.

Each test runs its own real redis-server on a spare port, so stopping it disturbs nobody.
"""

import logging
import shutil
import subprocess
import time

import pytest
import redis
from django.test import Client, override_settings

from deploy.nginx import free_port
from kaika import cache_backends
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)

    def keys(self) -> list[str]:
        return [k.decode() for k in redis.Redis(port=self.port).keys("*")]


@pytest.fixture
def own_redis():
    server = RedisServer(free_port())
    server.start()
    cache_backends._outage.__init__()  # no outage carried over from another test
    settings = {
        "default": {
            "BACKEND": "kaika.cache_backends.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            "KEY_PREFIX": "outage-test",
            "RETRY_AFTER": 0.5,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    # override_settings swaps Django's cache handlers for these settings (and back after).
    with override_settings(CACHES=settings):
        yield server
    if server.process.poll() is None:
        server.stop()
    cache_backends._outage.__init__()


def use_the_site(user) -> None:
    client = Client()  # a new browser each time
    assert client.get("/").status_code == 200
    assert client.get("/shops/").status_code == 200
    login = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert login.status_code == 302, login.content.decode()[:500]
    assert client.get("/mypage/").status_code == 200
    contact = client.post(
        "/contact/",
        {
            "name": "山田 花子",
            "email": user.email,
            "category": "other",
            "subject": "件名",
            "body": "本文です。",
            "website": "",
        },
    )
    assert contact.status_code == 302, contact.content.decode()[:500]
    client.post("/accounts/logout/")


def test_site_keeps_working_while_redis_is_down_and_uses_it_again_when_back(own_redis, caplog):
    user = make_user()
    use_the_site(user)
    assert own_redis.keys(), "the shared cache was in use before the outage"

    own_redis.stop()
    with caplog.at_level(logging.ERROR, logger="kaika.cache"):
        use_the_site(user)
    assert "Shared cache (Redis) unavailable" in caplog.text

    own_redis.start()  # empty: --save ""
    time.sleep(0.6)  # RETRY_AFTER
    use_the_site(user)
    assert own_redis.keys(), "Redis is used again without a restart"


def end_a_session_during_a_redis_hang(port) -> str:
    user = make_user()
    client = Client()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert client.get("/mypage/").status_code == 200
    cookie = client.cookies["sessionid"].value
    # Redis hangs (not gone: it keeps its copy of the session) while the person logs out.
    redis.Redis(port=port).execute_command("CLIENT", "PAUSE", "1500", "ALL")
    client.post("/accounts/logout/")
    time.sleep(1.6)  # Redis answers again, still holding the logged-in copy
    return cookie


def test_a_session_ended_during_the_outage_is_not_revived_by_redis_stale_copy(own_redis):
    cookie = end_a_session_during_a_redis_hang(own_redis.port)
    thief = Client()
    thief.cookies["sessionid"] = cookie
    assert thief.get("/mypage/").status_code == 302, "an ended session came back from Redis"


def test_negative_control_without_forgetting_stale_copies_the_session_comes_back(
    own_redis, monkeypatch
):
    monkeypatch.setattr(
        cache_backends.ResilientRedisCache, "_forget_stale_copies", lambda self: None
    )
    cookie = end_a_session_during_a_redis_hang(own_redis.port)
    thief = Client()
    thief.cookies["sessionid"] = cookie
    assert thief.get("/mypage/").status_code == 200


def test_one_redis_client_serves_every_operation_of_a_pool(own_redis):
    """Django builds a redis.Redis per operation (a tenth of the waiting page's Python); ours
    keeps one per connection pool, and it still works across an outage."""
    from django.core.cache import cache
    from django.core.cache.backends.redis import RedisCacheClient

    cache.set("k", 1)
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client and cache._cache.get_client(write=True) is client
    # The control: Django's own client makes a new one each time.
    assert RedisCacheClient.get_client(cache._cache, write=True) is not client
    own_redis.stop()
    assert cache.get("k") is None  # the process's memory answers meanwhile
    own_redis.start()
    time.sleep(0.6)  # RETRY_AFTER
    cache.set("k", 2)
    assert cache.get("k") == 2 and cache._cache.get_client() is client
