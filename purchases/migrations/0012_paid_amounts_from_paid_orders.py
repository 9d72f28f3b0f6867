"""The paid-support counters (projects 0005) from the orders paid so far: from now on
purchases.services moves them when an order is paid or refunded."""

from django.db import migrations
from django.db.models import Sum


def fill(apps, schema_editor):
    Order = apps.get_model("purchases", "Order")
    Project = apps.get_model("projects", "Project")
    Round = apps.get_model("projects", "Round")
    ShopRound = apps.get_model("projects", "ShopRound")
    paid = Order.objects.filter(status="paid")
    for row in paid.values("project_id").annotate(total=Sum("amount")):
        Project.objects.filter(pk=row["project_id"]).update(amount_paid=row["total"])
    for row in paid.values("round_id").annotate(total=Sum("amount")):
        Round.objects.filter(pk=row["round_id"]).update(amount_paid=row["total"])
    for row in paid.values("shop_id", "round_id").annotate(total=Sum("amount")):
        ShopRound.objects.filter(shop_id=row["shop_id"], round_id=row["round_id"]).update(
            amount_paid=row["total"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0011_order_reserve_sells_approved_listings_only"),
        ("projects", "0005_paid_amount_counters"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
