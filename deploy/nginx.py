"""Render kaika's nginx configuration and run nginx as an ordinary process.

nginx is never the system service here: it runs as `nginx -p DIR -c DIR/nginx.conf` with every
pid, log, temporary and cache path inside DIR, listening on loopback only. `make serve`
(deploy/serve.py) and the live tests (tests/front/) start it through this module, the live
tests with two app nodes as its upstreams.
"""

import os
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
TEMPLATE = DEPLOY_DIR / "nginx.conf.template"
# The paths of the views marked public, from the URLconf (manage.py nginx_public_paths).
PUBLIC_PATHS = DEPLOY_DIR / "public_paths.map"
NGINX_BIN = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
LOOPBACK_HOSTS = {"127.0.0.1", "[::1]", "localhost"}
PLACEHOLDER_RE = re.compile(r"@([A-Z_]+)@")
COOKIE_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


def _loopback(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if not sep or host not in LOOPBACK_HOSTS or not port.isdigit():
        raise ValueError(f"{address!r}: this nginx listens and proxies on loopback only")
    return address


def render(
    *,
    prefix: Path,
    listen: str,
    upstreams: Sequence[str],
    static_root: Path,
    media_root: Path | None = None,
    session_cookie: str = "sessionid",
    template: Path = TEMPLATE,
    waiting_connections: int | None = None,
    waiting_upstreams: Sequence[str] = (),
) -> str:
    """The configuration text: `template` with its @NAME@ placeholders filled in.

    `media_root` is the app's MEDIA_ROOT (uploaded photos, served at /media/). Without one,
    /media/ points at a directory inside the prefix that nothing writes to: every photo is a
    404.

    `waiting_upstreams`: the waiting room's own pools (waitingroom/wsgi.py, `make serve` runs
    one); without them the waiting page goes to `upstreams` like any page.
    `waiting_connections`: how many waiting-room pages may be at those pools at once, beyond
    which nginx answers its static busy page. By default 16 per waiting pool (its processes
    and a short queue: a page takes 2-3 ms, so the last in it waits some 40 ms, where the busy
    page costs a new arrival 5-8 s and its place in the order of arrival); without waiting
    pools, 4 per app node, so that the till keeps threads free."""
    if not COOKIE_NAME_RE.match(session_cookie):
        raise ValueError(f"{session_cookie!r} cannot be used as an nginx $cookie_ variable")
    if not upstreams:
        raise ValueError("at least one app server is needed")
    values = {
        # nginx started by root drops its workers to `nobody`, who may not read the checkout or
        # a private temporary directory; a loopback process keeps the user who started it.
        "USER_DIRECTIVE": "user root;" if os.geteuid() == 0 else "",
        "PREFIX": str(prefix),
        "LISTEN": _loopback(listen),
        "UPSTREAM_SERVERS": "\n".join(
            f"        server {_loopback(upstream)};" for upstream in upstreams
        ),
        "STATIC_ROOT": str(static_root).rstrip("/"),
        "MEDIA_ROOT": str(media_root or prefix / "no-media").rstrip("/"),
        "SESSION_COOKIE": session_cookie,
        "WAITING_UPSTREAMS": "\n".join(
            f"        server {_loopback(upstream)};"
            for upstream in (waiting_upstreams or upstreams)
        ),
        "WAITING_CONNECTIONS": str(
            waiting_connections or 16 * len(waiting_upstreams) or 4 * len(upstreams)
        ),
        "PUBLIC_PATHS": "\n".join(
            f"        {line}"
            for line in PUBLIC_PATHS.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        ),
    }

    def fill(match: re.Match) -> str:
        return values[match.group(1)]  # an unknown placeholder is a KeyError, never left in

    return PLACEHOLDER_RE.sub(fill, template.read_text(encoding="utf-8"))


def write_config(prefix: Path, **values) -> Path:
    """Write `prefix/nginx.conf` and create the directories it names."""
    prefix = Path(prefix).resolve()
    for sub in ("logs", "tmp", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(render(prefix=prefix, **values), encoding="utf-8")
    return config


def command(config: Path, *extra: str) -> list[str]:
    prefix = Path(config).parent
    # In the foreground, so that whoever started it supervises it and sees it die.
    return [NGINX_BIN, "-p", str(prefix), "-c", str(config), "-g", "daemon off;", *extra]


def check(config: Path) -> None:
    """`nginx -t`: refuses a configuration nginx would refuse, with nginx's own message."""
    result = subprocess.run(  # noqa: S603 (fixed binary, our own arguments)
        command(config, "-t", "-q"), capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"nginx -t failed for {config}:\n{result.stderr}")


def wait_for_port(address: str, *, timeout: float = 15.0, process=None) -> None:
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited ({process.returncode}) before {address}")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers on {address} after {timeout} s") from None
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
