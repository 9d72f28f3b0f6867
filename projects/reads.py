"""Listing.objects.offered_in's rule as SQL, for the order's checks in purchases.services.

Left only while purchases.services uses it; delete it with that use.
"""

from projects.models import Listing


def on_sale_in_round(listing: str, round_id: str) -> str:
    """The listing (table alias `listing`) is tied to the round (`round_id`, a column or a
    placeholder) or to no round at all."""
    through = Listing.rounds.through._meta.db_table
    return (
        f"(EXISTS (SELECT 1 FROM {through} lr"  # noqa: S608 (the model's own table)
        f" WHERE lr.listing_id = {listing}.id AND lr.round_id = {round_id})"
        f" OR NOT EXISTS (SELECT 1 FROM {through} lr WHERE lr.listing_id = {listing}.id))"
    )
