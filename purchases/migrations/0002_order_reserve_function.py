"""Created kaika_order_reserve() from SQL written here; migration 0005 now installs it from
purchases/sql/order_reserve.sql, its one source. A no-op, kept for the migration graph."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0001_initial"),
        ("projects", "0002_shop_search_trigram_index"),
        ("supporters", "0002_data_rights_request"),
    ]

    operations = []
