import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("purchases", "0009_wallets_for_existing_tickets")]

    operations = [
        migrations.AlterField(
            model_name="ticketuse",
            name="redemption",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="parts",
                to="purchases.redemption",
                verbose_name="お会計での利用",
            ),
        ),
    ]
