"""kaika_order_reserve() from purchases/sql/order_reserve.sql again: it sells a listing only
once the office has approved it (projects 0004, Listing.objects.offered_in)."""

from django.db import migrations


def install(apps, schema_editor):
    from purchases import reserve

    reserve.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0010_every_ticket_use_in_a_redemption"),
        ("projects", "0004_listing_review_and_price_rules"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
