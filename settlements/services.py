"""State changes of payee accounts: an operator registers or changes one, staff confirm it.

A change is the classic payout fraud (someone with an operator's password points the shop's
money elsewhere), so each one is recorded, emailed to every operator of the shop and holds
the shop's payouts until staff confirm the version they were shown.
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, models, transaction
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from kaika.debug import pause_after_checks
from kaika.errors import DomainError
from kaika.mail import send_email_on_commit
from projects.models import Project, Shop
from purchases.models import TicketUse
from settlements import bank_file, cycle
from settlements.models import (
    BankFileDownload,
    BankFileFormat,
    ChangeKind,
    HoldReason,
    LineKind,
    PayeeAccount,
    PayeeAccountChange,
    SettlementPolicy,
    SettlementRun,
    Statement,
    StatementLine,
    StatementStatus,
)
from supporters.models import User


class PayeeError(DomainError):
    MESSAGES = {
        "changed_meanwhile": _(
            "%(shop)s の口座は、確認画面を開いた後に変更されました。"
            "新しい内容をもう一度確認してください。"
        ),
        "not_held": _("%(shop)s の口座はすでに確認済みです。"),
    }


@dataclass(frozen=True)
class PayeeDetails:
    """What an account is, checked and in the bank's form (settlements.forms builds it)."""

    bank_code: str
    bank_name: str
    bank_name_kana: str
    branch_code: str
    branch_name: str
    branch_name_kana: str
    account_type: str
    account_number: str
    holder_name: str

    @classmethod
    def of(cls, account: PayeeAccount) -> "PayeeDetails":
        return cls(**{name: getattr(account, name) for name in cls.__dataclass_fields__})


def payee_account_save(
    *, shop: Shop, details: PayeeDetails, by: User, now: datetime.datetime
) -> PayeeAccountChange | None:
    """Register or change `shop`'s account. Returns the change recorded, or None when the
    details are the ones already held (nothing recorded, held or sent)."""
    with transaction.atomic():
        # The shop's row is the lock: two operators saving at once (the first registration
        # included, when there is no account row yet) are recorded one after the other.
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        account = PayeeAccount.objects.filter(shop=shop).first()
        if account is not None and PayeeDetails.of(account) == details:
            return None
        if account is None:
            kind, reason, before = ChangeKind.REGISTERED, HoldReason.REGISTERED, {}
            account = PayeeAccount(shop=shop, version=0)
        else:
            kind, reason, before = ChangeKind.CHANGED, HoldReason.CHANGED, account.snapshot()
        for name, value in asdict(details).items():
            setattr(account, name, value)
        account.version += 1
        account.updated_at = now
        account.updated_by = by
        # Until staff confirm this version, no settlement pays into it (payable()).
        account.payout_hold = True
        account.hold_reason = reason
        account.confirmed_at = None
        account.confirmed_by = None
        account.full_clean()
        account.save()
        change = PayeeAccountChange.objects.create(
            account=account,
            kind=kind,
            version=account.version,
            at=now,
            by=by,
            before=before,
            after=account.snapshot(),
        )
        _notify_operators(shop, change)
    return change


def payee_account_confirm(
    *, account: PayeeAccount, version: int, by: User, now: datetime.datetime
) -> PayeeAccountChange:
    """Staff have checked the account's details as of `version` (with the shop, by a call to
    its phone number on file): its payouts are released."""
    with transaction.atomic():
        # Locked and re-checked: an operator's change after staff opened the page gives a
        # new version, which this confirmation must not release.
        locked = PayeeAccount.objects.select_for_update().select_related("shop").get(pk=account.pk)
        if locked.version != version:
            raise PayeeError("changed_meanwhile", shop=locked.shop.name)
        if not locked.payout_hold:
            raise PayeeError("not_held", shop=locked.shop.name)
        locked.payout_hold = False
        locked.hold_reason = ""
        locked.confirmed_at = now
        locked.confirmed_by = by
        locked.save(update_fields=["payout_hold", "hold_reason", "confirmed_at", "confirmed_by"])
        snapshot = locked.snapshot()
        return PayeeAccountChange.objects.create(
            account=locked,
            kind=ChangeKind.CONFIRMED,
            version=locked.version,
            at=now,
            by=by,
            before=snapshot,
            after=snapshot,
        )


def _notify_operators(
    shop: Shop, change: PayeeAccountChange, statement: Statement | None = None
) -> None:
    """Every operator of the shop hears of it, each in a message of their own (no one sees
    the others' addresses): the one who did not make the change is the one who must know."""
    recipients = sorted(
        shop.operators.filter(is_active=True).exclude(email="").values_list("email", flat=True)
    )
    if not recipients:
        return
    # Operators read Japanese; the email does not follow the language of the page.
    with translation.override("ja"):
        context = {
            "shop": shop,
            "change": change,
            "statement": statement,
            "site_url": settings.KAIKA_SITE_URL,
            "office": settings.KAIKA_OFFICE,
        }
        kind = "returned" if change.kind == ChangeKind.RETURNED else "payee_changed"
        subject = render_to_string(f"settlements/email/{kind}_subject.txt", context)
        body = render_to_string(f"settlements/email/{kind}_body.txt", context)
    for email in recipients:
        send_email_on_commit(EmailMessage(subject=subject.strip(), body=body, to=[email]))


# --- Settlement runs and statements ---------------------------------------------------------


class SettlementError(DomainError):
    MESSAGES = {
        "not_closing_day": _(
            "%(day)s はこのプロジェクトの締め日ではありません(締め日: %(closing_days)s)。"
        ),
        "overlaps": _(
            "%(end)s 締めの精算期間がすでにあり、%(day)s 締めの期間はそれと重なります。"
            "これより後の締め日を指定してください。"
        ),
        "wrong_status": _("%(statement)s は「%(status)s」のため、この操作はできません。"),
        "own_statement": _(
            "精算期間を作成した職員は、その明細を承認できません。別の職員が承認してください。"
        ),
        "reference_required": _("銀行の受付番号を入力してください。"),
    }


def _lock_policy(project: Project) -> SettlementPolicy:
    """The project's settlement policy row, locked: two staff starting a period at once run
    one after the other, and the second sees the first's run (and its lines)."""
    SettlementPolicy.objects.get_or_create(project=project)
    return SettlementPolicy.objects.select_for_update().get(project=project)


def _use_rows(project: Project, until: datetime.datetime):
    """The project's ticket uses before `until` on no statement yet, each with its
    supporters' part computed in SQL by cycle.split_face_value's rule (rounded down; bigint,
    as amount x paid overflows 32 bits)."""
    big = models.BigIntegerField()
    supporters = ExpressionWrapper(
        Cast("amount", big)
        * Cast("ticket__order__amount", big)
        / F("ticket__order__tickets_value"),
        output_field=big,
    )
    return (
        TicketUse.objects.standing()
        .filter(shop__project=project, used_at__lt=until)
        # NOT EXISTS, not statement_line__isnull: the LEFT JOIN's IS NULL made the planner
        # expect a few rows and walk a million uses by index (docs/benchmarks.md, 精算).
        .exclude(Exists(StatementLine.objects.filter(ticket_use=OuterRef("pk"))))
        .annotate(supporters=supporters)
        .order_by()
    )


# The period's uses, read once into a table of the run's transaction: the statements' totals
# and their lines both come from it, so they cannot disagree with each other, and the joins
# over a million uses run once, in parallel (an INSERT ... SELECT's reading is not).
PERIOD_USES = "settlement_period_uses"


def _period_use_values(project: Project, until: datetime.datetime):
    """_use_rows as PERIOD_USES' columns."""
    return _use_rows(project, until).values(
        use_id=F("pk"),
        use_shop=F("shop_id"),
        use_amount=F("amount"),
        use_at=F("used_at"),
        use_supporters=F("supporters"),
    )


def _collect_uses(project: Project, until: datetime.datetime) -> dict[int, dict[str, int]]:
    """The period's uses written to PERIOD_USES (dropped by _insert_use_lines, or at the end
    of the transaction whatever happens); returns each shop's count, face value and
    supporters' part, summed in the database."""
    uses_sql, uses_params = _period_use_values(project, until).query.sql_with_params()
    # SQLite (the demo's default) keeps a temporary table until it is dropped.
    on_commit = " ON COMMIT DROP" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMPORARY TABLE "{PERIOD_USES}"{on_commit} AS {uses_sql}',
            uses_params,
        )
        totals = "SELECT use_shop, count(*), sum(use_amount), sum(use_supporters) FROM"
        cursor.execute(f'{totals} "{PERIOD_USES}" GROUP BY use_shop')
        return {
            shop_id: {"count": count, "face": int(face), "supporters": int(supporters)}
            for shop_id, count, face, supporters in cursor.fetchall()
        }


def _lock_shops(project: Project) -> None:
    """The project's shops' rows, in a fixed order: an undo at one of them
    (purchases.services.redemption_undo) waits for this run's commit, or this run for it."""
    list(
        Shop.objects.filter(project=project)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def _reversal_rows(project: Project, until: datetime.datetime):
    """The lines of settled uses whose redemption was undone before `until` and that no
    statement has taken back yet: each to become its negative in the shop's next statement."""
    return (
        StatementLine.objects.filter(
            kind=LineKind.USE,
            ticket_use__shop__project=project,
            ticket_use__redemption__undone_at__lt=until,
            ticket_use__reversal_line__isnull=True,
        )
        .values(
            "ticket_use_id",
            "statement__shop_id",
            "ticket_use__redemption__undone_at",
            "face_value",
            "supporter_part",
            "premium_part",
        )
        .order_by("statement__shop_id", "ticket_use__redemption__undone_at", "pk")
    )


def _insert_use_lines(run: SettlementRun) -> int:
    """One USE line per use in PERIOD_USES, on its shop's statement of `run`, in one INSERT
    ... SELECT: a million uses as model instances took minutes (docs/benchmarks.md, 精算).
    Returns the number of lines written."""
    line = StatementLine._meta
    columns = ", ".join(
        f'"{line.get_field(name).column}"'
        for name in (
            "statement",
            "kind",
            "ticket_use",
            "used_at",
            "face_value",
            "supporter_part",
            "premium_part",
        )
    )
    statement = Statement._meta
    sql = f"""
        INSERT INTO "{line.db_table}" ({columns})
        SELECT s."{statement.pk.column}", %s, u.use_id, u.use_at, u.use_amount,
            u.use_supporters, u.use_amount - u.use_supporters
        FROM "{PERIOD_USES}" u
        JOIN "{statement.db_table}" s
            ON s."{statement.get_field("shop").column}" = u.use_shop
            AND s."{statement.get_field("run").column}" = %s
    """  # noqa: S608 (names from the models' meta, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [LineKind.USE, run.pk])
        written = cursor.rowcount
        # Gone now rather than at COMMIT: a caller's longer transaction may run again.
        cursor.execute(f'DROP TABLE "{PERIOD_USES}"')
    return written


def settlement_run(
    *, project: Project, period_end: datetime.date, staff: User, now: datetime.datetime
) -> SettlementRun:
    """Close `project`'s period ending on `period_end`: one draft statement per shop with
    something to settle: its uses up to the end of that day (Japan time) not yet on any
    statement, uses undone after they were settled (a negative REVERSAL line mirroring the
    original line's parts), and any amount carried: a returned transfer, or a statement that
    came to less than zero (reversals more than the new uses). A fixed number of queries,
    whatever the number of shops.

    A use undone before it was settled is on no statement: nothing is owed for it. The run
    locks the project's shops before it reads anything (purchases.services.redemption_undo
    locks its shop's row too), so an undo lands either wholly before the run's reads or after
    its commit, where it sees the use settled."""
    with transaction.atomic():
        policy = _lock_policy(project)
        closing_days = policy.closing_day_list
        if not cycle.is_closing_day(closing_days, period_end):
            raise SettlementError(
                "not_closing_day", day=period_end.isoformat(), closing_days=policy.closing_days
            )
        latest = SettlementRun.objects.filter(project=project).order_by("-period_end").first()
        if latest is not None and latest.period_end >= period_end:
            raise SettlementError(
                "overlaps", end=latest.period_end.isoformat(), day=period_end.isoformat()
            )
        _lock_shops(project)
        pause_after_checks()

        until = timezone.make_aware(
            datetime.datetime.combine(period_end + datetime.timedelta(days=1), datetime.time())
        )
        run = SettlementRun.objects.create(
            project=project,
            period_start=latest.period_end + datetime.timedelta(days=1) if latest else None,
            period_end=period_end,
            payment_date=policy.payment_date(period_end),
            created_at=now,
            created_by=staff,
        )
        use_totals = _collect_uses(project, until)
        lines_by_shop: dict[int, list[StatementLine]] = defaultdict(list)
        for settled in _reversal_rows(project, until):
            lines_by_shop[settled["statement__shop_id"]].append(
                StatementLine(
                    kind=LineKind.REVERSAL,
                    reversed_use_id=settled["ticket_use_id"],
                    used_at=settled["ticket_use__redemption__undone_at"],
                    face_value=-settled["face_value"],
                    supporter_part=-settled["supporter_part"],
                    premium_part=-settled["premium_part"],
                )
            )
        # Carried once each (carried_by): a returned transfer, paid again next time, and a
        # statement below zero, taken off the next one. A negative amount is never in a bank
        # file (Statement.objects.payable() wants more than 0) and never lost: it moves from
        # statement to statement until new uses cover it.
        carried_over = Statement.objects.filter(
            Q(status=StatementStatus.RETURNED) | Q(amount_to_pay__lt=0),
            run__project=project,
            carried_by__isnull=True,
        )
        carried_amounts = {}
        for old_pk, old_shop_id, old_status, old_amount in carried_over.values_list(
            "pk", "shop_id", "status", "amount_to_pay"
        ):
            carried_amounts[old_pk] = old_amount
            lines_by_shop[old_shop_id].append(
                StatementLine(
                    kind=LineKind.RETURNED
                    if old_status == StatementStatus.RETURNED
                    else LineKind.CARRIED,
                    returned_statement_id=old_pk,
                    used_at=now,
                    face_value=0,
                    supporter_part=0,
                    premium_part=0,
                )
            )

        statements = []
        for shop_id in sorted(use_totals.keys() | lines_by_shop.keys()):
            lines = lines_by_shop[shop_id]
            totals = use_totals.get(shop_id, {"face": 0, "supporters": 0})
            face = totals["face"] + sum(line.face_value for line in lines)
            supporters = totals["supporters"] + sum(line.supporter_part for line in lines)
            carried = sum(
                carried_amounts[line.returned_statement_id]
                for line in lines
                if line.returned_statement_id is not None
            )
            fee = policy.fee_for(face)
            statements.append(
                Statement(
                    run=run,
                    shop_id=shop_id,
                    face_value=face,
                    supporter_part=supporters,
                    premium_part=face - supporters,
                    fee=fee,
                    carried=carried,
                    amount_to_pay=face - fee + carried,
                )
            )
        Statement.objects.bulk_create(statements)
        _insert_use_lines(run)
        other_lines = []
        for statement in statements:
            for line in lines_by_shop[statement.shop_id]:
                line.statement = statement
                other_lines.append(line)
        StatementLine.objects.bulk_create(other_lines)
    return run


def _locked_statement(statement: Statement, *allowed: str) -> Statement:
    locked = Statement.objects.select_for_update().select_related("run").get(pk=statement.pk)
    if error := _wrong_status(locked, allowed):
        raise error
    return locked


def _wrong_status(statement: Statement, allowed) -> SettlementError | None:
    """The one rule of the flow's order: a step applies only to a statement in `allowed`."""
    if statement.status in allowed:
        return None
    return SettlementError(
        "wrong_status", statement=str(statement), status=statement.get_status_display()
    )


def statement_check(*, statement: Statement, by: User, now: datetime.datetime) -> Statement:
    """statements_check on one statement: its refusal raised."""
    return _one(statements_check(statements=[statement], by=by, now=now))


def statement_approve(*, statement: Statement, by: User, now: datetime.datetime) -> Statement:
    """statements_approve on one statement: its refusal raised."""
    return _one(statements_approve(statements=[statement], by=by, now=now))


@dataclass(frozen=True)
class StatementsMoved:
    """What a step over many statements did: those it moved (as written) and those it left,
    each with the SettlementError the one-statement step raises for it."""

    done: list[Statement]
    refused: list[tuple[Statement, SettlementError]]


def _lock_statements(statements) -> list[Statement]:
    """The rows of `statements` (a queryset or instances) locked in pk order, so that two staff
    acting on overlapping selections queue instead of deadlocking; the second then reads each
    row as the first left it. Only the statements' rows (`of`): the shops' stay free for the
    till."""
    if isinstance(statements, models.QuerySet):
        wanted = statements.values("pk")
    else:
        wanted = [statement.pk for statement in statements]
    return list(
        Statement.objects.filter(pk__in=wanted)
        .select_for_update(of=("self",))
        .select_related("run", "shop")
        .order_by("pk")
    )


def _statements_step(
    statements, *, allowed: str, to: str, refuse=None, **values
) -> StatementsMoved:
    """Lock, re-check each statement (its status, then `refuse(statement)`'s rule), and move
    those that pass to `to` with `values` in one UPDATE: a fixed number of queries, whatever
    the number of statements."""
    with transaction.atomic():
        done, refused = [], []
        for statement in _lock_statements(statements):
            error = _wrong_status(statement, (allowed,)) or (refuse and refuse(statement))
            if error:
                refused.append((statement, error))
            else:
                done.append(statement)
        pause_after_checks()
        if done:
            # By id alone: the rows are locked and were re-checked above.
            Statement.objects.filter(pk__in=[s.pk for s in done]).update(status=to, **values)
        for statement in done:
            statement.status = to
            for name, value in values.items():
                setattr(statement, name, value)
    return StatementsMoved(done, refused)


def _one(moved: StatementsMoved) -> Statement:
    """The one statement of a step on one: moved, or its refusal raised."""
    if moved.refused:
        raise moved.refused[0][1]
    if not moved.done:
        raise Statement.DoesNotExist
    return moved.done[0]


def statements_check(*, statements, by: User, now: datetime.datetime) -> StatementsMoved:
    """A staff member has checked the statements' totals and lines (drafts only)."""
    return _statements_step(
        statements,
        allowed=StatementStatus.DRAFT,
        to=StatementStatus.CHECKED,
        checked_at=now,
        checked_by=by,
    )


def statements_approve(*, statements, by: User, now: datetime.datetime) -> StatementsMoved:
    """Four eyes, statement by statement: a checked statement is approved by someone other
    than the staff member who prepared its run (that one could otherwise pay whatever they
    prepared)."""

    def own(statement: Statement) -> SettlementError | None:
        return SettlementError("own_statement") if statement.run.created_by_id == by.pk else None

    return _statements_step(
        statements,
        allowed=StatementStatus.CHECKED,
        to=StatementStatus.APPROVED,
        refuse=own,
        approved_at=now,
        approved_by=by,
    )


def statement_mark_paid(
    *, statement: Statement, reference: str, by: User, now: datetime.datetime
) -> Statement:
    """The bank has carried the transfer: its reference is kept."""
    reference = reference.strip()
    if not reference:
        raise SettlementError("reference_required")
    with transaction.atomic():
        locked = _locked_statement(statement, StatementStatus.EXPORTED)
        locked.status = StatementStatus.PAID
        locked.paid_at, locked.bank_reference = now, reference
        locked.save(update_fields=["status", "paid_at", "bank_reference"])
    return locked


def statement_return(*, statement: Statement, by: User, now: datetime.datetime) -> Statement:
    """組戻し: the bank sent the transfer back. The amount goes back to the shop for the next
    run (a RETURNED line there) and its payee account is held until staff confirm it again."""
    with transaction.atomic():
        locked = _locked_statement(statement, StatementStatus.EXPORTED, StatementStatus.PAID)
        locked.status = StatementStatus.RETURNED
        locked.returned_at = now
        locked.save(update_fields=["status", "returned_at"])
        account = PayeeAccount.objects.select_for_update().filter(shop_id=locked.shop_id).first()
        if account is not None:
            account.payout_hold = True
            account.hold_reason = HoldReason.RETURNED
            account.confirmed_at = None
            account.confirmed_by = None
            account.save(
                update_fields=["payout_hold", "hold_reason", "confirmed_at", "confirmed_by"]
            )
            snapshot = account.snapshot()
            change = PayeeAccountChange.objects.create(
                account=account,
                kind=ChangeKind.RETURNED,
                version=account.version,
                at=now,
                by=by,
                before=snapshot,
                after=snapshot,
            )
            # The shop must hear why no money came and what to do (check the account).
            _notify_operators(locked.shop, change, statement=locked)
    return locked


# --- The bank file ---------------------------------------------------------------------------


class BankFileError(DomainError):
    MESSAGES = {
        "nothing_to_pay": _(
            "%(run)s には振込できる承認済みの明細がありません"
            "(口座が未確認の店舗は振込データに含めず、支払待ちのままにします)。"
        ),
        "already_exported": _(
            "%(run)s の振込できる明細は、すでに振込データに出力済みです(同じ明細を二重に"
            "振り込まないため、もう一度は出力しません)。ファイルを紛失したときや別の形式が"
            "必要なときは、この画面の「出力済みの振込データ」から記録を開き、再ダウンロード"
            "してください。"
        ),
        "not_configured": _(
            "振込データの委託者情報が設定されていません(%(names)s)。管理者に連絡してください。"
        ),
        "invalid": _("振込データを作成できませんでした: %(reason)s"),
        "no_batch": _("%(run)s のこの振込データには、再ダウンロードできる明細の記録がありません。"),
        "batch_changed": _(
            "%(at)s に出力した振込データと同じ内容を作れません(その後、振込先口座か委託者の"
            "設定が変わりました)。銀行に渡したファイルを確認し、事務局の管理者に相談してください。"
        ),
    }


@dataclass(frozen=True)
class BankFile:
    content: bytes
    filename: str
    content_type: str
    download: BankFileDownload


def _bank_header(run: SettlementRun) -> bank_file.Header:
    values = settings.KAIKA_BANK_CONSIGNOR
    if missing := [f"BANK_{key.upper()}" for key, value in values.items() if not value]:
        raise BankFileError("not_configured", names=", ".join(missing))
    return bank_file.Header(
        consignor_code=values["consignor_code"],
        consignor_name=values["consignor_name"],
        transfer_date=run.payment_date,
        bank_code=values["bank_code"],
        branch_code=values["branch_code"],
        account_type=values["account_type"],
        account_number=values["account_number"],
    )


def bank_file_export(
    *, run: SettlementRun, file_format: str, by: User, now: datetime.datetime
) -> BankFile:
    """The transfers of `run`'s approved statements whose shop's account is payable, as a
    全銀協 file (or its CSV), checked by reading it back with bank_file.parse before it is
    served; those statements become exported and the download is logged. Statements of
    shops whose account is held stay approved, for the next file once staff confirm it."""
    header = _bank_header(run)
    with transaction.atomic():
        statements = list(
            Statement.objects.payable()
            .filter(run=run)
            .select_for_update(of=("self",))
            .select_related("shop__payee_account")
            .order_by("pk")
        )
        if not statements:
            # Staff asking again (say for the CSV after the 全銀協 file) are pointed at the
            # re-download, not told there is nothing to pay.
            if BankFileDownload.objects.filter(run=run).exists():
                raise BankFileError("already_exported", run=str(run))
            raise BankFileError("nothing_to_pay", run=str(run))
        content, filename, content_type = _bank_file_render(run, header, statements, file_format)
        download = BankFileDownload.objects.create(
            run=run,
            at=now,
            by=by,
            format=file_format,
            sha256=hashlib.sha256(content).hexdigest(),
            count=len(statements),
            total=sum(s.amount_to_pay for s in statements),
        )
        Statement.objects.filter(pk__in=[s.pk for s in statements]).update(
            status=StatementStatus.EXPORTED, exported_at=now, exported_in=download
        )
    return BankFile(content, filename, content_type, download)


def bank_file_redownload(
    *, download: BankFileDownload, file_format: str, by: User, now: datetime.datetime
) -> BankFile:
    """The file of a batch already exported, again (a lost file): the same statements, nothing
    exported anew, logged as a re-download of `download`. In the format of the original the
    content must be the very same bytes (its SHA-256): if a payee's details or the office's
    bank settings changed since, it is refused rather than served different."""
    original = download.redownload_of or download
    run = original.run
    header = _bank_header(run)
    statements = list(original.statements.select_related("shop__payee_account").order_by("pk"))
    if not statements:
        raise BankFileError("no_batch", run=str(run))
    content, filename, content_type = _bank_file_render(run, header, statements, file_format)
    digest = hashlib.sha256(content).hexdigest()
    if file_format == original.format and digest != original.sha256:
        raise BankFileError("batch_changed", at=_local(original.at))
    return BankFile(
        content,
        filename,
        content_type,
        BankFileDownload.objects.create(
            run=run,
            at=now,
            by=by,
            format=file_format,
            sha256=digest,
            count=len(statements),
            total=sum(s.amount_to_pay for s in statements),
            redownload_of=original,
        ),
    )


def _local(at: datetime.datetime) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


def _bank_file_render(
    run: SettlementRun, header: bank_file.Header, statements: list[Statement], file_format: str
) -> tuple[bytes, str, str]:
    """(content, file name, content type) of the statements' transfers, the fixed-length file
    read back with bank_file.parse first: what the bank will count is what we meant to pay."""
    transfers = [
        bank_file.Transfer(
            bank_code=s.shop.payee_account.bank_code,
            bank_name=s.shop.payee_account.bank_name_kana,
            branch_code=s.shop.payee_account.branch_code,
            branch_name=s.shop.payee_account.branch_name_kana,
            account_type=s.shop.payee_account.account_type,
            account_number=s.shop.payee_account.account_number,
            payee_name=s.shop.payee_account.holder_name,
            amount=s.amount_to_pay,
            customer_code1=str(s.shop_id),
            customer_code2=str(s.pk),
        )
        for s in statements
    ]
    try:
        fixed = bank_file.render(header, transfers)
        parsed = bank_file.parse(fixed)
    except ValueError as error:
        raise BankFileError("invalid", reason=str(error)) from error
    expected_total = sum(s.amount_to_pay for s in statements)
    if (parsed.count, parsed.total) != (len(statements), expected_total):
        raise BankFileError("invalid", reason=f"{parsed.count}/{parsed.total}")
    if file_format == BankFileFormat.CSV:
        content = bank_file.render_csv(header, transfers).encode("utf-8")
        return content, f"furikomi-{run.period_end:%Y%m%d}.csv", "text/csv; charset=utf-8"
    return fixed, f"furikomi-{run.period_end:%Y%m%d}.txt", "text/plain; charset=shift_jis"
