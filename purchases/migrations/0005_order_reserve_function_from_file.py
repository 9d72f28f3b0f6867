"""kaika_order_reserve() from purchases/sql/order_reserve.sql (CREATE OR REPLACE): the file is
the function's one source. A later change of the file comes with a migration like this one."""

from django.db import migrations


def install(apps, schema_editor):
    from purchases import reserve

    reserve.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("purchases", "0004_ticketuse_idempotency_key")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
