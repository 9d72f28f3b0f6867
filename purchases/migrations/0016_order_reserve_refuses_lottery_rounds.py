"""kaika_order_reserve() from purchases/sql/order_reserve.sql again: it refuses a round whose
allocation mode is the lottery (projects 0007, Round.allocation_mode)."""

from django.db import migrations


def install(apps, schema_editor):
    from purchases import reserve

    reserve.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0015_redemption_undo"),
        ("projects", "0008_round_allocation_mode"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
