from django.core.management.base import BaseCommand
from django.utils import timezone

from lottery.services import lotteries_run


class Command(BaseCommand):
    help = (
        "Draw every lottery whose application window has closed, and re-draw (繰上当選) every "
        "one whose payment deadline has passed with units released. Safe to run from cron."
    )

    def handle(self, *args, **options):
        for draw_pass in lotteries_run(now=timezone.now()):
            self.stdout.write(
                f"{draw_pass.lottery}: pass {draw_pass.number}, "
                f"{draw_pass.allotments.count()} allotments, "
                f"payable until {draw_pass.payment_deadline.isoformat()}"
            )
