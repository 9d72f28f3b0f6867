from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from ops.exposure import exposure_log_prune, retention_cutoff


class Command(BaseCommand):
    help = "Delete exposure log rows older than KAIKA_EXPOSURE_LOG_RETENTION_DAYS (run daily)."

    def handle(self, *args, **options):
        now = timezone.now()
        deleted = exposure_log_prune(now=now)
        self.stdout.write(
            f"Deleted {deleted} rows older than {retention_cutoff(now):%Y-%m-%d %H:%M} "
            f"({settings.KAIKA_EXPOSURE_LOG_RETENTION_DAYS} days)."
        )
