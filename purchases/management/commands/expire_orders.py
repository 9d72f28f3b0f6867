from django.core.management.base import BaseCommand
from django.utils import timezone

from purchases.payments import get_gateway, refunds_send_owed
from purchases.services import orders_expire


class Command(BaseCommand):
    help = (
        "Release the reservations of pending orders past their payment deadline, end "
        "their checkouts at the payment provider, and send refunds still owed (run every "
        "minute from cron or a timer). "
        "Sales do not depend on it: order creation also releases stale reservations when a "
        "cap is hit."
    )

    def handle(self, *args, **options):
        total = 0
        while released := orders_expire(now=timezone.now()):
            total += released
        # Stripe keeps a session open for at least 30 minutes: ended here, once its order
        # can no longer take the payment (docs/deploy.md).
        closed = get_gateway().checkouts_close(now=timezone.now())
        # A refund whose provider could not be reached when it was owed: asked again, with
        # the same idempotency key (one refund however often it is asked).
        sent = refunds_send_owed(now=timezone.now())
        self.stdout.write(
            f"released {total} expired order(s), ended {closed} checkout(s), "
            f"sent {len(sent)} owed refund(s)"
        )
