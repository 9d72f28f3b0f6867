"""The canary through the project's nginx (must pass) and a KAIKA-style nginx (must fail)."""

import contextlib
import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from deploy import nginx
from ops import live_harness as live
from ops.canary import CanaryError, port_of
from supporters.models import User
from tests.front.test_live_leak import KAIKA_2021_TEMPLATE, app_environment


def test_the_canary_only_talks_to_a_front_on_this_host():
    assert port_of("http://127.0.0.1:8080/") == 8080
    with pytest.raises(CanaryError):
        port_of("https://kaika.example.jp/")


@contextlib.contextmanager
def fronts(tmp_path):
    """gunicorn behind two nginx: the project's own config and the KAIKA-style one."""
    app = f"127.0.0.1:{nginx.free_port()}"
    good_port, bad_port = nginx.free_port(), nginx.free_port()
    static_root = tmp_path / "static"
    env = app_environment(bind=app, static_root=static_root)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        env=env,
        cwd=live.BASE_DIR,
        check=True,
    )
    good = nginx.write_config(
        tmp_path / "front",
        listen=f"127.0.0.1:{good_port}",
        upstreams=[app],
        static_root=static_root,
        session_cookie=settings.SESSION_COOKIE_NAME,
    )
    bad = nginx.write_config(
        tmp_path / "kaika_2021",
        listen=f"127.0.0.1:{bad_port}",
        upstreams=[app],
        static_root=static_root,
        template=KAIKA_2021_TEMPLATE,
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "kaika.wsgi"]
    with (
        live.running("gunicorn", gunicorn, address=app, env=env, log=tmp_path / "gunicorn.log"),
        live.running(
            "nginx", nginx.command(good), address=f"127.0.0.1:{good_port}", log=tmp_path / "f.log"
        ),
        live.running(
            "KAIKA-style nginx",
            nginx.command(bad),
            address=f"127.0.0.1:{bad_port}",
            log=tmp_path / "k.log",
        ),
    ):
        yield good_port, bad_port


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.nginx
@pytest.mark.django_db(transaction=True)
def test_the_canary_passes_the_projects_nginx_and_fails_the_2021_one(tmp_path):
    with fronts(tmp_path) as (good_port, bad_port):
        out = io.StringIO()
        call_command("cache_canary", "--base-url", f"http://127.0.0.1:{good_port}", stdout=out)
        assert "PASS" in out.getvalue()
        assert "Public pages are served from the shared cache." in out.getvalue()
        with pytest.raises(CommandError, match="FAIL") as failure:
            call_command("cache_canary", "--base-url", f"http://127.0.0.1:{bad_port}")
    message = str(failure.value)
    # Failed for the 2021 reasons, named in the report. (That front caches even the login
    # POST, so no canary gets a session through it, foreign or not.)
    for kind in ("foreign data", "from cache"):
        assert f"'{kind}'" in message, message
    # Between runs no canary can sign in, and what their signups created is gone.
    canaries = User.objects.filter(email__startswith="leak")
    assert canaries.count() == 10
    assert not any(user.has_usable_password() for user in canaries)
