"""`make serve`: the production stack on this machine, on loopback only.

    nginx (microcache, /static/, /media/)  http://127.0.0.1:8080   SERVE_PORT
      -> gunicorn (gthread)                127.0.0.1:8081          APP_PORT
         -> PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)
      -> the waiting room's pool           127.0.0.1:8082          WAITING_PORT
         (waitingroom/wsgi.py, its page only, at a lower CPU priority) -> Redis
    + the task worker (`manage.py db_worker`) that sends the emails

DEBUG is off and the production settings are used as they are, with only what plain http on
loopback needs: HTTPS=false, ALLOWED_HOSTS=127.0.0.1,localhost, emails printed by the worker
(MAIL_BACKEND=console unless SMTP_HOST is set) and a SECRET_KEY generated once and kept in
.serve/. Ctrl-C stops everything gracefully; so does any one process dying.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from deploy import nginx

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = BASE_DIR / ".serve"


def log(message: str) -> None:
    print(f"[serve] {message}", flush=True)


def secret_key() -> str:
    # Generated for this checkout's local runs, kept so that sessions survive a restart.
    path = STATE_DIR / "secret_key"
    if not path.exists():
        STATE_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def environment(serve_port: int, app_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kaika")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    # A local run of the production stack: test cards only.
    env.setdefault("PAYMENT_GATEWAY", "purchases.payments.SandboxGateway")
    env.setdefault("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
    # Uploaded photos: written by gunicorn, served by nginx at /media/ from the same directory.
    env.setdefault("MEDIA_ROOT", str(BASE_DIR / "media"))
    env.setdefault("SECRET_KEY", secret_key())
    if not env.get("SMTP_HOST"):
        env.setdefault("MAIL_BACKEND", "console")
    env.update(
        DJANGO_SETTINGS_MODULE="kaika.settings",
        DEBUG="false",
        # Plain http on loopback: no HTTPS redirect, no Secure cookies (they would never be
        # sent back over http), no HSTS pinned on 127.0.0.1.
        HTTPS="false",
        # Emails go through the database queue to the worker, as in production.
        TASKS_BACKEND="database",
        # nginx is the one proxy in front: rate limits count the client, not nginx.
        TRUSTED_PROXY_COUNT="1",
        GUNICORN_BIND=f"127.0.0.1:{app_port}",
    )
    return env


# The waiting room's pool: one process, niced, so the 9:00 wave takes at most one core's worth
# of Python and the scheduler serves the till, the tickets and the order pages first (a second
# process halved the busy pages of the crowd but doubled the till's p95 in a wave of arrivals).
# One thread: its page waits on Redis for a fraction of a millisecond, so more threads overlap
# nearly nothing and fight over the GIL instead (a page cost 2.9 ms of CPU with 4 threads,
# 1.7 ms with one). Not recycled during a wave: a restart there is a second of Django's
# start-up while the crowd gets the busy page. docs/benchmarks.md, Waiting room.
WAITING_WORKERS = "1"
WAITING_THREADS = "1"
WAITING_MAX_REQUESTS = "200000"
WAITING_NICE = "10"


def app_processes(env: dict[str, str], waiting_bind: str) -> dict[str, tuple[list[str], dict]]:
    """The app's processes, name -> (command, environment): one place for `make serve` and
    the benchmark."""
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    waiting_env = {
        **env,
        "GUNICORN_BIND": waiting_bind,
        "GUNICORN_WORKERS": env.get("GUNICORN_WAITING_WORKERS", WAITING_WORKERS),
        "GUNICORN_THREADS": env.get("GUNICORN_WAITING_THREADS", WAITING_THREADS),
        "GUNICORN_MAX_REQUESTS": env.get("GUNICORN_WAITING_MAX_REQUESTS", WAITING_MAX_REQUESTS),
    }
    return {
        "gunicorn": ([*gunicorn, "kaika.wsgi"], env),
        "waiting": (
            ["nice", "-n", env.get("WAITING_NICE", WAITING_NICE), *gunicorn, "waitingroom.wsgi"],
            waiting_env,
        ),
        "worker": ([sys.executable, "manage.py", "db_worker", "--no-reload"], env),
    }


def ensure_database(url: str) -> None:
    """Create the database named in DATABASE_URL when it does not exist yet."""
    target = psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "postgres"
    maintenance = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=3) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone()
        if not exists:
            log(f"creating database {target}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=BASE_DIR, check=True)  # noqa: S603


def stop(processes: dict[str, subprocess.Popen]) -> None:
    # nginx first (no new requests), then the app (finishes what is in flight within its
    # graceful_timeout), then the worker (finishes the task at hand).
    order = [name for name in ("nginx", "gunicorn", "waiting", "worker") if name in processes]
    graceful = {"nginx": signal.SIGQUIT}
    for name in order:
        if processes[name].poll() is None:
            processes[name].send_signal(graceful.get(name, signal.SIGTERM))
    deadline = time.monotonic() + 40
    for name in order:
        process = processes[name]
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in time; killing it")
            process.kill()
            process.wait()


def main() -> int:
    serve_port = int(os.environ.get("SERVE_PORT", "8080"))
    app_port = int(os.environ.get("APP_PORT", "8081"))
    waiting_port = int(os.environ.get("WAITING_PORT", "8082"))
    for port in (serve_port, app_port, waiting_port):
        if not port_is_free(port):
            log(f"port {port} on 127.0.0.1 is taken (set SERVE_PORT / APP_PORT)")
            return 1
    if not Path(nginx.NGINX_BIN).exists():
        log(f"{nginx.NGINX_BIN} is missing: apt-get install nginx-light")
        return 1

    env = environment(serve_port, app_port)
    ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    Path(env["MEDIA_ROOT"]).mkdir(parents=True, exist_ok=True)
    if env.get("KAIKA_ALLOW_DEMO_DATA", "").lower() in {"1", "true", "yes", "on"}:
        manage(env, "seed_demo")

    config = nginx.write_config(
        STATE_DIR / "nginx",
        listen=f"127.0.0.1:{serve_port}",
        upstreams=[env["GUNICORN_BIND"]],
        waiting_upstreams=[f"127.0.0.1:{waiting_port}"],
        static_root=Path(env["STATIC_ROOT"]),
        media_root=Path(env["MEDIA_ROOT"]),
    )
    nginx.check(config)

    processes: dict[str, subprocess.Popen] = {}
    stopping = False
    # Children get their own session: Ctrl-C reaches only this script, which then stops each
    # one gracefully (a terminal's SIGINT would make gunicorn and nginx drop requests).
    detached = {"start_new_session": True}

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name, (command, process_env) in app_processes(env, f"127.0.0.1:{waiting_port}").items():
            processes[name] = subprocess.Popen(command, env=process_env, cwd=BASE_DIR, **detached)  # noqa: S603
        nginx.wait_for_port(env["GUNICORN_BIND"], timeout=30, process=processes["gunicorn"])
        nginx.wait_for_port(f"127.0.0.1:{waiting_port}", timeout=30, process=processes["waiting"])
        processes["nginx"] = subprocess.Popen(nginx.command(config), env=env, **detached)  # noqa: S603
        nginx.wait_for_port(f"127.0.0.1:{serve_port}", process=processes["nginx"])
        log(f"kaika at http://127.0.0.1:{serve_port}/ (DEBUG off; Ctrl-C stops everything)")
        log(f"nginx logs in {config.parent / 'logs'}; app and worker log here")
        while not stopping:
            dead = [name for name, process in processes.items() if process.poll() is not None]
            if dead:
                log(f"{', '.join(dead)} stopped; stopping the rest")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
