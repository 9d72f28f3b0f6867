"""Shop search on PostgreSQL: a pg_trgm GIN index on the normalised name and kana.

`Shop.objects.search()` filters `search_text LIKE '%...%'`, which a B-tree cannot serve; a
trigram GIN index can, so a search over thousands of shops (3,425 in the real programme) does
not scan the table. The index is kept out of the model state on purpose: SQLite has neither
the extension nor GIN, and there the same LIKE simply scans, which is fine at its scale.
"""

from django.db import migrations

INDEX = "projects_shop_search_trgm"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON projects_shop USING gin (search_text gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other objects may have come to depend on it.
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
