import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from projects.models import Project
from settlements.services import SettlementError, settlement_run
from supporters.models import User


class Command(BaseCommand):
    help = (
        "Close a project's settlement period, as admin's 精算期間 → 追加 does, for a period too "
        "large to close within one web request (about a million uses: docs/benchmarks.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument("--period-end", required=True, help="the closing day, YYYY-MM-DD")
        parser.add_argument(
            "--staff", required=True, help="the email of the staff member closing the period"
        )

    def handle(self, *args, **options):
        try:
            period_end = datetime.date.fromisoformat(options["period_end"])
        except ValueError:
            raise CommandError("--period-end: YYYY-MM-DD") from None
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"no project {options['project']!r}")
        # The four-eyes rule counts this staff member as the preparer: another one approves.
        staff = User.objects.filter(email=options["staff"], is_staff=True, is_active=True).first()
        if staff is None:
            raise CommandError(f"no active staff member {options['staff']!r}")
        try:
            run = settlement_run(
                project=project, period_end=period_end, staff=staff, now=timezone.now()
            )
        except SettlementError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"{run}: {run.statements.count()} statement(s), payment {run.payment_date}"
        )
