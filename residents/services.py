"""Importing the codes mailed to households, a supporter entering one, staff revoking one."""

import csv
import dataclasses
import datetime
import io
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from kaika import ratelimit
from kaika.debug import pause_after_checks
from kaika.errors import DomainError
from projects.models import Project
from residents import codes
from residents.models import ResidentCode, ResidentImport
from supporters.models import User

logger = logging.getLogger(__name__)

# Column titles taken as the code column of a CSV with a header row; otherwise the first.
CODE_COLUMNS = {"code", "codes", "コード", "参加コード", "resident_code"}
MAX_IMPORT_ROWS = 200_000


class ResidentCodeError(DomainError):
    MESSAGES = {
        "malformed": _(
            "参加コードは、お届けした通知に記載の英数字(%(min)s〜%(max)s文字)を入力して"
            "ください。ハイフンや空白は入れても入れなくてもかまいません。"
        ),
        "unknown": _(
            "この参加コードは見つかりません。通知に記載のとおりに入力されているか、"
            "もう一度ご確認ください。"
        ),
        # Never says by whom: that would tell a guesser whose household it was.
        "used": _(
            "この参加コードは、すでに登録されています。お心当たりがないときは、通知をお手元に"
            "ご用意のうえ、事務局にお問い合わせください。"
        ),
        "revoked": _("この参加コードは無効になっています。事務局にお問い合わせください。"),
        "already_held": _(
            "このアカウントには「%(project)s」の参加コードがすでに登録されています"
            "(登録できるのは、1つのアカウントにつきプロジェクトごとに1つです)。"
        ),
        "rate_limited": _(
            "参加コードの入力を一時的に受け付けられません(短時間に何度も入力された場合など)。"
            "しばらく時間をおいてから、もう一度お試しください。"
        ),
    }


# --- Who may back a residents-only project ------------------------------------------------


class EligibilityError(DomainError):
    """Why a supporter may not back a project at all: one table, whose sentences a refused
    order (PurchaseError) and a refused lottery application (LotteryError) both show."""

    MESSAGES = {
        "residents_only": _(
            "このプロジェクトは、対象地域にお住まいの方だけがお申し込みいただけます。"
            "お届けした参加コードをマイページで登録してから、お申し込みください。"
        ),
    }


def projects_closed_to(supporter: User) -> QuerySet[Project]:
    """Residents-only projects `supporter` holds no live code for (a per-supporter fact)."""
    held = ResidentCode.objects.held().filter(project=OuterRef("pk"), used_by=supporter.pk)
    return Project.objects.filter(residents_only=True).exclude(Exists(held))


def eligibility_check(
    *, supporter: User, project: Project | None = None, listing_id: int | None = None
) -> None:
    """Who may back a project, first come or by lottery: the one rule, or EligibilityError.
    Give the project, or (on the 9:00 path, which has not read it) the listing sold in it.
    A project open to all costs no query when given."""
    if project is not None:
        if not project.residents_only:
            return
        closed = projects_closed_to(supporter).filter(pk=project.pk)
    else:
        closed = projects_closed_to(supporter).filter(shops__listings=listing_id)
    if closed.exists():
        raise EligibilityError("residents_only")


# --- A supporter enters a code -------------------------------------------------------------


def resident_code_redeem(
    *, supporter: User, typed: str, client_ip: str | None, now: datetime.datetime
) -> ResidentCode:
    """Make `supporter` eligible for the project of the code they typed, or ResidentCodeError.
    Entering one's own code again returns it (its `repeated` attribute then True).

    Well-formed attempts count against a limit per account and per client address (a
    malformed one cannot hit a code, so it is not counted): guessing is what they stop, so
    with the cache down entry is refused rather than left unlimited.
    """
    code = codes.normalize(typed)
    if not codes.is_well_formed(code):
        raise ResidentCodeError("malformed", min=codes.MIN_LENGTH, max=codes.MAX_LENGTH)
    limits = settings.KAIKA_RESIDENT_CODE_RATE_LIMITS
    for scope, value in (("account", str(supporter.pk)), ("ip", client_ip or "unknown")):
        limit, period = limits[scope]
        if not ratelimit.hit(
            f"residents:{scope}", value, limit=limit, period=period, when_unavailable=False
        ):
            raise ResidentCodeError("rate_limited")

    found = (
        ResidentCode.objects.select_related("project")
        .filter(digest__in=codes.digests(code))
        .first()
    )
    if found is None:
        raise ResidentCodeError("unknown")
    if found.is_revoked:
        raise ResidentCodeError("revoked")
    if found.used_by_id == supporter.pk:
        found.repeated = True
        return found
    if found.is_used:
        raise ResidentCodeError("used")
    project_name = found.project.name
    if ResidentCode.objects.held().filter(project=found.project, used_by=supporter).exists():
        raise ResidentCodeError("already_held", project=project_name)
    pause_after_checks()
    try:
        with transaction.atomic():
            claimed = _claim(found.pk, supporter.pk, now)
    except IntegrityError:
        # The same account entered another code of this project at the same moment: the
        # partial unique constraint (one live code per account and project) kept one.
        raise ResidentCodeError("already_held", project=project_name) from None
    if not claimed:
        # Someone entered it (or staff revoked it) since the look-up above.
        found.refresh_from_db()
        raise ResidentCodeError("revoked" if found.is_revoked else "used")
    found.refresh_from_db()
    found.repeated = False
    return found


def _claim(code_id: int, supporter_id: int, now) -> bool:
    """The conditional UPDATE is the rule: PostgreSQL locks the row and re-checks the WHERE
    on its current value, so of two accounts entering one code at once exactly one wins."""
    return bool(
        ResidentCode.objects.filter(
            pk=code_id, used_at__isnull=True, revoked_at__isnull=True
        ).update(used_by_id=supporter_id, used_at=now)
    )


# --- Staff revoke a code --------------------------------------------------------------------


def resident_code_revoke(
    *, code: ResidentCode, staff: User, reason: str, now: datetime.datetime
) -> bool:
    """Make a code unusable (a letter lost or sent to the wrong address, a household that
    moved away); its holder, if any, is no longer eligible. False if it was revoked already.
    Orders already made stay: staff refund them in admin if they must."""
    return bool(
        ResidentCode.objects.filter(pk=code.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=staff, revoke_reason=reason[:200]
        )
    )


# --- Staff import a CSV of codes -----------------------------------------------------------


@dataclasses.dataclass
class ImportReport:
    """What a file holds: the codes to import, and every problem found, by line."""

    codes: list[str] = dataclasses.field(default_factory=list)
    malformed: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    duplicates: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    already_present: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    empty_lines: int = 0
    header: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.codes) and not (self.malformed or self.duplicates or self.already_present)


class ImportFileError(ValueError):
    """The file cannot be read as text CSV at all (the message says why, in Japanese)."""


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM, as Excel writes it) or Shift_JIS (cp932, older Excel)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        _("ファイルを読み取れません。UTF-8またはShift_JISのCSVファイルを選んでください。")
    )


def codes_read(text: str) -> ImportReport:
    """Every code of the file, normalised as a resident's typing is, and every problem. The
    code column is the one titled as in CODE_COLUMNS when the first row is such a header, else
    the first; other columns are ignored (and nothing from them is stored)."""
    report = ImportReport()
    try:
        # newline="": a lone CR (old Mac files, a stray character) ends a line, as in Excel.
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        raise ImportFileError(
            _(
                "ファイルをCSVとして読み取れません。1行に1つずつ参加コードを並べたCSVを選んでください。"
            )
        ) from None
    if len(rows) > MAX_IMPORT_ROWS:
        raise ImportFileError(
            _("1つのファイルで取り込めるのは%(max)s行までです。ファイルを分けてください。")
            % {"max": f"{MAX_IMPORT_ROWS:,}"}
        )
    column, start = 0, 0
    if rows:
        titles = [cell.strip().lower() for cell in rows[0]]
        for i, title in enumerate(titles):
            if title in CODE_COLUMNS:
                column, start, report.header = i, 1, rows[0][i].strip()
                break
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[start:], start=start + 1):
        cell = row[column] if column < len(row) else ""
        if not cell.strip():
            report.empty_lines += 1
            continue
        code = codes.normalize(cell)
        if not codes.is_well_formed(code):
            report.malformed.append((line, cell.strip()[:40]))
        elif code in seen:
            report.duplicates.append((line, code))
        else:
            seen[code] = line
            report.codes.append(code)
    present = (
        set(
            ResidentCode.objects.filter(
                digest__in=[d for code in report.codes for d in codes.digests(code)]
            ).values_list("digest", flat=True)
        )
        if report.codes
        else set()
    )
    if present:
        for code in report.codes:
            if present.intersection(codes.digests(code)):
                report.already_present.append((seen[code], code))
    return report


def codes_import(
    *,
    project: Project,
    report: ImportReport,
    file_name: str,
    note: str = "",
    staff: User,
    now: datetime.datetime,
) -> ResidentImport:
    """Store a checked file's codes, all or none. A code that another import stored since the
    check hits the unique digest and the whole file is refused (IntegrityError)."""
    if not report.ok:
        raise ValueError("only a file without problems is imported")
    with transaction.atomic():
        batch = ResidentImport.objects.create(
            project=project,
            file_name=file_name[:255],
            codes_count=len(report.codes),
            note=note,
            imported_at=now,
            imported_by=staff,
        )
        ResidentCode.objects.bulk_create(
            [
                ResidentCode(
                    project=project, batch=batch, digest=codes.digest(code), hint=codes.hint(code)
                )
                for code in report.codes
            ],
            batch_size=2000,
        )
    logger.info("imported %s resident codes for project %s", len(report.codes), project.pk)
    return batch
