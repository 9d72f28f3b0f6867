"""Where an order's time goes: the 9:00 requests run in-process, one after another, against
the benchmark's database (run `make bench` once first: it builds kaika_bench).

    python -m bench.profile_order [N] [--profile]

For N supporters (default 200) it posts the confirmation form (`POST /orders/confirm/`,
through the whole middleware stack with Django's test client, CSRF checks on) and then pays
as the wave does (`GET /orders/<code>/pay/`, the sandbox card page, the signed return). It
prints, per kind of request, the wall time, the process's CPU time, the CPU time of the
PostgreSQL backends of the bench database (read from /proc in clock ticks of 10 ms: an
average over many requests) and the SQL queries per
request, and with --profile the functions that took the most cumulative time (cProfile).

The project's budget is raised and the round opened first, so that every POST creates an order
(the refusals are measured by the wave, not here). Only a database whose name says "bench" is
touched.
"""

import cProfile
import os
import pstats
import re
import sys
import time
from collections import defaultdict

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kaika_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("CACHE_KEY_PREFIX", "kaika-bench-profile")
os.environ.setdefault("SECRET_KEY", "bench-profile-only-" + "x" * 40)
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("PAYMENT_GATEWAY", "purchases.payments.SandboxGateway")
os.environ.setdefault("MAIL_BACKEND", "console")
os.environ.setdefault("TASKS_BACKEND", "database")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("KAIKA_BENCH", "true")  # routes /bench/bare/, the floor

import django

django.setup()

import datetime  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from projects.models import Listing, Project, Round  # noqa: E402
from supporters.models import User  # noqa: E402


def backend_cpu() -> float:
    """CPU seconds so far of the PostgreSQL backends connected to this database (nothing
    else uses the bench database while this runs)."""
    import psutil

    name = connection.settings_dict["NAME"]
    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if f" {name} " in " ".join(proc.info["cmdline"] or []):
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


class Tally:
    def __init__(self):
        self.wall = defaultdict(float)
        self.cpu = defaultdict(float)
        self.db_cpu = defaultdict(float)
        self.queries = defaultdict(int)
        self.count = defaultdict(int)

    def run(self, name, call, *args):
        db_cpu = backend_cpu()
        with CaptureQueriesContext(connection) as queries:
            cpu, wall = time.process_time(), time.perf_counter()
            response = call(*args)
            self.cpu[name] += time.process_time() - cpu
            self.wall[name] += time.perf_counter() - wall
        self.db_cpu[name] += backend_cpu() - db_cpu
        self.queries[name] += len(queries)
        self.count[name] += 1
        return response

    def report(self, profiler: cProfile.Profile | None = None, lines: int = 45) -> None:
        """The table, then (if one ran) the profiler's functions by cumulative time."""
        self.print()
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(lines)

    def print(self):
        print(
            f"{'request':<28}{'n':>6}{'wall ms':>10}{'CPU ms':>10}{'PG CPU ms':>11}{'queries':>9}"
        )
        for name in self.count:
            n = self.count[name]
            print(
                f"{name:<28}{n:>6}{self.wall[name] / n * 1000:>10.2f}"
                f"{self.cpu[name] / n * 1000:>10.2f}{self.db_cpu[name] / n * 1000:>11.2f}"
                f"{self.queries[name] / n:>9.1f}"
            )


def prepare() -> tuple[Round, list[int]]:
    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("refusing: the database's name must say bench")
    round_ = Round.objects.order_by("number").first()
    now = timezone.now()
    Round.objects.filter(pk=round_.pk).update(
        opens_at=now - datetime.timedelta(minutes=1), suspended_at=None
    )
    Project.objects.filter(pk=round_.project_id).update(total_budget=10**12)
    listings = list(
        Listing.objects.filter(shop__project_id=round_.project_id, is_active=True).values_list(
            "pk", flat=True
        )
    )
    return round_, listings


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 200
    round_, listings = prepare()
    # Supporters who hold nothing yet in this round (a fresh run each time).
    supporters = list(
        User.objects.filter(is_staff=False, emailaddress__verified=True)
        .exclude(orders__round=round_)
        .order_by("pk")[:count]
    )
    if len(supporters) < count:
        raise SystemExit(f"only {len(supporters)} supporters left without orders: rerun make bench")
    tally = Tally()
    profiler = cProfile.Profile() if "--profile" in sys.argv else None
    random.seed(9)
    for supporter in supporters:
        client = Client(enforce_csrf_checks=True)
        client.force_login(supporter)
        client.get("/mypage/")  # sets the CSRF cookie, as the page before the form would
        csrf = client.cookies["csrftoken"].value
        form = {
            "csrfmiddlewaretoken": csrf,
            "listing": random.choice(listings),
            "round": round_.pk,
            "units": random.randint(15, 20),
            "idempotency_key": secrets.token_urlsafe(24),
        }
        tally.run("GET /bench/bare/ (floor)", client.get, "/bench/bare/")
        if profiler:
            profiler.enable()
        created = tally.run("POST /orders/confirm/", client.post, "/orders/confirm/", form)
        if created.status_code != 302:
            raise SystemExit(f"no order: {created.status_code}")
        to_provider = tally.run("GET /orders/<code>/pay/", client.get, created["Location"])
        checkout = to_provider["Location"]
        card = {
            "csrfmiddlewaretoken": csrf,
            "card_number": "4242424242424242",
            "expiry": "12/30",
            "cvc": "123",
        }
        result = tally.run("POST sandbox card page", client.post, checkout, card)
        back = re.sub(r"^https?://[^/]+", "", result["Location"])
        done = tally.run("GET payment return", client.get, back)
        if profiler:
            profiler.disable()
        if done.status_code != 302:
            raise SystemExit(f"payment not recorded: {done.status_code}")
    tally.report(profiler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
