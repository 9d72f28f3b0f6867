"""Created a PostgreSQL function that repeated the order rules of purchases/services.py;
migration 0005 drops it where it was created. Kept as a no-op so the migration graph holds."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0001_initial"),
        ("projects", "0002_shop_search_trigram_index"),
        ("supporters", "0002_data_rights_request"),
    ]

    operations = []
