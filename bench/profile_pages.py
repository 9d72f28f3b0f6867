"""Where a page's time goes when it reaches Django: the pages the benchmark loads, rendered
in-process one after another against the benchmark's database (run `make bench` once first).

    python -m bench.profile_pages [N] [--profile=shop|mypage|bare|home]

N times each (default 300): a shop page (anonymous, a different shop each time, as a refresh
of the microcache is), home (anonymous), the bare Django view and My page (each as a
different signed-in supporter). Prints wall time, the process's CPU time, the bench database's
PostgreSQL CPU and queries per request (bench.profile_order's table), and with --profile the
functions that took the most cumulative time in the page named (cProfile). Nothing is written.
"""

import cProfile
import sys

from django.test import Client

from bench.profile_order import Tally, connection
from projects.models import Shop
from supporters.models import User


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 300
    target = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--profile=")), None)
    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("refusing: the database's name must say bench")
    shops = list(Shop.objects.listed().order_by("pk").values_list("pk", flat=True)[:count])
    supporters = list(
        User.objects.filter(is_staff=False, emailaddress__verified=True).order_by("pk")[:count]
    )
    profiler = cProfile.Profile() if target else None
    tally = Tally()
    anonymous = Client()
    anonymous.get("/")  # warm: templates compiled, connection open

    def measured(name, key, call, *a):
        if profiler and key == target:
            profiler.enable()
        response = tally.run(name, call, *a)
        if profiler and key == target:
            profiler.disable()
        if response.status_code != 200:
            raise SystemExit(f"{name}: {response.status_code}")
        return response

    for i in range(count):
        measured(
            "GET /shops/<id>/ (anonymous)",
            "shop",
            anonymous.get,
            f"/shops/{shops[i % len(shops)]}/",
        )
        measured("GET / (anonymous)", "home", anonymous.get, "/")
        client = Client()
        client.force_login(supporters[i % len(supporters)])
        measured("GET /bench/bare/ (floor)", "bare", client.get, "/bench/bare/")
        measured("GET /mypage/", "mypage", client.get, "/mypage/")
    tally.report(profiler, lines=50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
