"""The shipped front configuration says what the live leak test relies on.

The live test (test_live_leak.py) proves the behaviour; these catch an edit that would weaken
it before anything is started, and keep the KAIKA-style configuration out of deploy/.
"""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from deploy import nginx
from tests.front.stack import KAIKA_2021_TEMPLATE

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def directives(text: str) -> str:
    """The configuration without its comments (which may name what it must not contain)."""
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def rendered(tmp_path, template=nginx.TEMPLATE) -> str:
    return nginx.render(
        prefix=tmp_path,
        listen="127.0.0.1:8080",
        upstreams=["127.0.0.1:8081", "127.0.0.1:8082"],
        static_root=tmp_path / "static",
        media_root=tmp_path / "media",
        template=template,
    )


def test_the_shipped_nginx_honours_every_header_the_application_sends(tmp_path):
    config = directives(rendered(tmp_path))
    assert "proxy_ignore_headers" not in config
    assert "X-Accel-Expires" not in config
    assert "proxy_hide_header" not in config
    assert re.search(r"proxy_cache_methods GET HEAD;", config)


def test_the_shipped_nginx_never_serves_or_stores_for_a_session_or_authorization(tmp_path):
    config = directives(rendered(tmp_path))
    for directive in ("proxy_cache_bypass", "proxy_no_cache"):
        line = re.search(rf"{directive} (.*);", config).group(1)
        assert "$cookie_sessionid" in line.split()
        assert "$http_authorization" in line.split()
        # ... nor for any path that no public view answers (tests/front/test_cache_lock.py).
        assert "$kaika_not_public" in line.split()
    assert re.search(r"map \$uri \$kaika_not_public \{\s*default 1;", config)


def test_the_session_cookie_nginx_watches_is_the_one_django_sets():
    # deploy/serve.py renders with the default; renaming the cookie must change both.
    assert settings.SESSION_COOKIE_NAME == "sessionid"
    assert nginx.render.__kwdefaults__["session_cookie"] == settings.SESSION_COOKIE_NAME


def test_the_shipped_nginx_microcaches_with_a_lock_and_tells_what_it_did(tmp_path):
    config = directives(rendered(tmp_path))
    for expected in (
        "proxy_cache_valid 200 1s;",
        "proxy_cache_lock on;",
        "proxy_cache_use_stale updating;",
        "add_header X-Cache-Status $upstream_cache_status always;",
        "proxy_set_header X-Request-ID $request_id;",
    ):
        assert expected in config


def test_the_shipped_nginx_spreads_requests_over_every_app_node_on_kept_alive_connections(
    tmp_path,
):
    config = directives(rendered(tmp_path))
    upstream = re.search(r"upstream kaika_app \{(.*?)\}", config, re.S).group(1)
    assert re.findall(r"^\s*server (\S+);", upstream, re.M) == ["127.0.0.1:8081", "127.0.0.1:8082"]
    # Round robin: no ip_hash or hash (sticky) and no node held back as a backup.
    assert not re.search(r"\b(ip_hash|hash|backup|down)\b", upstream)
    assert re.search(r"^\s*keepalive \d+;", upstream, re.M)
    # Without HTTP/1.1 and an empty Connection header nginx closes every upstream connection.
    assert "proxy_http_version 1.1;" in config
    assert 'proxy_set_header Connection "";' in config


def test_the_shipped_nginx_lets_only_a_few_waiting_pages_reach_the_app_at_once(tmp_path):
    """The till and the order pages keep free threads during the 9:00 wave (issue 23): the
    waiting page, and only it, is limited per app node; the rest get a static 503 page that
    reloads itself and is never stored."""
    config = directives(rendered(tmp_path))
    key = re.search(r"map \$uri \$kaika_waiting_page \{(.*?)\}", config, re.S).group(1)
    pattern = re.compile(re.search(r'"~(.+)" "waiting";', key).group(1))
    assert pattern.match("/rounds/12/waiting/") and pattern.match("/en/rounds/12/waiting/")
    assert not pattern.match("/shops/manage/3/redeem/") and not pattern.match("/orders/confirm/")
    assert "limit_conn kaika_waiting 8;" in config  # two app nodes, four each
    assert "error_page 503 /_waiting_busy.html;" in config
    busy = re.search(r"location = /_waiting_busy.html \{(.*?)\}", config, re.S).group(1)
    assert "internal;" in busy and 'add_header Cache-Control "no-store" always;' in busy
    page = Path(settings.BASE_DIR) / "static" / "waitingroom" / "_waiting_busy.html"
    assert "data-refresh" in page.read_text(encoding="utf-8")


def test_the_waiting_page_goes_to_its_own_pool_and_nothing_else_does(tmp_path):
    """make serve's waiting pool (waitingroom/wsgi.py) takes the waiting page, limited to
    sixteen at once per pool (its processes and a short queue); every other path stays with
    the app nodes."""
    config = directives(
        nginx.render(
            prefix=tmp_path,
            listen="127.0.0.1:8080",
            upstreams=["127.0.0.1:8081", "127.0.0.1:8083"],
            waiting_upstreams=["127.0.0.1:8082"],
            static_root=tmp_path / "static",
        )
    )
    pools = dict(re.findall(r"upstream (\w+) \{(.*?)\}", config, re.S))
    assert re.findall(r"server (\S+);", pools["kaika_waiting"]) == ["127.0.0.1:8082"]
    assert re.findall(r"server (\S+);", pools["kaika_app"]) == ["127.0.0.1:8081", "127.0.0.1:8083"]
    waiting = re.search(
        r"location ~ \^/\(en/\)\?rounds/\[0-9\]\+/waiting/\$ \{(.*?)\}", config, re.S
    )
    block = waiting.group(1)
    assert "proxy_pass http://kaika_waiting;" in block and "limit_conn kaika_waiting 16;" in block
    assert "proxy_cache" not in block  # private: never looked up or stored
    # The public line goes there too, kept by URL alone and sent no cookie or credentials
    # (so the pool cannot answer anything personal), for signed-in visitors as for others.
    line = re.search(
        r"location ~ \^/\(en/\)\?rounds/\[0-9\]\+/waiting/line/ \{(.*?)\}", config, re.S
    ).group(1)
    for expected in (
        "proxy_pass http://kaika_waiting;",
        'proxy_set_header Cookie "";',
        'proxy_set_header Authorization "";',
        'proxy_cache_key "$scheme://$host$uri";',
        "proxy_cache_lock on;",
    ):
        assert expected in line
    assert "proxy_cache_bypass" not in line and "limit_conn" not in line
    assert config.index("waiting/line/ {") < config.index("waiting/$ {")
    assert config.count("proxy_pass http://kaika_waiting;") == 2
    # Without a pool of its own, the page goes to the app nodes (four per node).
    default = directives(rendered(tmp_path))
    pools = dict(re.findall(r"upstream (\w+) \{(.*?)\}", default, re.S))
    assert (
        pools["kaika_waiting"].strip().splitlines()[:2]
        == pools["kaika_app"].strip().splitlines()[:2]
    )


def test_the_shipped_nginx_serves_only_images_from_the_media_root(tmp_path):
    config = directives(rendered(tmp_path))
    media = re.search(r"location ~ (\S+) \{(.*?)\}", config, re.S)
    pattern, block = media.groups()
    assert pattern == r"^/media/(.+\.(?:jpg|jpeg|png|webp))$"
    assert f"alias {tmp_path}/media/$1;" in block
    assert "add_header X-Content-Type-Options nosniff always;" in block
    assert 'add_header Cache-Control "public, max-age=86400";' in block
    assert "autoindex on" not in config
    # Everything else under /media/ stops at nginx: never the app, never a listing.
    rest = re.search(r"location /media/ \{(.*?)\}", config, re.S).group(1)
    assert "return 404;" in rest


def test_production_settings_never_unlock_purchases_nor_pause_them():
    # Only test settings may take the locks out (tests/front/settings_unlocked.py, the live
    # races' negative control) or set the debug pause; no environment variable reaches either.
    for path in (BASE_DIR / "kaika").glob("settings*.py"):
        text = path.read_text()
        assert "unlock" not in text.lower(), path
        assert "KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0\n" in text or path.name != "settings.py"
        assert "PAUSE_AFTER_CHECKS" not in text.replace("KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0\n", "")
    unlocked = (BASE_DIR / "tests" / "front" / "settings_unlocked.py").read_text()
    assert "tests.front.unlock_app.UnlockPurchases" in unlocked
    assert "os." not in unlocked


def test_no_file_in_deploy_ignores_the_application_headers():
    for path in (BASE_DIR / "deploy").rglob("*"):
        if path.is_file() and path.suffix in {".template", ".conf", ".py", ""}:
            assert "proxy_ignore_headers" not in directives(path.read_text()), path


def test_nginx_listens_and_proxies_on_loopback_only(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        nginx.render(
            prefix=tmp_path, listen="0.0.0.0:80", upstreams=["127.0.0.1:1"], static_root=tmp_path
        )
    with pytest.raises(ValueError, match="loopback"):
        nginx.render(
            prefix=tmp_path, listen="127.0.0.1:80", upstreams=["10.0.0.5:80"], static_root=tmp_path
        )


@pytest.mark.nginx
@pytest.mark.parametrize("template", [nginx.TEMPLATE, KAIKA_2021_TEMPLATE], ids=["deploy", "2021"])
def test_nginx_accepts_the_rendered_configuration(tmp_path, template):
    config = nginx.write_config(
        tmp_path,
        listen="127.0.0.1:8080",
        upstreams=["127.0.0.1:8081", "127.0.0.1:8082"],
        static_root=tmp_path / "static",
        media_root=tmp_path / "media",
        template=template,
    )
    nginx.check(config)


def test_gunicorn_runs_threaded_workers_sized_to_the_cores(monkeypatch):
    for name in [k for k in os.environ if k.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)
    conf = runpy.run_path(str(BASE_DIR / "deploy" / "gunicorn.conf.py"))
    assert conf["worker_class"] == "gthread"
    assert conf["workers"] >= max(2, conf["CORES"])
    assert conf["threads"] >= 2
    assert conf["preload_app"] is False
    assert conf["graceful_timeout"] > 0
    assert conf["timeout"] > 0
    assert "%({x-request-id}i)s" in conf["access_log_format"]
    assert conf["bind"].startswith("127.0.0.1:")


def test_gunicorn_accepts_its_configuration_and_loads_the_app():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kaika.settings",
        "DEBUG": "false",
        "SECRET_KEY": "gunicorn-check-config-only-" + "x" * 40,
        "MAIL_BACKEND": "console",
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    result = subprocess.run(
        [*gunicorn, "--check-config", "kaika.wsgi"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_make_serve_runs_the_waiting_pool_niced_one_thread_per_process():
    """The waiting pool's process (deploy/serve.py): niced, one worker of one thread, not
    recycled during a wave; the app's pool keeps gunicorn.conf.py's own sizing."""
    from deploy import serve

    processes = serve.app_processes({"GUNICORN_BIND": "127.0.0.1:8081"}, "127.0.0.1:8082")
    command, env = processes["waiting"]
    assert command[:3] == ["nice", "-n", "10"] and command[-1] == "waitingroom.wsgi"
    assert env["GUNICORN_BIND"] == "127.0.0.1:8082"
    assert (env["GUNICORN_WORKERS"], env["GUNICORN_THREADS"]) == ("1", "1")
    assert int(env["GUNICORN_MAX_REQUESTS"]) >= 100_000
    app = processes["gunicorn"][1]
    assert app["GUNICORN_BIND"] == "127.0.0.1:8081" and "GUNICORN_THREADS" not in app
    tuned = serve.app_processes(
        {"GUNICORN_WAITING_WORKERS": "3", "GUNICORN_WAITING_THREADS": "2"}, "127.0.0.1:8082"
    )
    assert (tuned["waiting"][1]["GUNICORN_WORKERS"], tuned["waiting"][1]["GUNICORN_THREADS"]) == (
        "3",
        "2",
    )
