import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ops.reports import exposure_report, parse_window, write_csv


class Command(BaseCommand):
    help = (
        "Who may have been affected by a leak: counts by action and the subjects of every "
        "response that showed personal data between --from and --to (local time)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help='"2021-08-31 08:50"')
        parser.add_argument(
            "--to", dest="end", required=True, help='"2021-08-31 09:09" (that minute included)'
        )
        parser.add_argument("--csv", dest="csv_path", help="write the subjects to this CSV file")

    def handle(self, *args, start, end, csv_path=None, **options):
        try:
            start_at, end_at = parse_window(start, end)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if end_at <= start_at:
            raise CommandError("--to must be after --from")
        began = time.perf_counter()
        report = exposure_report(start=start_at, end=end_at)
        elapsed = time.perf_counter() - began
        local = timezone.localtime
        self.stdout.write(
            f"Window: {local(start_at):%Y-%m-%d %H:%M:%S} <= t < {local(end_at):%Y-%m-%d %H:%M:%S}"
        )
        self.stdout.write(f"Responses with personal data: {report.total}")
        for action, label, n in report.counts:
            self.stdout.write(f"  {action:16} {n:>10}  {label}")
        self.stdout.write(f"Subjects (members): {len(report.subjects)}")
        self.stdout.write(f"Typed emails of no account (hash only): {report.unknown_emails}")
        self.stdout.write(f"Report time: {elapsed:.2f} s")
        if csv_path:
            with open(csv_path, "w", encoding="utf-8", newline="") as stream:
                write_csv(report, stream)
            self.stdout.write(f"CSV: {csv_path} ({len(report.subjects)} rows)")
