"""`make bench-waitroom`: the waiting room at 9:00 (issue 23), on the production stack.

1. Fairness: bench/waitroom_fairness.py, the real queue in Redis with a simulated clock.
2. The waiting page against the static file of the same size, through nginx (wrk): visitors
   polling their place in a paused queue of BENCH_WAITROOM_QUEUE, the public line their
   page's script reads instead (what a waiting browser asks for every few seconds), and new
   arrivals.
3. The till: one operator redeeming (entry, confirmation, 確定) back to back, alone, then
   during each of WAVES (new arrivals to the waiting page and reads of the public line, at
   the specified pace, or as fast as wrk can); p95 of a whole redemption each time.
4. The crowd: BENCH_CROWD_VISITORS signed-in visitors arriving within the 60 s around an
   opening, following the line, and posting real orders when let in (bench/waitroom_crowd.py,
   BENCH_CROWD_ADMIT_PER_SECOND the room's pace); the
   serving processes sampled each second (CPU by group, gunicorn's listen backlog), the
   order POST's percentiles, and PostgreSQL checked after against the listing's stock.

Its own database (BENCH_WAITROOM_DATABASE_URL, default kaika_bench_waitroom, rebuilt) and the
bench's Redis (BENCH_REDIS_URL). Figures to .bench/waitroom.json and printed; the numbers go to
docs/benchmarks.md by hand (section "Waiting room"). Only loopback is ever targeted.
"""

import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench import run
from deploy import nginx

VISITORS = int(os.environ.get("BENCH_WAITROOM_VISITORS", "20000"))
QUEUE = int(os.environ.get("BENCH_WAITROOM_QUEUE", "20000"))
TILL_SECONDS = int(os.environ.get("BENCH_TILL_SECONDS", "20"))
# The wave as specified: 20,000 visitors, each looking every 5-10 s (7.5 s on average), and
# 333 new arrivals a second: about 3,000 requests a second. As browsers make it now, the
# arrivals join at the pool (64 connections 192 ms apart) and the others read the public line
# (64 connections 24 ms apart); and, as the page's reloads were before it followed the line,
# every one of the 3,000 a join (64 connections 20 ms apart). Then a flood (no delay).
WAVES = (
    ("wave", "the wave as browsers make it (~330 arrivals + ~2,700 line reads/s)", "192", "24"),
    ("joins", "the wave with every request a join (~3,000 arrivals/s)", "20", None),
    ("flood", "a flood of arrivals (wrk as fast as it can)", None, None),
)
CROWD = int(os.environ.get("BENCH_CROWD_VISITORS", "20000"))
# Which phases run (an experiment may run only the crowd: BENCH_WAITROOM_PHASES=crowd).
PHASES = set(os.environ.get("BENCH_WAITROOM_PHASES", "fairness,pages,till,crowd").split(","))
# Arrivals start 30 s before the opening; the crowd stops CROWD_AFTER seconds after it.
CROWD_LEAD = float(os.environ.get("BENCH_CROWD_LEAD", "35"))
CROWD_AFTER = float(os.environ.get("BENCH_CROWD_AFTER", "90"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(url: str, *, cookie: str, data: dict | None = None) -> tuple[int, str, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    # Always the loopback stack this script started (http://127.0.0.1:port).
    req = urllib.request.Request(url, data=body, headers={"Cookie": cookie})  # noqa: S310
    try:
        with OPENER.open(req, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def till(host: str, data: dict, seconds: float) -> dict:
    """Whole redemptions of 1 yen, one after the other, for `seconds`."""
    person = data["operator"]
    cookie = f"sessionid={person['session']}; csrftoken={person['csrf']}"
    url = f"{host}/shops/manage/{data['shop_id']}/redeem/"
    times, failures = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        status, page, _ = request(url, cookie=cookie)
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        form = {
            "csrfmiddlewaretoken": person["csrf"],
            "code": data["wallet_code"],
            "amount": "1",
            "idempotency_key": key.group(1) if key else secrets.token_urlsafe(24),
        }
        shown, _, _ = request(url, cookie=cookie, data=form)
        done, _, _ = request(url, cookie=cookie, data={**form, "action": "confirm"})
        if (status, shown, done) != (200, 200, 302):
            failures += 1
            continue
        times.append((time.monotonic() - started) * 1000)
    return {
        "redemptions": len(times),
        "failures": failures,
        "p50_ms": round(run.percentile(times, 50), 1),
        "p95_ms": round(run.percentile(times, 95), 1),
        "p99_ms": round(run.percentile(times, 99), 1),
    }


def listen_backlog(ports: dict[str, int]) -> dict[str, int]:
    """Connections waiting to be accepted on each listening port (ss's Recv-Q)."""
    out = run.subprocess.run(
        ["ss", "-ltnH"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    found = dict.fromkeys(ports, 0)
    for line in out:
        fields = line.split()
        if len(fields) >= 4:
            for name, port in ports.items():
                if fields[3].endswith(f":{port}"):
                    found[name] = int(fields[1])
    return found


class Saturation(threading.Thread):
    """Each second: cores used by each group of serving processes and by its busiest process,
    the whole machine's busy share, and the listen backlog of each gunicorn pool."""

    def __init__(self, stack, ports: dict[str, int]):
        super().__init__(daemon=True)
        self.stack, self.ports = stack, ports
        self.samples: list[dict] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        before, ticks, clock = run.server_cpu(self.stack), run.cpu_ticks(), time.monotonic()
        while not self.stopping.wait(1.0):
            now_cpu, now_ticks, now = run.server_cpu(self.stack), run.cpu_ticks(), time.monotonic()
            cores: dict[str, float] = {}
            busiest: dict[str, float] = {}
            for pid, (group, seconds) in now_cpu.items():
                used = seconds - before.get(pid, (group, 0.0))[1]
                cores[group] = cores.get(group, 0.0) + used
                busiest[group] = max(busiest.get(group, 0.0), used)
            wall = now - clock
            self.samples.append(
                {
                    "cores": {g: round(c / wall, 3) for g, c in cores.items()},
                    # A process can use one core at most: this is how near its ceiling the
                    # busiest process of each group was.
                    "busiest_process": {g: round(c / wall, 3) for g, c in busiest.items()},
                    "machine_busy": round(
                        (now_ticks[0] - ticks[0]) / max(now_ticks[1] - ticks[1], 1), 3
                    ),
                    "backlog": listen_backlog(self.ports),
                }
            )
            before, ticks, clock = now_cpu, now_ticks, now

    def summary(self) -> dict:
        groups = sorted({g for s in self.samples for g in s["cores"]})
        cores = {g: [s["cores"].get(g, 0.0) for s in self.samples] for g in groups}
        busy = [s["machine_busy"] for s in self.samples]
        return {
            "seconds": len(self.samples),
            "cores_mean": {g: round(sum(v) / max(len(v), 1), 2) for g, v in cores.items()},
            "cores_p95": {g: round(run.percentile(v, 95), 2) for g, v in cores.items()},
            "busiest_process_p95": {
                g: round(
                    run.percentile([s["busiest_process"].get(g, 0.0) for s in self.samples], 95), 2
                )
                for g in groups
            },
            "machine_busy_mean": round(sum(busy) / max(len(busy), 1), 3),
            "machine_busy_p95": round(run.percentile(busy, 95), 3),
            "seconds_machine_busy_over_95pct": sum(1 for b in busy if b > 0.95),
            "backlog_max": {
                n: max((s["backlog"][n] for s in self.samples), default=0) for n in self.ports
            },
        }


def crowd(stack, env: dict, host: str) -> dict:
    """The 9:00 opening with CROWD visitors (see the module's docstring, 4)."""
    out = run.STATE / "waitroom-crowd.json"
    run.log(f"crowd: {CROWD:,} signed-in visitors, the opening {CROWD_LEAD:.0f} s after setup")
    run.subprocess.run(
        [run.PY, "-m", "bench.waitroom_setup", "--crowd", str(CROWD), str(CROWD_LEAD), str(out)],
        env=env,
        cwd=run.BASE_DIR,
        check=True,
    )
    data = json.loads(out.read_text())
    ports = {
        "app": int(env["GUNICORN_BIND"].rpartition(":")[2]),
        "waiting": int(stack.waiting_bind.rpartition(":")[2]),
    }
    sampler = Saturation(stack, ports)
    sampler.start()
    with run.Measured(stack) as cpu:
        client = run.subprocess.run(
            [run.PY, "-m", "bench.waitroom_crowd", str(out), host, str(CROWD_AFTER)],
            env=env,
            cwd=run.BASE_DIR,
            check=False,
            stdout=run.subprocess.PIPE,
            stderr=(run.STATE / "logs" / "crowd.log").open("w"),
            text=True,
        ).stdout
    sampler.stopping.set()
    sampler.join()
    result = {
        "client": json.loads(client.strip().splitlines()[-1]),
        "client_cpu": cpu.figures(),
        "saturation": sampler.summary(),
        "samples": sampler.samples,
        "admit_per_second": data["admit_per_second"],
    }
    result["database"] = run.django_json(
        env, "bench.waitroom_setup", "--crowd-check", str(data["project_id"])
    )
    return result


def main() -> int:
    os.environ["BENCH_DATABASE_URL"] = os.environ.get(
        "BENCH_WAITROOM_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kaika_bench_waitroom"
    )
    serve_port, app_port = nginx.free_port(), nginx.free_port()
    run.STATE.mkdir(exist_ok=True)
    env = run.environment(serve_port, app_port)
    env["BENCH_WAITROOM_QUEUE"] = str(QUEUE)
    results: dict = {"machine": run.machine(), "load_before": run.loadavg()}
    run.log("rebuilding the waiting room benchmark's database")
    run.recreate_database()
    run.flush_redis(env["REDIS_URL"])
    run.manage(env, "migrate", "--noinput", "-v", "0")
    run.manage(env, "collectstatic", "--noinput", "-v", "0")

    if "fairness" in PHASES:
        run.log(f"fairness: {VISITORS:,} visitors within the 60 s around the opening")
        results["fairness"] = run.django_json(env, "bench.waitroom_fairness", str(VISITORS))
        run.log(f"  {results['fairness']}")

    out = run.STATE / "waitroom-data.json"
    run.subprocess.run(
        [run.PY, "-m", "bench.waitroom_setup", str(out)], env=env, cwd=run.BASE_DIR, check=True
    )
    data = json.loads(out.read_text())

    stack = run.Stack(env, serve_port)
    host = f"http://127.0.0.1:{serve_port}"
    endpoints = results["endpoints"] = {}
    try:
        stack.start()
        for _ in range(20):
            run.fetch(f"{host}/")
        wait_path = f"/rounds/{data['round_id']}/waiting/?listing={data['listing_id']}&units=1"
        session = data["supporter"]["session"]
        status, page, headers = request(f"{host}{wait_path}", cookie=f"sessionid={session}")
        visitor = re.search(r"kaika_wr=([^;]+)", headers.get("Set-Cookie", "")).group(1)
        position = re.search(r"(\d+)</span> 番目", page)
        results["waiting_page"] = {
            "status": status,
            "bytes": len(page.encode()),
            "queue_ahead": int(position.group(1)) - 1 if position else None,
        }
        static_file = Path(env["STATIC_ROOT"]) / "bench" / "waiting-size.html"
        static_file.parent.mkdir(parents=True, exist_ok=True)
        static_file.write_bytes(b"x" * len(page.encode()))

        if "pages" in PHASES:
            endpoints["static"] = run.wrk(
                stack, "static file (waiting page size)", f"{host}/static/bench/waiting-size.html"
            )
            endpoints["waiting_poll"] = run.wrk(
                stack,
                "waiting page, a visitor polling their place",
                f"{host}{wait_path}",
                headers=(f"Cookie: sessionid={session}; kaika_wr={visitor}",),
            )
            # What every waiting browser asks for every few seconds (static/js/waiting-room.js):
            # the public line, answered by nginx from its copy.
            endpoints["waiting_line"] = run.wrk(
                stack,
                "the public line, a visitor following their place",
                f"{host}/rounds/{data['round_id']}/waiting/line/",
                headers=(f"Cookie: sessionid={session}; kaika_wr={visitor}",),
            )
            endpoints["waiting_arrival"] = run.wrk(
                stack,
                "waiting page, new arrivals (each joins the queue)",
                f"{host}{wait_path}",
                headers=(f"Cookie: sessionid={session}",),
            )
        if "till" in PHASES:
            run.log(f"till alone: {TILL_SECONDS} s")
            results["till_alone"] = till(host, data, TILL_SECONDS)
            run.log(f"  {results['till_alone']}")
            wait_url = f"{host}{wait_path}"
            line_url = f"{host}/rounds/{data['round_id']}/waiting/line/"

            def paced(name: str, title: str, url: str, delay: str | None) -> None:
                endpoints[name] = run.wrk(
                    stack,
                    title,
                    url,
                    headers=(f"Cookie: sessionid={session}",),
                    seconds=TILL_SECONDS + 4,
                    delay_ms=delay,
                )

            for key, label, arrivals, line in WAVES:
                run.log(f"till during {label}")
                loads = [(f"{key}_arrival", f"waiting page arrivals, {label}", wait_url, arrivals)]
                if line:
                    loads.append((f"{key}_line", f"the public line, {label}", line_url, line))
                threads = [threading.Thread(target=paced, args=load) for load in loads]
                for thread in threads:
                    thread.start()
                time.sleep(2)  # the wave is on
                results[f"till_{key}"] = till(host, data, TILL_SECONDS)
                for thread in threads:
                    thread.join()
                run.log(f"  {results[f'till_{key}']}")
        stack.alive()
        if CROWD and "crowd" in PHASES:
            results["crowd"] = crowd(stack, env, host)
            run.log(f"  {json.dumps(results['crowd']['client'])}")
            run.log(f"  {json.dumps(results['crowd']['saturation'])}")
            run.log(f"  {json.dumps(results['crowd']['database'])}")
            stack.alive()
    finally:
        stack.stop()

    results["summary"] = summary = {}
    if "static" in endpoints and "waiting_poll" in endpoints:
        static = endpoints["static"]["rps"]
        summary["waiting_poll_vs_static"] = round(endpoints["waiting_poll"]["rps"] / static, 3)
        summary["waiting_line_vs_static"] = round(endpoints["waiting_line"]["rps"] / static, 3)
        summary["waiting_arrival_vs_static"] = round(
            endpoints["waiting_arrival"]["rps"] / static, 3
        )
        # The pages the waiting room's pool rendered (200) against the front's busy page (503).
        summary["app_answered_share"] = {
            k: round(e["statuses"].get("200", 0) / max(e["requests"], 1), 3)
            for k, e in endpoints.items()
            if "line" not in k and k != "static"  # the line: nginx's copy, not the pool
        }
    if "till_alone" in results:
        alone = max(results["till_alone"]["p95_ms"], 0.1)
        for key, *_ in WAVES:
            summary[f"till_p95_ratio_{key}"] = round(results[f"till_{key}"]["p95_ms"] / alone, 2)
    if "crowd" in results:
        c = results["crowd"]
        results["summary"]["crowd"] = {
            "order_post_p99_ms": c["client"]["order_post_p99_ms"],
            "overshoot": c["database"]["stock_overshoot"] + c["database"]["budget_overshoot"],
            "machine_busy_mean": c["saturation"]["machine_busy_mean"],
            "backlog_max": c["saturation"]["backlog_max"],
        }
    results["load_after"] = run.loadavg()
    (run.STATE / "waitroom.json").write_text(json.dumps(results, indent=1, default=str))
    run.log(json.dumps(results["summary"]))
    run.log(f"results in {run.STATE / 'waitroom.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
