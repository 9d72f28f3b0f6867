"""bench/settlement.py at a tiny scale: the benchmark's own code (data written with COPY, the
run, the admin actions, the bank file read back), so that it cannot rot unseen."""

import dataclasses
import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Sum
from django.utils import timezone

from bench import settlement
from purchases.models import Redemption, Ticket, TicketUse
from settlements.models import Statement, StatementLine, StatementStatus

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = timezone.make_aware(datetime.datetime(2027, 1, 16, 10, 0))


def test_the_data_is_as_the_services_leave_it():
    built = settlement.build(shops=5, redemptions=200)

    redemptions = Redemption.objects.filter(shop__project_id=built.project_id)
    uses = TicketUse.objects.filter(shop__project_id=built.project_id)
    assert redemptions.count() == built.redemptions == 200
    assert uses.count() == built.ticket_uses > 200  # some redemptions span two tickets
    assert redemptions.aggregate(t=Sum("amount"))["t"] == built.face_value
    assert uses.aggregate(t=Sum("amount"))["t"] == built.face_value
    # Each redemption is the sum of its parts, each at its own shop.
    assert not redemptions.annotate(of_parts=Sum("parts__amount")).exclude(of_parts=F("amount"))
    assert not uses.exclude(shop=F("redemption__shop"))
    # Each ticket's balance is its face value less its uses.
    tickets = Ticket.objects.filter(shop__project_id=built.project_id)
    used = tickets.annotate(used=Sum("uses__amount"))
    assert not used.filter(used__isnull=False).exclude(balance=F("face_value") - F("used"))
    assert not used.filter(used__isnull=True).exclude(balance=F("face_value"))


def test_the_benchmark_settles_exactly_the_redemptions_it_wrote():
    built = settlement.build(shops=5, redemptions=200)
    preparer, approver = settlement.staff_pair()

    figures = settlement.measure(built, preparer=preparer, approver=approver, now=NOW)

    assert figures["statements"] == figures["payees"] == 5
    assert figures["face_value"] == built.face_value
    assert figures["lines"] == built.ticket_uses
    fees = 5 * settlement.FEE_PER_STATEMENT
    assert figures["transfer_total"] == figures["amount_to_pay"] == built.face_value - fees
    statements = Statement.objects.filter(run__project_id=built.project_id)
    assert set(statements.values_list("status", flat=True)) == {StatementStatus.EXPORTED}
    assert StatementLine.objects.filter(statement__in=statements).count() == built.ticket_uses


def test_the_queries_of_the_run_and_the_actions_depend_on_neither_shops_nor_uses():
    preparer, approver = settlement.staff_pair()
    # More than 5,000 uses: batches of lines would add a query here.
    many = settlement.build(shops=6, redemptions=4_000, slug="many")
    few = settlement.build(shops=2, redemptions=40, slug="few")

    # The history's content type is looked up once per process: not on the first action.
    ContentType.objects.get_for_model(Statement)
    figures = [
        settlement.measure(built, preparer=preparer, approver=approver, now=NOW)
        for built in (many, few)
    ]

    assert figures[0]["run_queries"] == figures[1]["run_queries"]
    # The admin actions too: 6 and 2 statements, one service call each.
    assert figures[0]["check_queries"] == figures[1]["check_queries"]
    assert figures[0]["approve_queries"] == figures[1]["approve_queries"]


def test_a_total_that_differs_from_what_was_written_fails_the_benchmark():
    built = settlement.build(shops=3, redemptions=60)
    preparer, approver = settlement.staff_pair()
    wrong = dataclasses.replace(built, face_value=built.face_value + 1)

    with pytest.raises(AssertionError):
        settlement.measure(wrong, preparer=preparer, approver=approver, now=NOW)


def test_the_section_replaces_only_its_own_lines_of_the_benchmarks_page(tmp_path, monkeypatch):
    from bench import report

    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        f"# Benchmarks\n\nkept above\n\n{report.BEGIN}\nspike\n{report.END}\n\nkept between\n"
    )
    monkeypatch.setattr(settlement, "DOC", doc)
    figures = {
        "run_s": 1.0,
        "run_queries": 12,
        "check_s": 0.5,
        "check_queries": 100,
        "approve_s": 0.5,
        "approve_queries": 100,
        "bank_file_s": 0.1,
        "bank_file_queries": 5,
        "bank_file_bytes": 1000,
        "parse_s": 0.0,
        "statements": 5,
        "lines": 7,
        "face_value": 100,
        "fee": 10,
        "amount_to_pay": 90,
        "payees": 5,
        "transfer_total": 90,
    }
    data = dataclasses.asdict(
        settlement.Built(1, datetime.date(2027, 1, 15), 5, 5, 5, 5, 10, 6, 7, 100, 66, 0.1)
    )
    results = {
        "started_at": "2027-01-16T01:00:00+00:00",
        "machine": {"nproc": 2, "cpu_model": "x", "memory_gib": 1, "python": "3", "postgres": "16"},
        "load_before": [0, 0, 0],
        "load_after": [0, 0, 0],
        "runs": [{"data": data, "figures": figures}, {"data": data, "figures": figures}],
    }

    settlement.write_doc(results)
    settlement.write_doc({**results, "started_at": "second run"})

    text = doc.read_text()
    assert text.count(settlement.BEGIN) == 1 and "second run" in text
    assert "2027-01-16T01:00" not in text
    assert "kept above" in text and "kept between" in text
    assert f"{report.BEGIN}\nspike\n{report.END}" in text
