"""The 9:00 crowd (issue 23): N signed-in visitors arrive within the 60 s around the opening,
each behaves as its waiting page's script does (static/js/waiting-room.js): it reads the
public line every few seconds (the further back, the less often), learns its place from its
ticket (or, from the pre-queue, from the drawn order's part with its place name), and reloads
the page when its turn has come, or when the page has no line to follow (data-refresh; nginx's
busy page: 5 s). Each visitor who is let in opens the order confirmation and posts an order
of 1 unit with its pass, through nginx and gunicorn to PostgreSQL.

    python -m bench.waitroom_crowd DATA.json http://127.0.0.1:PORT SECONDS   -> JSON on stdout

DATA.json is bench/waitroom_setup.py --crowd's output. The client is one asyncio process with
hand-written HTTP/1.1 over a pool of keep-alive connections (like the many browsers behind a
few proxies): about 60 µs of CPU a request, so it takes as little as possible of the 2 cores
it shares with the stack. Loopback only; bounded by SECONDS after the opening.
"""

import asyncio
import json
import os
import random
import re
import sys
import time
import urllib.parse

from bench.run import percentile

CONNECTIONS = int(os.environ.get("BENCH_CROWD_CONNECTIONS", "128"))
ARRIVAL_SPREAD = 30.0  # arrivals within ± this many seconds of the opening
BUSY_RELOAD = 5.0  # the busy page's data-refresh (static/waitingroom/_waiting_busy.html)

REFRESH_RE = re.compile(rb'data-refresh="(\d+)"')
DATA_RE = re.compile(rb'data-(line|ticket|place|places)="([^"]+)"')
# static/js/waiting-room.js's timings.
JITTER, LEAST, MOST = 3.0, 3.0, 20.0
KEY_RE = re.compile(rb'name="idempotency_key" value="([^"]+)"')
COOKIE_RE = re.compile(r"^([^=;]+)=([^;]*)")


def loopback(host: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(host)
    if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"{host}: the crowd only ever targets loopback")
    return url.hostname, url.port or 80


def keep_cookies(cookies: dict, headers: dict) -> None:
    for cookie in headers.get("set-cookie", []):
        found = COOKIE_RE.match(cookie)
        if found:
            cookies[found[1]] = found[2]


class Pool:
    """Keep-alive connections, each lent to one request at a time."""

    def __init__(self, host: str, port: int, size: int):
        self.host, self.port = host, port
        self.idle: asyncio.Queue = asyncio.Queue()
        for _ in range(size):
            self.idle.put_nowait(None)

    async def request(
        self, method: str, target: str, cookies: dict, body: bytes = b""
    ) -> tuple[int, dict, bytes]:
        conn = await self.idle.get()
        try:
            for attempt in (0, 1):
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                try:
                    return await self._exchange(conn, method, target, cookies, body)
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn[1].close()
                    conn = None
                    if attempt or method != "GET":
                        raise
            raise AssertionError("unreachable")
        finally:
            self.idle.put_nowait(conn)

    async def _exchange(self, conn, method, target, cookies, body):
        reader, writer = conn
        head = [
            f"{method} {target} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()),
        ]
        if method == "POST":
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, list[str]] = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        if headers.get("transfer-encoding", [""])[0].lower() == "chunked":
            data = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                data += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            length = int(headers.get("content-length", ["0"])[0])
            data = await reader.readexactly(length) if length else b""
        if headers.get("connection", [""])[0].lower() == "close":
            raise ConnectionError("closed by the server")  # retried on a new connection (GET)
        return status, headers, data


class Crowd:
    def __init__(self, data: dict, host: str, seconds: float, spread: float = ARRIVAL_SPREAD):
        self.data = data
        self.spread = spread
        self.pool = Pool(*loopback(host), CONNECTIONS)
        self.opens = data["opens_at"]
        self.ends = self.opens + seconds
        self.wait_target = (
            f"/rounds/{data['round_id']}/waiting/?listing={data['listing_id']}&units=1"
        )
        self.counts = {
            "wait_200": 0,
            "wait_busy_503": 0,
            "wait_other": 0,
            "admitted": 0,
            "line": 0,
            "places": 0,
        }
        self.order_post_ms: list[float] = []
        self.ordered_after_s: list[float] = []
        self.outcomes: dict[str, int] = {}
        self.wait_ms: list[float] = []
        self.admitted_after_s: list[float] = []
        self.errors = 0

    def outcome(self, name: str) -> None:
        self.outcomes[name] = self.outcomes.get(name, 0) + 1

    async def visitor(self, session: str, arrives: float) -> None:
        await asyncio.sleep(max(0.0, arrives - time.time()))
        cookies = {"sessionid": session, "csrftoken": session}
        while time.time() < self.ends:
            page = await self.page(cookies)
            if page is None:
                return  # let in (and bought, or told it was sold out)
            delay = await self.follow(cookies, page) if b"data-line" in page else None
            if delay is None:
                # No line to follow (busy page, shuffling, closed): the page's own timer.
                found = REFRESH_RE.search(page)
                delay = (int(found[1]) if found else BUSY_RELOAD) + JITTER * random.random()
            await asyncio.sleep(delay)
        self.outcome("still_waiting_at_end")

    async def page(self, cookies: dict) -> bytes | None:
        started = time.monotonic()
        try:
            status, headers, page = await self.pool.request("GET", self.wait_target, cookies)
        except (OSError, asyncio.IncompleteReadError):
            self.errors += 1
            return b""
        self.wait_ms.append((time.monotonic() - started) * 1000)
        keep_cookies(cookies, headers)
        if status == 302:
            self.counts["admitted"] += 1
            self.admitted_after_s.append(time.time() - self.opens)
            await self.buy(cookies, headers["location"][0])
            return None
        self.counts[{200: "wait_200", 503: "wait_busy_503"}.get(status, "wait_other")] += 1
        return page

    async def read(self, target: str, cookies: dict, count: str) -> dict | None:
        self.counts[count] += 1
        try:
            status, _, body = await self.pool.request("GET", target, cookies)
        except (OSError, asyncio.IncompleteReadError):
            self.errors += 1
            return None
        return json.loads(body) if status == 200 else None

    async def follow(self, cookies: dict, page: bytes) -> float | None:
        """The page's script: until the visitor's turn comes; then the seconds to wait before
        reloading the page (None: reload it after its own data-refresh)."""
        data = {k.decode(): v.decode() for k, v in DATA_RE.findall(page)}
        ticket = int(data["ticket"]) if "ticket" in data else None
        found = REFRESH_RE.search(page)
        await asyncio.sleep(
            (int(found[1]) if found and ticket is None else LEAST) + JITTER * random.random()
        )
        failures = 0
        while time.time() < self.ends:
            line = await self.read(data["line"], cookies, "line")
            if line is None:
                failures += 1
                if failures >= 3:
                    return None
                await asyncio.sleep(2 * LEAST + JITTER * random.random())
                continue
            failures = 0
            if line["state"] == "line":
                if ticket is None:
                    part = await self.read(data["places"], cookies, "places")
                    ticket = ((part or {}).get("places") or {}).get(data["place"])
                    if ticket is None:
                        return LEAST * random.random()
                position = ticket - line["admitted"] + 1
                if position <= 0:
                    return 2 * random.random()  # its turn: the page lets it in
                pause = min(MOST, max(LEAST, (position // line["rate"]) / 8))
            elif line["state"] == "pre":
                pause = max(1.0, min(MOST, line["opens"] - time.time() + 1))
            elif line["state"] == "closed":
                pause = 15.0
            elif line["state"] == "shuffling":
                pause = 1.0
            else:
                return LEAST * random.random()
            await asyncio.sleep(pause + JITTER * random.random())
        return 0.0

    async def buy(self, cookies: dict, confirm: str) -> None:
        try:
            status, headers, page = await self.pool.request("GET", confirm, cookies)
            keep_cookies(cookies, headers)
            key = KEY_RE.search(page)
            if status != 200 or key is None:
                # Sold out (the page offers no order) or sent back to wait.
                self.outcome("no_order_form" if status == 200 else f"confirm_{status}")
                return
            form = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": cookies["csrftoken"],
                    "listing": self.data["listing_id"],
                    "round": self.data["round_id"],
                    "units": 1,
                    "idempotency_key": key[1].decode(),
                }
            ).encode()
            started = time.monotonic()
            path = urllib.parse.urlsplit(confirm).path
            status, headers, _ = await self.pool.request("POST", path, cookies, form)
            self.order_post_ms.append((time.monotonic() - started) * 1000)
            self.ordered_after_s.append(time.time() - self.opens)
            where = headers.get("location", [""])[0]
            self.outcome("ordered" if status == 302 and "/pay" in where else f"post_{status}")
        except (OSError, asyncio.IncompleteReadError):
            self.errors += 1
            self.outcome("post_error")

    async def run(self) -> dict:
        sessions = self.data["sessions"]
        rng = random.Random(23)
        arrivals = [self.opens + rng.uniform(-self.spread, self.spread) for _ in sessions]
        started = time.time()
        await asyncio.gather(*(self.visitor(s, a) for s, a in zip(sessions, arrivals, strict=True)))
        wall = time.time() - started
        pages = ("wait_200", "wait_busy_503", "wait_other", "admitted")
        requests = sum(self.counts[k] for k in (*pages, "line", "places"))
        requests += len(self.order_post_ms) * 2
        return {
            "visitors": len(sessions),
            "arrived_before_opening": sum(1 for a in arrivals if a < self.opens),
            "connections": CONNECTIONS,
            "wall_s": round(wall, 1),
            "requests": requests,
            "requests_per_s": round(requests / max(wall, 0.001), 1),
            **self.counts,
            "wait_p50_ms": round(percentile(self.wait_ms, 50), 1),
            "wait_p99_ms": round(percentile(self.wait_ms, 99), 1),
            "first_admitted_after_opening_s": round(min(self.admitted_after_s, default=-1), 1),
            "order_posts": len(self.order_post_ms),
            "order_post_p50_ms": round(percentile(self.order_post_ms, 50), 1),
            "order_post_p95_ms": round(percentile(self.order_post_ms, 95), 1),
            "order_post_p99_ms": round(percentile(self.order_post_ms, 99), 1),
            "order_post_max_ms": round(max(self.order_post_ms, default=0), 1),
            # The order path's throughput: the busiest 10 s of answered order posts.
            "order_posts_per_s_peak_10s": orders_peak(self.ordered_after_s, 10.0),
            "order_posts_span_s": round(
                max(self.ordered_after_s, default=0) - min(self.ordered_after_s, default=0), 1
            ),
            "outcomes": self.outcomes,
            "client_errors": self.errors,
        }


def orders_peak(times: list[float], window: float) -> float:
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return round(most / window, 1)


def main(path: str, host: str, seconds: str) -> dict:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return asyncio.run(Crowd(data, host, float(seconds)).run())


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
