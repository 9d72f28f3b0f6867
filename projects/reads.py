"""The public shop page's reads, and My page's "does this user run a shop?", written out
(docs/benchmarks.md, issue 8).

Every shop page the microcache refreshes (each popular one about once a second at 9:00) asked
the ORM for four queries, and building them cost more CPU than PostgreSQL spent running them:
the current round's ranking (`Round.objects.current_at`) and the listings on sale
(`Listing.objects.offered_in`, an OR over a join with DISTINCT) most of all. Here the same
answers come from two statements built once from the models' own metadata, run as they are on
PostgreSQL and SQLite. tests/projects/test_reads.py checks them against the ORM's answers for
every kind of round (past, running, suspended, coming, none) and listing (tied to this round,
to another, to none, withdrawn).
"""

import datetime
from functools import cache

from django.db import connection

from kaika import rows
from projects.models import Listing, Project, Round, Shop, ShopRound, ShopStatus


@cache
def _shop_statement() -> str:
    """The listed shop, its project, the project's current round (as current_at orders them:
    running, then next to open, then the latest to have closed) and the shop's participation
    in it; the round's and participation's columns are NULL when there is none."""
    tables = [(Shop, "s"), (Project, "p"), (Round, "r"), (ShopRound, "sr")]
    selected = [column for model, alias in tables for column in rows.columns(model, alias)]
    return f"""
        SELECT {", ".join(selected)}
        FROM {Shop._meta.db_table} s
        JOIN {Project._meta.db_table} p ON p.id = s.project_id
        LEFT JOIN {Round._meta.db_table} r ON r.id = (
            SELECT c.id FROM {Round._meta.db_table} c
            WHERE c.project_id = s.project_id
            ORDER BY
              CASE WHEN c.opens_at <= %s AND c.closes_at > %s THEN 0
                   WHEN c.opens_at > %s THEN 1 ELSE 2 END,
              CASE WHEN c.closes_at <= %s THEN c.opens_at END DESC NULLS LAST,
              c.opens_at,
              c.id
            LIMIT 1)
        LEFT JOIN {ShopRound._meta.db_table} sr ON sr.shop_id = s.id AND sr.round_id = r.id
        WHERE s.id = %s AND s.status = %s"""  # noqa: S608 (identifiers from the models' metadata)


def on_sale_in_round(listing: str, round_id: str) -> str:
    """SQL for Listing.objects.offered_in's rule, is_active aside: the listing (table alias
    `listing`) is tied to the round (`round_id`, a column or a placeholder) or to no round at
    all. Shared with the order's checks (purchases.services._offer_statement)."""
    through = Listing.rounds.through._meta.db_table
    return (
        f"(EXISTS (SELECT 1 FROM {through} lr"  # noqa: S608 (the model's own table)
        f" WHERE lr.listing_id = {listing}.id AND lr.round_id = {round_id})"
        f" OR NOT EXISTS (SELECT 1 FROM {through} lr WHERE lr.listing_id = {listing}.id))"
    )


@cache
def _listings_statement() -> str:
    """Listing.objects.offered_in(round) for one shop: active, and tied to the round or to no
    round at all; the standard listing first, then in the order they were made."""
    return f"""
        SELECT {", ".join(rows.columns(Listing, "l"))}
        FROM {Listing._meta.db_table} l
        WHERE l.shop_id = %s AND l.is_active = %s AND {on_sale_in_round("l", "%s")}
        ORDER BY l.is_standard DESC, l.id"""  # noqa: S608 (identifiers from the models' metadata)


@cache
def _operates_a_shop_statement() -> str:
    through = Shop.operators.through._meta
    column = through.get_field("user").column
    return f'SELECT 1 FROM "{through.db_table}" WHERE "{column}" = %s LIMIT 1'  # noqa: S608


def shop_page(shop_id: int, now: datetime.datetime):
    """(shop, round, participation) for the public page of a listed shop, or None if there is
    no such shop. `shop.project` is set; round and participation may be None."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_shop_statement(), [at, at, at, at, shop_id, ShopStatus.APPROVED])
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    shop = rows.instance(Shop, values)
    shop.project = rows.instance(Project, values)
    round_ = _optional(Round, values)
    participation = _optional(ShopRound, values)
    if round_ is not None:
        round_.project = shop.project
    if participation is not None:
        participation.shop, participation.round = shop, round_
    return shop, round_, participation


def listings_offered(shop: Shop, round_: Round) -> list[Listing]:
    """The shop's listings on sale in `round_`, each with `shop` set (no further query)."""
    with connection.cursor() as cursor:
        cursor.execute(_listings_statement(), [shop.pk, True, round_.pk])
        found = cursor.fetchall()
    listings = [rows.instance(Listing, iter(row)) for row in found]
    for listing in listings:
        listing.shop = shop
    return listings


def operates_a_shop(user_id: int) -> bool:
    """Whether the user is an operator of any shop, whatever its status: the same answer as
    `user.operated_shops.exists()`, written out because My page asks on every view (0.35 ->
    0.07 ms, docs/benchmarks.md)."""
    with connection.cursor() as cursor:
        cursor.execute(_operates_a_shop_statement(), [user_id])
        return cursor.fetchone() is not None


def _optional(model, values):
    """The next model's columns as an instance, or None when the LEFT JOIN found no row."""
    taken = [next(values) for _ in model._meta.concrete_fields]
    return None if taken[0] is None else rows.instance(model, iter(taken))
