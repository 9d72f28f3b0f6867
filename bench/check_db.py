"""After the wave: what the database says (run by bench/run.py with the bench environment).

    python -m bench.check_db OPENED_AT_ISO   -> JSON on stdout

Budget used against the cap, overshoot, per-person and per-application cap violations, whether
the counters agree with the orders, and orders created per second after the opening.
"""

import datetime
import json
import os
import sys
from collections import Counter

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
django.setup()

from django.db.models import Count, Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from projects.models import Project, Round  # noqa: E402
from purchases.models import HOLDING, Order  # noqa: E402


def main(opened_at: str) -> dict:
    opened = datetime.datetime.fromisoformat(opened_at)
    project = Project.objects.get(slug="bench")
    round_ = Round.objects.get(project=project, number=1)
    now = timezone.now()
    orders = Order.objects.filter(project=project)
    holding = orders.filter(status__in=HOLDING)
    held_amount = holding.aggregate(n=Sum("amount"))["n"] or 0
    per_person = (
        holding.filter(round=round_)
        .values("supporter")
        .annotate(total=Sum("amount"), n=Count("pk"))
    )
    person_violations = sum(
        1 for row in per_person if row["total"] > project.max_per_person_per_round
    )
    application_violations = holding.filter(amount__gt=project.max_per_application).count()
    created = sorted(orders.values_list("created_at", flat=True))
    per_second = Counter(int((t - opened).total_seconds()) for t in created)
    first, last = (created[0], created[-1]) if created else (None, None)
    span = (last - opened).total_seconds() if created else 0.0
    return {
        "budget": project.total_budget,
        "amount_raised": project.amount_raised,
        "round_amount_raised": round_.amount_raised,
        "held_by_orders": held_amount,
        "overshoot": max(project.amount_raised - project.total_budget, 0),
        "orders_overshoot": max(held_amount - project.total_budget, 0),
        "counters_match_orders": project.amount_raised == held_amount == round_.amount_raised,
        "orders": len(created),
        "orders_by_status": dict(Counter(orders.values_list("status", flat=True))),
        "supporters_with_orders": len(per_person),
        "max_held_by_one_person": max((row["total"] for row in per_person), default=0),
        "person_cap_violations": person_violations,
        "application_cap_violations": application_violations,
        "first_order_after_opening_s": (first - opened).total_seconds() if first else None,
        "last_order_after_opening_s": span,
        "orders_per_second": dict(sorted(per_second.items())),
        "purchases_per_second": len(created) / span if span > 0 else 0.0,
        "checked_at": now.isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
