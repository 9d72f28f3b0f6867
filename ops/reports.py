"""Who may have been affected: every subject of a response recorded in a time window.

The window's queries read only the covering index `exposure_at_covering` (time, action,
subject), so they stay fast however large the log grows (bench/exposure_report.py).
"""

import csv
import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ops.models import ExposureAction, ExposureLog

WINDOW_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def parse_window(start: str, end: str) -> tuple[datetime.datetime, datetime.datetime]:
    """Local times ("2021-08-31 08:50", "2021-08-31 09:09") as [start, end).

    An end given to the minute includes that whole minute: "to 09:09" means up to 09:09:59,
    as people say it. Missing someone is worse than telling one person too many.
    """
    return _parse(start), _parse(end, whole_minute=True)


def _parse(text: str, *, whole_minute: bool = False) -> datetime.datetime:
    text = text.strip().replace("T", " ")
    for fmt in WINDOW_FORMATS:
        try:
            moment = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        moment = timezone.make_aware(moment)
        if whole_minute and fmt == "%Y-%m-%d %H:%M":
            moment += datetime.timedelta(minutes=1)
        return moment
    raise ValueError(f"{text!r}: use YYYY-MM-DD HH:MM (local time)")


@dataclass
class Subject:
    subject_id: int
    email: str = ""
    name: str = ""
    is_active: bool = False
    actions: set[str] = field(default_factory=set)
    first: datetime.datetime | None = None
    last: datetime.datetime | None = None
    responses: int = 0

    @property
    def action_labels(self) -> list[str]:
        return [str(ExposureAction(a).label) for a in sorted(self.actions)]


@dataclass
class ExposureReport:
    start: datetime.datetime
    end: datetime.datetime
    counts: list[tuple[str, str, int]]
    subjects: list[Subject]
    # Typed emails (failed logins, contact form) that belong to no account: counted, since
    # the log keeps only their hash and nobody can be written to.
    unknown_emails: int

    @property
    def total(self) -> int:
        return sum(n for _, _, n in self.counts)


def exposure_report(*, start: datetime.datetime, end: datetime.datetime) -> ExposureReport:
    window = ExposureLog.objects.filter(at__gte=start, at__lt=end)
    counts = [
        (row["action"], str(ExposureAction(row["action"]).label), row["n"])
        for row in window.values("action").annotate(n=Count("*")).order_by("action")
    ]
    subjects: dict[int, Subject] = {}
    per_pair = (
        window.filter(subject_id__isnull=False)
        .values("subject_id", "action")
        .annotate(first=Min("at"), last=Max("at"), n=Count("*"))
        .order_by()
    )
    for row in per_pair:
        subject = subjects.setdefault(row["subject_id"], Subject(row["subject_id"]))
        subject.actions.add(row["action"])
        subject.first = min(filter(None, (subject.first, row["first"])))
        subject.last = max(filter(None, (subject.last, row["last"])))
        subject.responses += row["n"]
    users = (
        get_user_model()
        .objects.filter(pk__in=list(subjects))
        .only("email", "family_name", "given_name", "is_active")
    )
    for user in users.iterator(chunk_size=2000):
        subject = subjects[user.pk]
        subject.email, subject.name, subject.is_active = user.email, user.full_name, user.is_active
    unknown_emails = (
        window.filter(subject_id__isnull=True)
        .exclude(subject_email_hash="")
        .values("subject_email_hash")
        .distinct()
        .count()
    )
    return ExposureReport(
        start=start,
        end=end,
        counts=counts,
        subjects=sorted(subjects.values(), key=lambda s: (s.first, s.subject_id)),
        unknown_emails=unknown_emails,
    )


CSV_HEADER = (
    _("会員ID"),
    _("メールアドレス"),
    _("氏名"),
    _("操作"),
    _("最初の表示"),
    _("最後の表示"),
    _("件数"),
)


def write_csv(report: ExposureReport, stream) -> None:
    # A byte-order mark: the office opens this in Excel, which then reads UTF-8 Japanese.
    stream.write("\ufeff")
    writer = csv.writer(stream)
    writer.writerow([str(h) for h in CSV_HEADER])
    for s in report.subjects:
        writer.writerow(
            [
                s.subject_id,
                s.email or str(_("(退会済み)")),
                s.name,
                " / ".join(s.action_labels),
                timezone.localtime(s.first).strftime("%Y-%m-%d %H:%M:%S"),
                timezone.localtime(s.last).strftime("%Y-%m-%d %H:%M:%S"),
                s.responses,
            ]
        )
