"""The draw itself: a pure function of the seed and the published list, with no database, so
that `manage.py lottery_verify` (and anyone with the list and the seed) gets the same winners.

The order: applicants sorted by SHA-256(seed ":" pseudonymous id), ties by the id. Then each
applicant in turn is given, line by line in listing-id order, as many of the units wished as
are left: min(wished, the listing's remaining stock, the remaining budget // the unit price).
A line that gets fewer than wished is a partial allotment; one that gets 0 is not drawn.
A re-draw (繰上当選) runs the same walk over the same order with what was released, the wishes
less what earlier passes gave, and the applicants whose allotment lapsed taken out.
docs/operations.md ("Lottery rounds") says the same for the public.
"""

import hashlib
from collections.abc import Iterable, Mapping

# {pseudonymous id: {listing id: units}}
Wishes = Mapping[str, Mapping[int, int]]


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_order(seed: str, ids: Iterable[str]) -> list[str]:
    prefix = f"{seed}:".encode()
    return sorted(ids, key=lambda i: (hashlib.sha256(prefix + i.encode()).digest(), i))


def allocate(
    *,
    seed: str,
    wishes: Wishes,
    prices: Mapping[int, int],
    stock: Mapping[int, int | None],
    budget: int,
) -> dict[str, dict[int, int]]:
    """What each applicant is given: {id: {listing: units}}, winners only. `stock` is each
    listing's remaining units (None: no limit), `budget` the project's remaining yen."""
    left = dict(stock)
    allotted: dict[str, dict[int, int]] = {}
    for applicant in draw_order(seed, wishes):
        for listing, wished in sorted(wishes[applicant].items()):
            price = prices[listing]
            units = min(wished, budget // price)
            if left.get(listing) is not None:
                units = min(units, left[listing])
            if units < 1:
                continue
            allotted.setdefault(applicant, {})[listing] = units
            budget -= units * price
            if left.get(listing) is not None:
                left[listing] -= units
    return allotted


def passes_replay(published: dict, seed: str) -> list[dict[str, dict[int, int]]]:
    """Every pass of a published lottery (lottery.services.lottery_publication's format)
    recomputed from its applications and the seed: [{id: {listing: units}}] per pass."""
    wishes = {
        a["id"]: {int(listing): units for listing, units in a["lines"].items()}
        for a in published["applications"]
    }
    prices = {int(listing): price for listing, price in published["prices"].items()}
    results = []
    given: dict[str, dict[int, int]] = {}
    for draw_pass in published["passes"]:
        excluded = set(draw_pass["excluded"])
        remaining = {
            applicant: left
            for applicant, lines in wishes.items()
            if applicant not in excluded
            if (
                left := {
                    listing: units - given.get(applicant, {}).get(listing, 0)
                    for listing, units in lines.items()
                    if units - given.get(applicant, {}).get(listing, 0) > 0
                }
            )
        }
        result = allocate(
            seed=seed,
            wishes=remaining,
            prices=prices,
            stock={int(k): v for k, v in draw_pass["stock"].items()},
            budget=draw_pass["budget"],
        )
        for applicant, lines in result.items():
            for listing, units in lines.items():
                mine = given.setdefault(applicant, {})
                mine[listing] = mine.get(listing, 0) + units
        results.append(result)
    return results
