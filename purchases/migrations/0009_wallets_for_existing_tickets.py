import secrets

from django.db import migrations

# As purchases.models.new_wallet_code (a migration keeps its own copy of what it runs).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_wallet_code():
    return "W-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(28))


def wallets_and_redemptions(apps, schema_editor):
    """A wallet for each supporter and shop that has tickets (opened when its first ticket was
    issued), and each use made before wallets becomes a redemption of one part, so that the
    till's log shows every use. Its `balance_after` is the ticket's, as the till showed it."""
    Ticket = apps.get_model("purchases", "Ticket")
    TicketUse = apps.get_model("purchases", "TicketUse")
    Wallet = apps.get_model("purchases", "Wallet")
    Redemption = apps.get_model("purchases", "Redemption")
    first_issued = {}
    for supporter_id, shop_id, issued_at in Ticket.objects.order_by("issued_at").values_list(
        "supporter_id", "shop_id", "issued_at"
    ):
        first_issued.setdefault((supporter_id, shop_id), issued_at)
    existing = set(Wallet.objects.values_list("supporter_id", "shop_id"))
    Wallet.objects.bulk_create(
        [
            Wallet(code=new_wallet_code(), supporter_id=supporter, shop_id=shop, created_at=at)
            for (supporter, shop), at in first_issued.items()
            if (supporter, shop) not in existing
        ]
    )
    wallets = {(w.supporter_id, w.shop_id): w.pk for w in Wallet.objects.all()}
    for use in TicketUse.objects.filter(redemption=None).select_related("ticket").iterator():
        redemption = Redemption.objects.create(
            wallet_id=wallets[(use.ticket.supporter_id, use.ticket.shop_id)],
            shop_id=use.shop_id,
            amount=use.amount,
            balance_after=use.balance_after,
            operator_id=use.operator_id,
            used_at=use.used_at,
            idempotency_key=use.idempotency_key,
        )
        TicketUse.objects.filter(pk=use.pk).update(redemption=redemption)


class Migration(migrations.Migration):
    dependencies = [("purchases", "0008_wallets_and_redemptions")]

    operations = [migrations.RunPython(wallets_and_redemptions, migrations.RunPython.noop)]
