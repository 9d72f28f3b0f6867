from django.core.management.base import BaseCommand
from django.utils import timezone

from purchases.reminders import expiry_reminders_send


class Command(BaseCommand):
    help = (
        "Email supporters whose tickets at a shop reach the end of their usage period in 14 "
        "and in 3 days, once each (run daily from cron; the task worker sends the emails)."
    )

    def handle(self, *args, **options):
        sent = expiry_reminders_send(now=timezone.now())
        self.stdout.write(f"queued {sent} expiry reminder(s)")
