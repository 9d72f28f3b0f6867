"""Run as a separate process by test_postgres_restart.py: set up a shop, then back it from many
threads while the test restarts PostgreSQL under us, until a few orders have been created after
the test says (a line on stdin) that PostgreSQL is back, or a minute has passed: a loaded
machine may take seconds to restart it. Prints JSON counts."""

import json
import os
import sys
import threading
import time
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
sys.path.insert(0, os.getcwd())
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from purchases.services import PurchaseError, order_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402
from tests.projects.factories import make_project, make_round, make_shop  # noqa: E402


def setup():
    # Room for every order the burst can make: a supporter at their cap is refused, and
    # refusals would hide whether orders are created again after the restart.
    project = make_project(total_budget=10_000_000_000, max_per_person_per_round=100_000_000)
    round_ = make_round(project, number=1)
    shop = make_shop(project)
    supporters = [make_user(email=f"burst{i}@example.jp") for i in range(12)]
    return round_, shop.listings.get(is_standard=True), supporters


AFTER_RESTART = 20


def main(seconds: float) -> None:
    round_, listing, supporters = setup()
    print("READY", flush=True)
    deadline = time.monotonic() + seconds
    outcome = {"created": 0, "refused": 0, "database_errors": 0, "created_after_restart": 0}
    lock = threading.Lock()
    restarted = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), restarted.set()), daemon=True).start()

    def back(supporter):
        while time.monotonic() < deadline and outcome["created_after_restart"] < AFTER_RESTART:
            after_restart = restarted.is_set()
            try:
                order_create(
                    supporter=supporter,
                    listing_id=listing.pk,
                    round_id=round_.pk,
                    units=1,
                    idempotency_key=uuid.uuid4().hex,
                    now=timezone.now(),
                )
                key = "created"
            except PurchaseError:
                key = "refused"
            except Exception:  # the restart: connection lost mid-transaction
                key = "database_errors"
                time.sleep(0.05)
            with lock:
                outcome[key] += 1
                if key == "created" and after_restart:
                    outcome["created_after_restart"] += 1
        connection.close()

    threads = [threading.Thread(target=back, args=(s,)) for s in supporters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("RESULT " + json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]))
