"""PostgreSQL restarts in the middle of a burst of purchases and of page requests.

A private PostgreSQL cluster is started for the test (the shared one is never touched), the
app talks to it, and it is stopped hard ("immediate", as in a crash) and started again.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from deploy.nginx import free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def as_postgres(*args) -> list[str]:
    # PostgreSQL refuses to run as root.
    return (
        ["runuser", "-u", "postgres", "--", *map(str, args)]
        if os.geteuid() == 0
        else [*map(str, args)]
    )


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kaika-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        shutil.chown(self.dir, "postgres") if os.geteuid() == 0 else None
        subprocess.run(
            as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres"),
            check=True,
            capture_output=True,
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/kaika"

    def start(self):
        subprocess.run(
            as_postgres(
                PG_BIN / "pg_ctl",
                "-D",
                self.data,
                "-w",
                "-l",
                self.dir / "log",
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def crash(self):
        subprocess.run(
            as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"),
            check=True,
            capture_output=True,
        )

    def query(self, sql: str):
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    def remove(self):
        subprocess.run(
            as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"no {PG_BIN}/initdb")
    c = Cluster()
    c.start()
    with psycopg.connect(c.url.replace("/kaika", "/postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE kaika")
    yield c
    c.remove()


def app_env(cluster) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="kaika.settings",
        DATABASE_URL=cluster.url,
        SECRET_KEY="pg-restart-test-" + "x" * 40,
        DEBUG="false",
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1",
        MAIL_BACKEND="console",
        TASKS_BACKEND="immediate",
        PAYMENT_GATEWAY="purchases.payments.SandboxGateway",
        DB_POOL_TIMEOUT="3",
    )
    env.pop("REDIS_URL", None)
    return env


def test_orders_are_whole_or_absent_after_a_crash_during_a_burst(cluster):
    env = app_env(cluster)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    burst = subprocess.Popen(
        [sys.executable, "tests/kaika/pg_restart_burst.py", "60"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert burst.stdout.readline().strip() == "READY"
    time.sleep(2)
    cluster.crash()
    time.sleep(1.5)
    cluster.start()
    restarted_at = time.time()
    out, err = burst.communicate("restarted\n", timeout=120)
    assert burst.returncode == 0, err[-3000:]
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["created"] > 0 and result["database_errors"] > 0, result
    assert result["created_after_restart"] > 0, result

    # Every order that exists holds its reservation in every counter; none half-written.
    [(orders, units, amount)] = cluster.query(
        "SELECT count(*), coalesce(sum(units), 0), coalesce(sum(amount), 0) "
        "FROM purchases_order WHERE status IN ('pending', 'paid')"
    )
    [(project_raised,)] = cluster.query("SELECT amount_raised FROM projects_project")
    [(round_raised,)] = cluster.query("SELECT amount_raised FROM projects_round")
    [(shop_units, shop_raised)] = cluster.query(
        "SELECT units_sold, amount_raised FROM projects_shopround"
    )
    [(listing_units,)] = cluster.query("SELECT units_sold FROM projects_listing WHERE is_standard")
    assert orders > 0
    assert project_raised == round_raised == shop_raised == amount
    assert shop_units == listing_units == units
    # Orders created after the restart prove the pool healed itself in the same process.
    [(after,)] = cluster.query(
        f"SELECT count(*) FROM purchases_order WHERE created_at > to_timestamp({restarted_at})"
    )
    assert after > 0


def get(port: int, path: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def test_pages_answer_a_clean_503_while_postgres_is_down_and_recover_without_a_restart(cluster):
    env = app_env(cluster)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "kaika.wsgi"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert get(port, "/healthz")[0] == 200

        cluster.crash()
        for path in ("/healthz", "/", "/shops/"):
            status, headers, body = get(port, path)
            assert status == 503, (path, status)
            assert headers.get("Retry-After") == "30", path
            assert "ただいま混み合っています" in body and "Traceback" not in body, path
            assert "no-store" in headers.get("Cache-Control", ""), path

        cluster.start()
        recovered = [get(port, "/healthz")[0] for _ in range(5)]
        assert recovered[-1] == 200, recovered
        assert get(port, "/shops/")[0] == 200
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
