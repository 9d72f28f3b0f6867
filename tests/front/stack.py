"""The production front as the live tests run it: gunicorn on the test database, behind the
project's own nginx and, beside it, a KAIKA-style nginx configured as in 2021."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from deploy import nginx
from ops import live_harness as live

KAIKA_2021_TEMPLATE = Path(__file__).with_name("nginx_kaika_2021.conf.template")


def app_environment(*, bind: str, static_root: Path) -> dict[str, str]:
    """The production settings as served, pointed at this test's database and Redis."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="kaika.settings",
        DEBUG="false",
        # The test process decodes the app's sessions to check whose they are.
        SECRET_KEY=settings.SECRET_KEY,
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        CACHE_KEY_PREFIX=f"kaika-live-{os.getpid()}",
        # Emails are queued in the database and never sent: no worker runs here.
        TASKS_BACKEND="database",
        MAIL_BACKEND="console",
        # Each person's browser has its own address, passed on as by a CDN in front of nginx
        # (X-Forwarded-For: person, then nginx adds its own hop): the production rate limits
        # then apply per person, as they would at 9:00. From one address, allauth's per-IP
        # lock turns simultaneous logins and signups into 429s after a second of waiting.
        TRUSTED_PROXY_COUNT="2",
        STATIC_ROOT=str(static_root),
        GUNICORN_BIND=bind,
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="8",
        GUNICORN_GRACEFUL_TIMEOUT="5",
        DB_POOL_MIN="0",
        DB_POOL_MAX="10",
    )
    return env


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
