"""Where a page's time goes when it reaches Django: the pages the benchmark loads, rendered
in-process one after another against the benchmark's database (run `make bench` once first).

    python -m bench.profile_pages [N] [--profile=shop|mypage|bare|home|login]

N times each (default 300): a shop page (anonymous, a different shop each time, as a refresh
of the microcache is), home (anonymous), the bare Django view and My page (each as a
different signed-in supporter), and a login through allauth's form (the benchmark's Argon2id
supporters, each one's password checked as in the login phase). Prints wall time, the
process's CPU time, the bench database's PostgreSQL CPU and queries per request
(bench.profile_order's table), and with --profile the functions that took the most
cumulative time in the page named (cProfile). Nothing is written.
"""

import cProfile
import os
import sys

# Every login here comes from one address: allauth's per-address limit raised as bench.run
# raises it for the login phase (before Django's settings are read, by bench.profile_order).
os.environ.setdefault("RATE_LIMIT_LOGIN", "100000/m/ip")

from django.test import Client

from bench.profile_order import Tally, connection
from bench.setup_data import PASSWORD
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

    def measured(name, key, call, *a, status=200):
        if profiler and key == target:
            profiler.enable()
        response = tally.run(name, call, *a)
        if profiler and key == target:
            profiler.disable()
        if response.status_code != status:
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
        form = {"login": supporters[i % len(supporters)].email, "password": PASSWORD}
        login = Client().post
        measured("POST /accounts/login/", "login", login, "/accounts/login/", form, status=302)
    tally.report(profiler, lines=50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
