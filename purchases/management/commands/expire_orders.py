from django.core.management.base import BaseCommand
from django.utils import timezone

from purchases.services import orders_expire


class Command(BaseCommand):
    help = (
        "Release the reservations of pending orders past their payment deadline (run every "
        "minute from cron or a timer). Sales do not depend on it: order creation also "
        "releases stale reservations when a cap is hit."
    )

    def handle(self, *args, **options):
        total = 0
        while released := orders_expire(now=timezone.now()):
            total += released
        self.stdout.write(f"released {total} expired order(s)")
