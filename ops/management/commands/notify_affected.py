from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ops.models import NoticeSent
from ops.notices import NoticeError, notice_send, notice_templates
from ops.reports import exposure_report, parse_window


class Command(BaseCommand):
    help = (
        "Send a notice template (templates/ops/notices/NAME/) to every member in the "
        "exposure report of --from..--to, through the task worker; once per member and notice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True)
        parser.add_argument("--to", dest="end", required=True, help="that minute included")
        parser.add_argument("--template", required=True, help="e.g. exposure_apology")
        parser.add_argument("--dry-run", action="store_true", help="count, send nothing")

    def handle(self, *args, start, end, template, dry_run, **options):
        try:
            notice_templates(template)
            start_at, end_at = parse_window(start, end)
        except (NoticeError, ValueError) as error:
            raise CommandError(str(error)) from error
        report = exposure_report(start=start_at, end=end_at)
        subjects = {s.subject_id: s for s in report.subjects if s.email and s.is_active}
        already = set(
            NoticeSent.objects.filter(notice=template, user_id__in=list(subjects)).values_list(
                "user_id", flat=True
            )
        )
        self.stdout.write(
            f"Members in the report: {len(report.subjects)}; reachable: {len(subjects)}; "
            f"already sent {template!r}: {len(already)}"
        )
        if dry_run:
            self.stdout.write(f"Dry run: would send {len(subjects) - len(already)}.")
            return
        now = timezone.now()
        users = get_user_model().objects.filter(pk__in=[pk for pk in subjects if pk not in already])
        sent = 0
        for user in users.iterator(chunk_size=500):
            subject = subjects[user.pk]
            context = {
                "name": user.full_name,
                "start": timezone.localtime(start_at),
                "end": timezone.localtime(end_at),
                "actions": subject.action_labels,
            }
            sent += notice_send(user=user, notice=template, context=context, now=now)
        self.stdout.write(f"Queued {sent} notices.")
