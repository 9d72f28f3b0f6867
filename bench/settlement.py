"""`make bench-settlement`: settling with shops (精算, issue 22) at a programme's full size.

    python -m bench.settlement [--shops 3200] [--redemptions 1000000]

1. A database of its own (BENCH_SETTLEMENT_DATABASE_URL, default kaika_bench_settlement,
   dropped and rebuilt each run; never the site's or the tests'), migrated in-process.
2. One project with 3,200 approved shops, each with a confirmed payee account, paid orders,
   their tickets and the supporters' wallets, and 1,000,000 redemptions spread over a period,
   each split over the wallet's tickets as purchases.services.wallet_redeem splits it (one
   TicketUse per ticket touched). Written with COPY, not through the services (that would take
   hours). A second project with a tenth of the shops and the same redemptions, to show that
   the run's number of queries does not grow with the number of shops.
3. Timed, as staff live it: settlement_run (its queries counted), the statements checked and
   approved through the admin's actions (the whole selection in one service call, each
   statement logged), bank_file_export;
   the file is read back with bank_file.parse and every total checked against what was written.
4. Figures to .bench/settlement.json and to the section of docs/benchmarks.md between the two
   `bench-settlement:` comment lines (bench/report.py rewrites only its own lines).

tests/bench/test_settlement.py runs the same code at a tiny scale, so this cannot rot unseen.
"""

import argparse
import datetime
import json
import math
import os
import platform
import random
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STATE = BASE_DIR / ".bench"
DOC = BASE_DIR / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-settlement:begin (written by bench/settlement.py; edit outside these lines) -->"
END = "<!-- bench-settlement:end -->"

JST = datetime.timezone(datetime.timedelta(hours=9))
# The period settled: the first half of January 2027, closed on the 15th (a closing day of
# the policy below), the first run of the project (so it takes every use before the 16th).
PERIOD_START = datetime.date(2027, 1, 1)
PERIOD_END = datetime.date(2027, 1, 15)
DENOMINATION = 1_000  # one ticket per 1,000 yen of face value
UNITS = (12, 15)  # an order of 12 or 15 units of 1,000 yen: 18,000 or 22,500 yen of tickets
USES_PER_WALLET = 16  # at most 1,000 yen each: a wallet never runs dry
FEE_PER_STATEMENT = 110


def log(message: str) -> None:
    print(f"[bench-settlement] {message}", flush=True)


@dataclass
class Built:
    project_id: int
    period_end: datetime.date
    shops: int
    supporters: int
    wallets: int
    orders: int
    tickets: int
    redemptions: int
    ticket_uses: int
    face_value: int  # the sum of the redemptions' amounts
    supporter_part: int  # the sum of cycle.split_face_value over every use, the rule in Python
    seconds: float


# --- Writing the data -----------------------------------------------------------------------


def _reserve_ids(cursor, model, count: int) -> int:
    """The first of `count` consecutive ids taken from `model`'s sequence, for rows written
    with COPY whose ids other rows refer to."""
    table = model._meta.db_table
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
    first = cursor.fetchone()[0]
    if count > 1:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first + count - 1]
        )
    return first


def _copy(cursor, model, rows, *, with_id: bool) -> int:
    """COPY `rows` (dicts of attname → value; a field left out takes its model default) into
    `model`'s table. Returns the number of rows written."""
    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    defaults = {f.attname: None if f.primary_key else f.get_default() for f in fields}
    names = ", ".join(f'"{f.column}"' for f in fields)
    written = 0
    with cursor.cursor.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row.get(f.attname, defaults[f.attname]) for f in fields])
            written += 1
    return written


def build(
    *,
    shops: int,
    redemptions: int,
    slug: str = "bench-settlement",
    seed: int = 2027,
    check_foreign_keys: bool = True,
) -> Built:
    """The project, shops, accounts, supporters, orders, tickets, wallets and redemptions.
    Consistent as the services leave them: each ticket's balance is its face value less its
    uses, each use's balance_after follows, each redemption is the sum of its uses.

    `check_foreign_keys=False` skips PostgreSQL's per-row foreign key triggers for this
    transaction (minutes at the full size, at COMMIT); the test runs with them."""
    from django.db import connection, transaction

    from projects.models import (
        Category,
        Listing,
        ListingReview,
        Municipality,
        Project,
        Round,
        Shop,
        ShopRound,
        ShopStatus,
    )
    from purchases.models import Order, OrderStatus, Redemption, Ticket, TicketUse, Wallet
    from purchases.services import ticket_face_values
    from settlements import cycle
    from settlements.models import PayeeAccount, SettlementPolicy
    from supporters.models import User

    started = time.monotonic()
    rng = random.Random(seed)
    sold_at = datetime.datetime(2026, 11, 10, 9, 0, tzinfo=JST)
    wallets_per_shop = max(1, math.ceil(redemptions / shops / USES_PER_WALLET))
    supporter_count = max(wallets_per_shop, min(4_000, shops * wallets_per_shop))

    with transaction.atomic(), connection.cursor() as cursor:
        if not check_foreign_keys:
            cursor.execute("SET LOCAL session_replication_role = replica")
        project = Project.objects.create(
            name=f"頑張るお店応援プロジェクト({slug})",
            slug=slug,
            total_budget=10_000_000_000,
            ticket_denomination=DENOMINATION,
        )
        SettlementPolicy.objects.create(
            project=project, closing_days="15,31", fee_per_statement=FEE_PER_STATEMENT
        )
        round_ = Round.objects.create(
            project=project,
            number=1,
            shop_applications_close_at=sold_at - datetime.timedelta(days=14),
            opens_at=sold_at,
            closes_at=sold_at + datetime.timedelta(days=14),
            usage_starts_on=datetime.date(2026, 12, 1),
            usage_ends_on=datetime.date(2027, 5, 31),
        )
        shop_rows = Shop.objects.bulk_create(
            [
                Shop(
                    project=project,
                    name=f"精算ベンチ商店{i:04d}",
                    name_kana=f"セイサンベンチショウテン{i:04d}",
                    category=Category.RESTAURANT,
                    municipality=Municipality.YAMAGUCHI,
                    address=f"山口県山口市中央{i}-1",
                    phone="0830000000",
                    representative_name="山田 太郎",
                    status=ShopStatus.APPROVED,
                    applied_at=sold_at - datetime.timedelta(days=60),
                    reviewed_at=sold_at - datetime.timedelta(days=30),
                )
                for i in range(shops)
            ],
            batch_size=2_000,
        )
        shop_ids = [s.pk for s in shop_rows]
        listings = Listing.objects.bulk_create(
            [
                Listing(
                    shop_id=pk,
                    title="プレミアム付きチケット",
                    unit_price=1000,
                    premium_applies=True,
                    is_standard=True,
                    review_status=ListingReview.APPROVED,
                )
                for pk in shop_ids
            ],
            batch_size=2_000,
        )
        listing_of = {listing.shop_id: listing.pk for listing in listings}
        ShopRound.objects.bulk_create(
            [ShopRound(shop_id=pk, round=round_, joined_at=sold_at) for pk in shop_ids],
            batch_size=2_000,
        )
        PayeeAccount.objects.bulk_create(
            [
                PayeeAccount(
                    shop_id=pk,
                    bank_code="0001",
                    bank_name="みずほ銀行",
                    bank_name_kana="ﾐｽﾞﾎ",
                    branch_code=f"{i % 1000:03d}",
                    branch_name="山口支店",
                    branch_name_kana="ﾔﾏｸﾞﾁ",
                    account_type="1",
                    account_number=f"{i:07d}",
                    holder_name=f"ｾｲｻﾝﾍﾞﾝﾁ ｼﾖｳﾃﾝ{i:04d}",
                    version=1,
                    updated_at=sold_at,
                    payout_hold=False,
                    hold_reason="",
                    confirmed_at=sold_at,
                )
                for i, pk in enumerate(shop_ids)
            ],
            batch_size=2_000,
        )
        supporters = User.objects.bulk_create(
            [
                User(
                    email=f"{slug}-{i:05d}@example.jp",
                    password="!",  # noqa: S106 (unusable: these supporters never sign in)
                    family_name="山口",
                    given_name=f"精算{i:05d}",
                    date_joined=sold_at - datetime.timedelta(days=30),
                )
                for i in range(supporter_count)
            ],
            batch_size=2_000,
        )
        supporter_ids = [u.pk for u in supporters]

        # One wallet and one paid order per (shop, supporter); supporters differ within a shop.
        n_wallets = shops * wallets_per_shop
        first_wallet = _reserve_ids(cursor, Wallet, n_wallets)
        first_order = _reserve_ids(cursor, Order, n_wallets)
        wallet_rows, order_rows, ticket_specs = [], [], []
        for s, shop_id in enumerate(shop_ids):
            for j in range(wallets_per_shop):
                w = s * wallets_per_shop + j
                supporter_id = supporter_ids[(s + j) % supporter_count]
                units = UNITS[w % len(UNITS)]
                amount, value = units * 1000, units * 1500
                wallet_rows.append(
                    {
                        "id": first_wallet + w,
                        "code": f"W-{slug}-{w:08d}",
                        "supporter_id": supporter_id,
                        "shop_id": shop_id,
                        "created_at": sold_at,
                    }
                )
                order_rows.append(
                    {
                        "id": first_order + w,
                        "code": f"K-{slug}-{w:08d}",
                        "supporter_id": supporter_id,
                        "project_id": project.pk,
                        "round_id": round_.pk,
                        "shop_id": shop_id,
                        "listing_id": listing_of[shop_id],
                        "units": units,
                        "unit_price": 1000,
                        "amount": amount,
                        "tickets_value": value,
                        "status": OrderStatus.PAID,
                        "idempotency_key": f"{slug}-{w}",
                        "created_at": sold_at,
                        "expires_at": sold_at + datetime.timedelta(minutes=15),
                        "paid_at": sold_at,
                        "payment_provider": "sandbox",
                    }
                )
                ticket_specs.append((w, ticket_face_values(value, DENOMINATION)))
        _copy(cursor, Wallet, wallet_rows, with_id=True)
        _copy(cursor, Order, order_rows, with_id=True)

        # Tickets: ids reserved now, rows written once their balances are known.
        n_tickets = sum(len(faces) for _, faces in ticket_specs)
        next_ticket = _reserve_ids(cursor, Ticket, n_tickets)
        # wallet index → its tickets as [id, face, balance], spent in id order.
        tickets_of: list[list[list[int]]] = []
        for _, faces in ticket_specs:
            tickets_of.append([[next_ticket + k, face, face] for k, face in enumerate(faces)])
            next_ticket += len(faces)

        # Redemptions in time order over the period; the k-th at shop k % shops.
        first_redemption = _reserve_ids(cursor, Redemption, redemptions)
        start = datetime.datetime.combine(PERIOD_START, datetime.time(), tzinfo=JST)
        span = datetime.datetime.combine(PERIOD_END, datetime.time(23, 59), tzinfo=JST) - start
        redemption_rows, use_rows = [], []
        face_total = supporters_total = 0
        for k in range(redemptions):
            s = k % shops
            w = s * wallets_per_shop + (k // shops) % wallets_per_shop
            order = order_rows[w]
            amount = rng.randrange(1, 11) * 100
            used_at = start + span * (k / redemptions)
            left, rest = amount, 0
            for ticket in tickets_of[w]:
                if left == 0:
                    break
                part = min(left, ticket[2])
                if part == 0:
                    continue
                ticket[2] -= part
                left -= part
                use_rows.append(
                    {
                        "ticket_id": ticket[0],
                        "shop_id": shop_ids[s],
                        "amount": part,
                        "balance_after": ticket[2],
                        "used_at": used_at,
                        "redemption_id": first_redemption + k,
                    }
                )
                supporters_total += cycle.split_face_value(
                    part, order["amount"], order["tickets_value"]
                )[0]
            if left:  # unreachable: USES_PER_WALLET x 1,000 yen is less than any wallet holds
                raise RuntimeError(f"wallet {w} ran dry")
            rest = sum(t[2] for t in tickets_of[w])
            face_total += amount
            redemption_rows.append(
                {
                    "id": first_redemption + k,
                    "wallet_id": first_wallet + w,
                    "shop_id": shop_ids[s],
                    "amount": amount,
                    "balance_after": rest,
                    "used_at": used_at,
                }
            )
        ticket_rows = (
            {
                "id": ticket_id,
                "code": f"T-{slug}-{ticket_id:010d}",
                "order_id": order_rows[w]["id"],
                "supporter_id": order_rows[w]["supporter_id"],
                "shop_id": order_rows[w]["shop_id"],
                "round_id": round_.pk,
                "label": "プレミアム付きチケット",
                "face_value": face,
                "balance": balance,
                "issued_at": sold_at,
            }
            for w, tickets in enumerate(tickets_of)
            for ticket_id, face, balance in tickets
        )
        _copy(cursor, Ticket, ticket_rows, with_id=True)
        _copy(cursor, Redemption, redemption_rows, with_id=True)
        n_uses = _copy(cursor, TicketUse, use_rows, with_id=False)
    with connection.cursor() as cursor:
        # As autovacuum would have by closing day: the planner knows the tables' sizes.
        for model in (Wallet, Order, Ticket, Redemption, TicketUse, Shop, PayeeAccount):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return Built(
        project_id=project.pk,
        period_end=PERIOD_END,
        shops=shops,
        supporters=supporter_count,
        wallets=n_wallets,
        orders=n_wallets,
        tickets=n_tickets,
        redemptions=redemptions,
        ticket_uses=n_uses,
        face_value=face_total,
        supporter_part=supporters_total,
        seconds=round(time.monotonic() - started, 1),
    )


# --- Measuring ------------------------------------------------------------------------------


def staff_pair(slug: str = "bench-settlement"):
    """The staff member who prepares the run and the one who approves it (four eyes)."""
    from supporters.models import User

    def one(name: str) -> User:
        user, _ = User.objects.get_or_create(
            email=f"{slug}-{name}@example.jp",
            defaults={"is_staff": True, "is_superuser": True, "password": "!"},
        )
        return user

    return one("preparer"), one("approver")


def _admin_action(action: str, queryset, user) -> None:
    """An admin action on `queryset`, as the statement list's action menu runs it for `user`
    (the selection through statements_check/statements_approve at once, each statement
    logged in the admin's history)."""
    from django.contrib import admin
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    from settlements.models import Statement

    request = RequestFactory().post("/admin/settlements/statement/", {"action": action})
    request.user = user
    request._messages = CookieStorage(request)
    model_admin = admin.site._registry[Statement]
    getattr(model_admin, action)(request, queryset)


class Counted:
    """The queries sent inside the block, counted by a wrapper on the connection: exact at
    any number (CaptureQueriesContext keeps only the last 9,000, and renders each one)."""

    def __enter__(self):
        from django.db import connection

        self.count = 0
        self._wrapper = connection.execute_wrapper(self._count)
        self._wrapper.__enter__()
        self.started = time.perf_counter()
        return self

    def _count(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __exit__(self, *exc):
        self.seconds = round(time.perf_counter() - self.started, 2)
        self._wrapper.__exit__(*exc)
        return False


def expect(ok: bool, *what) -> None:
    """A total the benchmark checks (not `assert`: it must hold under python -O too)."""
    if not ok:
        raise AssertionError(what)


def measure(built: Built, *, preparer, approver, now: datetime.datetime) -> dict:
    """The run, the two admin actions and the bank file for `built`'s period, each timed, and
    every total checked against what build() wrote. Raises AssertionError on a mismatch."""
    from django.db.models import Count, Sum

    from projects.models import Project
    from settlements import bank_file
    from settlements.models import BankFileFormat, Statement, StatementLine, StatementStatus
    from settlements.services import bank_file_export, settlement_run

    project = Project.objects.get(pk=built.project_id)
    figures: dict = {}

    with Counted() as counted:
        run = settlement_run(project=project, period_end=built.period_end, staff=preparer, now=now)
    figures["run_s"], figures["run_queries"] = counted.seconds, counted.count

    statements = Statement.objects.filter(run=run)
    totals = statements.aggregate(
        n=Count("pk"),
        face=Sum("face_value"),
        supporters=Sum("supporter_part"),
        fee=Sum("fee"),
        pay=Sum("amount_to_pay"),
    )
    lines = StatementLine.objects.filter(statement__run=run).count()
    expect(totals["n"] == built.shops, (totals, built))
    expect(totals["face"] == built.face_value, (totals, built))
    expect(totals["supporters"] == built.supporter_part, (totals, built))
    expect(totals["fee"] == FEE_PER_STATEMENT * built.shops, totals)
    expect(totals["pay"] == built.face_value - totals["fee"], totals)
    expect(lines == built.ticket_uses, (lines, built))
    figures.update(
        statements=totals["n"],
        lines=lines,
        face_value=totals["face"],
        fee=totals["fee"],
        amount_to_pay=totals["pay"],
    )

    for key, action, user in (
        ("check_s", "check_statements", preparer),
        ("approve_s", "approve_statements", approver),
    ):
        with Counted() as counted:
            _admin_action(action, statements.order_by("pk"), user)
        figures[key], figures[key.replace("_s", "_queries")] = counted.seconds, counted.count
    expect(statements.filter(status=StatementStatus.APPROVED).count() == built.shops)

    with Counted() as counted:
        exported = bank_file_export(
            run=run, file_format=BankFileFormat.ZENGIN, by=approver, now=now
        )
    figures["bank_file_s"], figures["bank_file_queries"] = counted.seconds, counted.count
    figures["bank_file_bytes"] = len(exported.content)

    started = time.perf_counter()
    parsed = bank_file.parse(exported.content)
    figures["parse_s"] = round(time.perf_counter() - started, 2)
    expect((parsed.count, parsed.total) == (built.shops, totals["pay"]), parsed)
    expect(sum(int(t["amount"]) for t in parsed.transfers) == totals["pay"])
    expect(statements.filter(status=StatementStatus.EXPORTED).count() == built.shops)
    figures["payees"] = parsed.count
    figures["transfer_total"] = parsed.total
    return figures


# --- The command ----------------------------------------------------------------------------


def database_url() -> str:
    return os.environ.get(
        "BENCH_SETTLEMENT_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/kaika_bench_settlement",
    )


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
    if not name or "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the benchmark's database must say bench")
    maintenance = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=3) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def machine() -> dict:
    from django.db import connection

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model or platform.processor(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgres": postgres,
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=3_200)
    parser.add_argument("--redemptions", type=int, default=1_000_000)
    parser.add_argument(
        "--compare-shops",
        type=int,
        default=None,
        help="shops of the second project (default a tenth), with the same redemptions",
    )
    parser.add_argument("--no-docs", action="store_true", help="figures in .bench only")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="settle the data already in the database again (migrated, its runs removed) "
        "instead of rebuilding it: the build takes minutes",
    )
    args = parser.parse_args(argv)
    compare_shops = args.compare_shops or max(1, args.shops // 10)

    url = database_url()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="kaika.settings",
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        # The sandbox: demo office and bank consignor values for the file's header.
        PAYMENT_GATEWAY="purchases.payments.SandboxGateway",
        MAIL_BACKEND="console",
        TASKS_BACKEND="immediate",
        REDIS_URL="",
    )
    if not args.reuse:
        log(f"rebuilding {psycopg_dbname(url)}")
        recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", "--noinput", verbosity=0)
    results: dict = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "make bench-settlement",
        "machine": machine(),
        "load_before": loadavg(),
        "runs": [],
    }
    preparer, approver = staff_pair()
    now = timezone.make_aware(datetime.datetime(2027, 1, 16, 10, 0))
    builds = []
    if args.reuse:
        results.update(command="python -m bench.settlement --reuse", reused=True)
        log(f"reusing {psycopg_dbname(url)}: its settlement runs removed")
        forget_runs()
    for shops, slug in ((args.shops, "bench-settlement"), (compare_shops, "bench-compare")):
        if args.reuse:
            built = rebuilt(slug)
            log(f"  {slug}: {built.shops:,} shops, {built.ticket_uses:,} ticket uses")
            builds.append(built)
            continue
        log(f"writing {shops:,} shops and {args.redemptions:,} redemptions ({slug})")
        built = build(
            shops=shops, redemptions=args.redemptions, slug=slug, check_foreign_keys=False
        )
        log(
            f"  {built.ticket_uses:,} ticket uses, {built.tickets:,} tickets, "
            f"{built.wallets:,} wallets in {built.seconds} s"
        )
        builds.append(built)
    for built in builds:
        log(f"settling {built.shops:,} shops")
        figures = measure(built, preparer=preparer, approver=approver, now=now)
        log("  " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        results["runs"].append({"data": asdict(built), "figures": figures})
    results["load_after"] = loadavg()
    STATE.mkdir(exist_ok=True)
    out = STATE / "settlement.json"
    out.write_text(json.dumps(results, indent=1, default=str))
    log(f"results in {out}")
    if not args.no_docs:
        write_doc(results)
        log(f"wrote the 精算 section of {DOC}")
    return 0


def forget_runs() -> None:
    """The settlement runs of an earlier benchmark removed (the benchmark's own database
    only): its uses are on no statement again."""
    from django.db import connection

    from settlements.models import BankFileDownload, SettlementRun, Statement, StatementLine

    tables = ", ".join(
        f'"{m._meta.db_table}"' for m in (StatementLine, BankFileDownload, Statement, SettlementRun)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")


def rebuilt(slug: str) -> Built:
    """What build() returned for the project `slug` already in the database, its totals read
    back; the supporters' part by the rule in Python (cycle.split_face_value), use by use,
    as build() computes it."""
    from django.db.models import Count, Sum

    from projects.models import Project, Shop
    from purchases.models import Order, Redemption, Ticket, TicketUse, Wallet
    from settlements import cycle
    from supporters.models import User

    started = time.monotonic()
    project = Project.objects.get(slug=slug)
    uses = TicketUse.objects.filter(shop__project=project)
    supporter_part = sum(
        cycle.split_face_value(amount, paid, tickets_value)[0]
        for amount, paid, tickets_value in uses.values_list(
            "amount", "ticket__order__amount", "ticket__order__tickets_value"
        ).iterator(chunk_size=50_000)
    )
    redemptions = Redemption.objects.filter(shop__project=project).aggregate(
        n=Count("pk"), face=Sum("amount")
    )
    orders = Order.objects.filter(shop__project=project)
    return Built(
        project_id=project.pk,
        period_end=PERIOD_END,
        shops=Shop.objects.filter(project=project).count(),
        supporters=User.objects.filter(email__regex=rf"^{slug}-[0-9]{{5}}@").count(),
        wallets=Wallet.objects.filter(shop__project=project).count(),
        orders=orders.count(),
        tickets=Ticket.objects.filter(shop__project=project).count(),
        redemptions=redemptions["n"],
        ticket_uses=uses.count(),
        face_value=redemptions["face"],
        supporter_part=supporter_part,
        seconds=round(time.monotonic() - started, 1),
    )


def psycopg_dbname(url: str) -> str:
    import psycopg

    return psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "?"


# --- docs/benchmarks.md ---------------------------------------------------------------------


def section(results: dict) -> str:
    m = results["machine"]
    big, small = results["runs"][0], results["runs"][1]
    d, f = big["data"], big["figures"]
    ds, fs = small["data"], small["figures"]

    def each(queries: int, queries_small: int) -> str:
        # Set-based (settlements.services.statements_check/approve): the queries do not grow
        # with the statements; the first action of a process also reads a content type once.
        return f"{queries_small} queries with {fs['statements']:,} statements"

    rows = [
        (
            "Data read back (built by an earlier run, `--reuse`)"
            if results.get("reused")
            else "Data written (COPY)",
            f"{d['seconds']} s",
            "",
            "",
        ),
        (
            f"`settlement_run`, {d['shops']:,} shops",
            f"{f['run_s']} s",
            f"{f['run_queries']}",
            "under 30 s",
        ),
        (
            f"`settlement_run`, {ds['shops']:,} shops, {ds['redemptions']:,} redemptions",
            f"{fs['run_s']} s",
            f"{fs['run_queries']}",
            "the same number of queries",
        ),
        (
            "Admin action 確認済みにする, every statement at once",
            f"{f['check_s']} s",
            f"{f['check_queries']:,}",
            each(f["check_queries"], fs["check_queries"]),
        ),
        (
            "Admin action 承認する(作成者以外), second staff member",
            f"{f['approve_s']} s",
            f"{f['approve_queries']:,}",
            each(f["approve_queries"], fs["approve_queries"]),
        ),
        (
            f"`bank_file_export`, {f['payees']:,} payees (全銀協形式)",
            f"{f['bank_file_s']} s",
            f"{f['bank_file_queries']}",
            "under 2 s",
        ),
        ("`bank_file.parse` of that file", f"{f['parse_s']} s", "", ""),
    ]
    table = "\n".join(f"| {a} | {b} | {c} | {t} |" for a, b, c, t in rows)
    same = f["run_queries"] == fs["run_queries"]
    return f"""{BEGIN}
### Measured run: {results["started_at"]}

Command: `{results.get("command", "make bench-settlement")}`. Machine: {m["nproc"]} cores
({m["cpu_model"]}), {m["memory_gib"]} GiB, Python {m["python"]}, PostgreSQL {m["postgres"]} on
localhost. Load average before {results["load_before"]}, after {results["load_after"]}.

Data: {d["shops"]:,} approved shops with confirmed payee accounts, {d["supporters"]:,}
supporters, {d["wallets"]:,} wallets and paid orders, {d["tickets"]:,} tickets,
{d["redemptions"]:,} redemptions ({d["ticket_uses"]:,} ticket uses) over
{PERIOD_START:%Y-%m-%d}–{PERIOD_END:%Y-%m-%d}, face value ¥{d["face_value"]:,}.

| step | time | queries | target / note |
| --- | --- | --- | --- |
{table}

Checked in the same run: {f["statements"]:,} statements, {f["lines"]:,} lines (one per ticket
use); face value ¥{f["face_value"]:,} = the redemptions written; supporters' part = the rule
(`cycle.split_face_value`) applied to every use in Python; fee ¥{f["fee"]:,}. The bank file
({f["bank_file_bytes"]:,} bytes) read back: {f["payees"]:,} transfers, ¥{f["transfer_total"]:,}
= the statements' amount to pay. Queries of the run the same with {d["shops"]:,} and
{ds["shops"]:,} shops: {"yes" if same else "NO"}.
{END}"""


def write_doc(results: dict) -> None:
    text = DOC.read_text(encoding="utf-8")
    new = section(results)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + new + tail
    else:
        text = text.rstrip() + "\n\n" + new + "\n"
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
