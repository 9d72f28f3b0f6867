"""The order rules live in purchases/services.py alone: the PostgreSQL copy of them goes."""

from django.db import migrations

DROP = """
DROP FUNCTION IF EXISTS kaika_order_reserve(
    bigint, bigint, bigint, integer, text, text, timestamptz, timestamptz, text)
"""


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("purchases", "0004_ticketuse_idempotency_key")]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
