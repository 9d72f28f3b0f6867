"""`make bench`: the 9:00 opening measured end to end on this machine (issue 8).

1. A database of its own (BENCH_DATABASE_URL, default kaika_bench, dropped and rebuilt each
   run) and Redis db 9; bench/setup_data.py fills it.
2. The production stack from deploy/ on loopback: gunicorn (deploy/gunicorn.conf.py), the task
   worker, nginx with the microcache (deploy/nginx.py), DEBUG off, KAIKA_BENCH on (which routes
   the bare view and nothing else).
3. Phases of a fixed length, one after the other, each with its own load generator:
   wrk for anonymous pages and the static-file reference, locust (FastHttpUser) for the bare
   view, My page, logins and the purchase wave; password checks per second in-process.
4. The database checked after the wave (bench/check_db.py); figures to .bench/results.json,
   then docs/benchmarks.md and docs/benchmarks.png (bench/report.py).

Only loopback addresses are ever targeted. Not part of the test suite and never run in CI.
"""

import datetime
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from deploy import nginx
from deploy import serve as deploy_serve

BASE_DIR = Path(__file__).resolve().parent.parent
STATE = BASE_DIR / ".bench"
PY = sys.executable

PHASE_SECONDS = int(os.environ.get("BENCH_PHASE_SECONDS", "15"))
WAVE_SECONDS = int(os.environ.get("BENCH_WAVE_SECONDS", "30"))
WAVE_USERS = int(os.environ.get("BENCH_WAVE_USERS", "120"))
OPENS_AFTER = float(os.environ.get("BENCH_OPENS_AFTER", "5"))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "64"))
PAGE_USERS = int(os.environ.get("BENCH_PAGE_USERS", "64"))
LOGIN_USERS = int(os.environ.get("BENCH_LOGIN_USERS_CONCURRENT", "16"))
PAY_USERS = int(os.environ.get("BENCH_PAY_USERS", "32"))
# Which phases run (an experiment may run only the wave: BENCH_PHASES=wave BENCH_WRITE_DOCS=0).
PHASES = set(os.environ.get("BENCH_PHASES", "pages,private,users,logins,wave").split(","))
# Simultaneous first visits of the sign-in and sign-up pages at the opening (issue 19).
PRIVATE_CONNECTIONS = int(os.environ.get("BENCH_PRIVATE_CONNECTIONS", "100"))


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- Machine and CPU accounting --------------------------------------------------------------


def machine() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model or platform.processor(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": _postgres_version(),
        "nginx": subprocess.run(
            [nginx.NGINX_BIN, "-v"], capture_output=True, text=True, check=False
        ).stderr.strip(),
        "wrk": shutil.which("wrk") or "",
    }


def _postgres_version() -> str:
    try:
        with psycopg.connect(maintenance_url(), connect_timeout=3) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "?"


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def cpu_ticks() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def server_cpu(stack) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each process serving the benchmark: gunicorn's workers, nginx's
    workers, the task worker, and the PostgreSQL backends connected to the bench database.
    Other processes on the machine (other test suites) are not counted."""
    import psutil

    found: dict[int, tuple[str, float]] = {}
    roots = {} if stack is None else {n: p.pid for n, p in stack.processes.items()}
    for group, pid in roots.items():
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                t = proc.cpu_times()
                found[proc.pid] = ("app" if group == "gunicorn" else group, t.user + t.system)
        except psutil.Error:
            continue
    database = psycopg.conninfo.conninfo_to_dict(bench_database_url()).get("dbname")
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] == "postgres" or cmdline.startswith("postgres:"):
                if f" {database} " in cmdline:
                    t = proc.cpu_times()
                    found[proc.pid] = ("postgres", t.user + t.system)
        except psutil.Error:
            continue
    return found


class Measured:
    """CPU of the load generator (children reaped during the block), of the processes serving
    the benchmark (by group), and how busy the whole machine was."""

    def __init__(self, stack=None):
        self.stack = stack

    def __enter__(self):
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.ticks = cpu_ticks()
        self.server = server_cpu(self.stack)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy, total = cpu_ticks()
        self.wall = time.monotonic() - self.started
        cores = len(os.sched_getaffinity(0))
        generator = (after.ru_utime - self.children.ru_utime) + (
            after.ru_stime - self.children.ru_stime
        )
        self.generator_share = generator / (self.wall * cores)
        self.machine_busy = (busy - self.ticks[0]) / max(total - self.ticks[1], 1)
        self.generator_seconds = generator
        self.server_seconds: dict[str, float] = {}
        for pid, (group, seconds) in server_cpu(self.stack).items():
            before = self.server.get(pid, (group, 0.0))[1]
            self.server_seconds[group] = self.server_seconds.get(group, 0.0) + seconds - before
        return False

    def figures(self) -> dict:
        return {
            "generator_cpu_share": round(self.generator_share, 3),
            "generator_cpu_s": round(self.generator_seconds, 2),
            "server_cpu_s": {k: round(v, 2) for k, v in self.server_seconds.items()},
            "machine_cpu_busy": round(self.machine_busy, 3),
            "wall_s": round(self.wall, 2),
        }


# --- The stack -------------------------------------------------------------------------------


def bench_database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kaika_bench")


def maintenance_url() -> str:
    return psycopg.conninfo.make_conninfo(bench_database_url(), dbname="postgres")


def recreate_database() -> None:
    name = psycopg.conninfo.conninfo_to_dict(bench_database_url()).get("dbname")
    if not name or "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the benchmark's database must say bench")
    with psycopg.connect(maintenance_url(), autocommit=True, connect_timeout=3) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def environment(serve_port: int, app_port: int) -> dict[str, str]:
    env = deploy_serve.environment(serve_port, app_port)
    env.update(
        DATABASE_URL=bench_database_url(),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        CACHE_KEY_PREFIX="kaika-bench",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        STATIC_ROOT=str(STATE / "static"),
        MEDIA_ROOT=str(STATE / "media"),
        MAIL_BACKEND="file",
        MAIL_FILE_PATH=str(STATE / "mail"),
        KAIKA_BENCH="true",
        # Every simulated supporter comes from 127.0.0.1: allauth's per-address login limit
        # (30 a minute) would otherwise be what this measures.
        RATE_LIMIT_LOGIN="1000000/m/ip",
        RATE_LIMIT_LOGIN_FAILED="1000000/m/ip",
        LOG_LEVEL="WARNING",
        # Workers are not recycled during the run (production recycles every ~5,000
        # requests): a recycled worker would take its CPU account with it.
        GUNICORN_MAX_REQUESTS="0",
        GUNICORN_WAITING_MAX_REQUESTS="0",
    )
    return env


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


class Stack:
    def __init__(self, env: dict[str, str], serve_port: int):
        self.env = env
        self.serve_port = serve_port
        # The waiting room's own pool, as `make serve` runs it (deploy/serve.py).
        self.waiting_bind = f"127.0.0.1:{nginx.free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs = STATE / "logs"

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        # The database was rebuilt: a previous run's copies of its pages (same URLs) must not
        # be served, not even once as stale.
        shutil.rmtree(STATE / "nginx" / "cache", ignore_errors=True)
        config = nginx.write_config(
            STATE / "nginx",
            listen=f"127.0.0.1:{self.serve_port}",
            upstreams=[self.env["GUNICORN_BIND"]],
            waiting_upstreams=[self.waiting_bind],
            static_root=Path(self.env["STATIC_ROOT"]),
            media_root=Path(self.env["MEDIA_ROOT"]),
        )
        nginx.check(config)

        def spawn(name: str, command: list[str], env: dict[str, str] | None = None) -> None:
            out = (self.logs / f"{name}.log").open("w")
            self.processes[name] = subprocess.Popen(
                command,
                env=env or self.env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        for name, (command, env) in deploy_serve.app_processes(self.env, self.waiting_bind).items():
            spawn(name, command, env)
        nginx.wait_for_port(
            self.env["GUNICORN_BIND"], timeout=30, process=self.processes["gunicorn"]
        )
        nginx.wait_for_port(self.waiting_bind, timeout=30, process=self.processes["waiting"])
        spawn("nginx", nginx.command(config))
        nginx.wait_for_port(f"127.0.0.1:{self.serve_port}", process=self.processes["nginx"])

    def stop(self) -> None:
        deploy_serve.stop(self.processes)

    def alive(self) -> None:
        dead = [n for n, p in self.processes.items() if p.poll() is not None]
        if dead:
            raise SystemExit(f"{', '.join(dead)} died: see {self.logs}")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], env=env, cwd=BASE_DIR, check=True)


def django_json(env: dict[str, str], module: str, *args: str) -> dict:
    out = subprocess.run(
        [PY, "-m", module, *args], env=env, cwd=BASE_DIR, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- Load generators -------------------------------------------------------------------------


def wrk(
    stack,
    name: str,
    url: str,
    *script_args: str,
    seconds: int = PHASE_SECONDS,
    connections: int = WRK_CONNECTIONS,
    headers: tuple[str, ...] = (),
    delay_ms: str | None = None,
) -> dict:
    """`delay_ms`: each connection waits that long between its requests (wrk_report.lua), for
    a paced load rather than as fast as wrk can."""
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        *(f"--header={h}" for h in headers),
        "-s",
        str(BASE_DIR / "bench" / "wrk_report.lua"),
        url,
    ]
    if script_args:
        command += ["--", *script_args]
    log(f"{name}: wrk {connections} connections, {seconds} s")
    with Measured(stack) as cpu:
        env = {**os.environ, "BENCH_WRK_DELAY_MS": delay_ms} if delay_ms else None
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    duration = raw["duration_us"] / 1e6
    errors = {k: v for k, v in raw["errors"].items() if v and k != "status"}
    result = {
        "name": name,
        "tool": "wrk",
        "connections": connections,
        "requests": raw["requests"],
        "rps": raw["requests"] / duration,
        "p50_ms": raw["p50"] / 1000,
        "p95_ms": raw["p95"] / 1000,
        "p99_ms": raw["p99"] / 1000,
        "statuses": {str(k): v for k, v in raw["statuses"].items()},
        "cache": raw.get("cache", {}),
        "socket_errors": errors,
        "bytes_per_response": raw["bytes"] / max(raw["requests"], 1),
        **cpu.figures(),
    }
    log(
        f"  {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
    )
    return result


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def locust(
    stack,
    phase: str,
    user_class: str,
    users: int,
    seconds: int,
    host: str,
    data: Path,
    *,
    during=None,
) -> dict:
    """One headless locust run; returns its raw counters (see bench/locustfile.py)."""
    result_path = STATE / f"locust-{phase}.json"
    result_path.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_DATA=str(data), BENCH_RESULT=str(result_path))
    command = [
        PY,
        "-m",
        "locust",
        "-f",
        str(BASE_DIR / "bench" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
        user_class,
    ]
    log(f"{phase}: locust {user_class}, {users} users, {seconds} s")
    with Measured(stack) as cpu:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=(STATE / "logs" / f"locust-{phase}.log").open("w"),
        )
        extra = during(process) if during else None
        process.wait()
    raw = json.loads(result_path.read_text())
    return {"raw": raw, "cpu": cpu.figures(), "seconds": seconds, "users": users, "extra": extra}


def endpoint_figures(run: dict, name: str) -> dict:
    raw = run["raw"]
    times = raw["times"].get(name, [])
    statuses = {str(s): c for n, s, c in raw["statuses"] if n == name}
    ends = raw["finished"].get(name, [])
    # From the start of the test to the last response of this kind: requests still in flight
    # when locust stops are allowed to finish and count.
    duration = (max(ends) - raw["started_at"]) if ends and raw.get("started_at") else run["seconds"]
    return {
        "name": name,
        "tool": "locust",
        "users": run["users"],
        "requests": len(times),
        "rps": len(times) / duration if duration > 0 else 0.0,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "p99_ms": percentile(times, 99),
        "statuses": statuses,
        **run["cpu"],
    }


def cpu_in_window(samples: list, start: float, end: float) -> dict:
    """CPU seconds of each serving group between the samples nearest to start and end."""
    if not samples:
        return {}
    first = min(samples, key=lambda s: abs(s[0] - start))
    last = min(samples, key=lambda s: abs(s[0] - end))
    seconds = {g: round(last[1].get(g, 0.0) - v, 2) for g, v in first[1].items()}
    return {"from": first[0] - start, "to": last[0] - start, "cpu_s": seconds}


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        return response.read()


def shared_lifetime(url: str) -> int:
    """The s-maxage the app sends for `url`: how long the microcache keeps it."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        cache_control = response.headers.get("Cache-Control", "")
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name == "s-maxage":
            return int(value)
    raise SystemExit(f"{url} sent no s-maxage: {cache_control!r}")


# --- The run ---------------------------------------------------------------------------------


def main() -> int:
    for tool in ("wrk",):
        if not shutil.which(tool):
            log("wrk is missing: apt-get install -y wrk")
            return 1
    if not Path(nginx.NGINX_BIN).exists():
        log(f"{nginx.NGINX_BIN} is missing: apt-get install nginx-light")
        return 1
    serve_port = int(os.environ.get("BENCH_PORT", "0")) or nginx.free_port()
    app_port = nginx.free_port()
    STATE.mkdir(exist_ok=True)
    results: dict = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "make bench",
        "machine": machine(),
        "load_before": loadavg(),
        "settings": {
            "phase_seconds": PHASE_SECONDS,
            "wave_seconds": WAVE_SECONDS,
            "wave_users": WAVE_USERS,
            "page_users": PAGE_USERS,
            "login_users": LOGIN_USERS,
            "wrk_threads": WRK_THREADS,
            "wrk_connections": WRK_CONNECTIONS,
            "opens_after_s": OPENS_AFTER,
            "gunicorn_workers": os.environ.get("GUNICORN_WORKERS", "max(2, cores)"),
            "gunicorn_threads": os.environ.get("GUNICORN_THREADS", "4"),
        },
    }
    log(f"load average before: {results['load_before']}")

    env = environment(serve_port, app_port)
    log("rebuilding the benchmark database")
    recreate_database()
    flush_redis(env["REDIS_URL"])
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    data = STATE / "data.json"
    started = time.monotonic()
    subprocess.run([PY, "-m", "bench.setup_data", str(data)], env=env, cwd=BASE_DIR, check=True)
    results["setup_seconds"] = round(time.monotonic() - started, 1)
    dataset = json.loads(data.read_text())

    log("password checks in-process (all cores)")
    results["hashers"] = django_json(env, "bench.hashers", "4")

    stack = Stack(env, serve_port)
    host = f"http://127.0.0.1:{serve_port}"
    try:
        stack.start()
        log(f"stack up at {host}")
        # Warm every worker (imports, templates, pools) before measuring anything.
        for _ in range(20):
            fetch(f"{host}/")
            fetch(f"{host}/shops/")
        home = fetch(f"{host}/")
        static_file = Path(env["STATIC_ROOT"]) / "bench" / "home-size.html"
        static_file.parent.mkdir(parents=True, exist_ok=True)
        static_file.write_bytes(b"x" * len(home))
        results["home_bytes"] = len(home)

        endpoints = results["endpoints"] = {}
        checked_runs = []  # the locust runs whose bodies were checked for leaks
        if "pages" in PHASES:
            anonymous_pages(stack, host, dataset, endpoints, results)
        if "private" in PHASES:
            private_pages(stack, host, f"http://127.0.0.1:{app_port}", endpoints)
        if "users" in PHASES:
            bare = locust(stack, "bare", "BareUser", PAGE_USERS, PHASE_SECONDS, host, data)
            endpoints["bare"] = endpoint_figures(bare, "bare view")
            mypage = locust(stack, "mypage", "MyPageUser", PAGE_USERS, PHASE_SECONDS, host, data)
            endpoints["mypage"] = endpoint_figures(mypage, "My page")
            stack.alive()
            checked_runs += [bare, mypage]
        if "logins" in PHASES:
            login_phases(stack, host, data, endpoints)
        if "wave" in PHASES:
            wave, opened = wave_phase(stack, env, host, data, dataset)
            checked_runs.append(wave)
            # Each order the wave created is paid, through the provider's card page.
            orders = wave["raw"]["created_orders"]
            pay_data = STATE / "data-pay.json"
            pay_data.write_text(json.dumps({**dataset, "orders_to_pay": orders}))
            payments = locust(
                stack, "pay", "PaymentUser", PAY_USERS, PHASE_SECONDS * 2, host, pay_data
            )
    finally:
        stack.stop()

    if "wave" in PHASES:
        wave_results(results, env, endpoints, wave, opened, payments)
    results["leaks"] = {
        "total": sum(r["raw"]["findings_total"] for r in checked_runs),
        "findings": [f for r in checked_runs for f in r["raw"]["findings"]][:20],
        "outcomes": {k: v for r in checked_runs for k, v in r["raw"]["outcomes"].items()},
    }
    results["load_after"] = loadavg()
    (STATE / "results.json").write_text(json.dumps(results, indent=1, default=str))
    log(f"results in {STATE / 'results.json'}")

    if os.environ.get("BENCH_WRITE_DOCS", "1") == "1":  # 0: an experiment, figures in .bench only
        from bench import report

        report.write(results)
    return 0


def anonymous_pages(stack, host: str, dataset: dict, endpoints: dict, results: dict) -> None:
    lo, hi = min(dataset["shop_ids"]), max(dataset["shop_ids"])
    endpoints["static"] = wrk(
        stack, "static file (home size)", f"{host}/static/bench/home-size.html"
    )
    endpoints["home"] = wrk(stack, "home", f"{host}/")
    endpoints["shop_list"] = wrk(stack, "shop list", f"{host}/shops/")
    # The shops people open at 9:00 are a few popular ones, and then everything else.
    endpoints["shop_popular"] = wrk(
        stack,
        "shop page (100 popular shops)",
        f"{host}/shops/",
        str(lo),
        str(lo + 99),
        "/shops/",
    )
    # Every shop page once, one after the other with 4 clients: what a page costs when
    # nobody has asked for it yet (each request renders it). Before 9:00 people browse the
    # shops, so at 9:00 every page has a copy, refreshed in the background (nginx serves
    # the previous copy while one request updates it).
    results["shop_warmup"] = warm_shop_pages(stack, host, dataset["shop_ids"])
    # Shop pages are kept KAIKA_SHOP_PAGE_SHARED_MAX_AGE by the microcache (read from what the
    # stack sends, not assumed): the phase lasts that long on top of its usual length, so
    # every copy the warm-up made expires and is rendered again inside it. A phase shorter
    # than the lifetime would measure the warm-up's copies only, all hits.
    lifetime = shared_lifetime(f"{host}/shops/{lo}/")
    results["shop_page_shared_lifetime"] = lifetime
    results["shop_phase_seconds"] = PHASE_SECONDS + (lifetime if lifetime > 1 else 0)
    endpoints["shop_detail"] = wrk(
        stack,
        "shop page (3,200 shops at random)",
        f"{host}/shops/",
        str(lo),
        str(hi),
        "/shops/",
        seconds=results["shop_phase_seconds"],
    )
    stack.alive()


def private_pages(stack, host: str, app: str, endpoints: dict) -> None:
    """Sign-in and sign-up pages, first visits (no cookie) all at once: through nginx, and
    straight to gunicorn. A front that locked private pages would queue them (issue 19)."""
    for key, label, path in (
        ("login_page", "sign-in page", "/accounts/login/"),
        ("signup_page", "sign-up page", "/accounts/signup/"),
    ):
        for where, base in (("front", host), ("direct", app)):
            endpoints[f"{key}_{where}"] = wrk(
                stack,
                f"{label}, {'through the front' if where == 'front' else 'straight to gunicorn'}",
                f"{base}{path}",
                connections=PRIVATE_CONNECTIONS,
            )


def warm_shop_pages(stack, host: str, shop_ids: list[int]) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    log(f"shop pages, first visit of each of {len(shop_ids):,}: 4 clients")
    with Measured(stack) as cpu:
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            sizes = list(pool.map(lambda i: len(fetch(f"{host}/shops/{i}/")), shop_ids))
        seconds = time.monotonic() - started
    figures = {"pages": len(sizes), "seconds": round(seconds, 1), **cpu.figures()}
    figures["pages_per_second"] = len(sizes) / seconds
    log(f"  {figures['pages_per_second']:.0f} pages/s")
    return figures


def login_phases(stack, host: str, data: Path, endpoints: dict) -> None:
    logins = {}
    for key, user_class in (("argon2", "LoginUser"), ("pbkdf2", "Pbkdf2LoginUser")):
        run = locust(stack, f"login-{key}", user_class, LOGIN_USERS, PHASE_SECONDS, host, data)
        name = run["raw"]["times"] and next(iter(run["raw"]["times"]))
        figures = endpoint_figures(run, name) if name else {"rps": 0.0}
        ok = sum(v for k, v in run["raw"]["outcomes"].items() if k.endswith("logged in"))
        figures["logins_per_second"] = ok * figures["rps"] / max(figures["requests"], 1)
        figures["outcomes"] = run["raw"]["outcomes"]
        logins[key] = endpoints[f"login_{key}"] = figures
    stack.alive()


def wave_phase(stack, env: dict, host: str, data: Path, dataset: dict) -> tuple[dict, dict]:
    """Supporters reload the round page; the round opens OPENS_AFTER seconds later."""
    opened = {}

    def open_round(process):
        time.sleep(1.0)  # locust has spawned its users and they are polling
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            row = conn.execute(
                "UPDATE projects_round SET opens_at = now() + make_interval(secs => %s) "
                "WHERE id = %s RETURNING opens_at",
                [OPENS_AFTER, dataset["round_id"]],
            ).fetchone()
        opened["at"] = row[0]
        log(f"round opens at {row[0].isoformat()}")
        # The serving processes' CPU, sampled every half second while the wave runs: the
        # CPU per order is then taken over the buying window only (from the opening to
        # the last order), not over the polling before it or the refusals after it.
        samples = []
        while process.poll() is None:
            totals: dict[str, float] = {}
            for group, seconds in server_cpu(stack).values():
                totals[group] = totals.get(group, 0.0) + seconds
            samples.append((time.time(), totals))
            time.sleep(0.5)
        return samples

    wave = locust(
        stack, "wave", "WaveUser", WAVE_USERS, WAVE_SECONDS, host, data, during=open_round
    )
    stack.alive()
    return wave, opened


def wave_results(results, env, endpoints, wave, opened, payments) -> None:
    checks = django_json(env, "bench.check_db", opened["at"].isoformat())
    results["database"] = checks
    opened_ts = opened["at"].timestamp()
    endpoints["wave_round_page"] = endpoint_figures(wave, "wave: GET round page (public)")
    endpoints["wave_confirm"] = endpoint_figures(wave, "wave: POST confirm")
    for name in ("pay: GET order pay", "pay: POST sandbox card", "pay: GET return"):
        if payments["raw"]["times"].get(name):
            endpoints[name] = endpoint_figures(payments, name)
    results["wave"] = {
        "opened_at": opened["at"].isoformat(),
        "window_cpu": cpu_in_window(
            wave["extra"] or [], opened_ts, opened_ts + checks["last_order_after_opening_s"]
        ),
        "outcomes": wave["raw"]["outcomes"],
        "cpu": wave["cpu"],
        "confirm_ends_after_opening": [
            round(t - opened_ts, 3) for t in wave["raw"]["finished"].get("wave: POST confirm", [])
        ],
    }
    paid = payments["raw"]["outcomes"].get("order paid", 0)
    finished = [t for times in payments["raw"]["finished"].values() for t in times]
    span = (max(finished) - payments["raw"]["started_at"]) if finished else 0
    results["payments"] = {
        "users": payments["users"],
        "orders": len(wave["raw"]["created_orders"]),
        "paid": paid,
        "seconds": round(span, 1),
        "payments_per_second": paid / span if span else 0.0,
        "outcomes": payments["raw"]["outcomes"],
        "cpu": payments["cpu"],
    }


if __name__ == "__main__":
    sys.exit(main())
