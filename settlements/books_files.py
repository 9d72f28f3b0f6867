"""The programme's books as files for the office: CSV (one table, every breakdown) and an
Excel workbook (one sheet per breakdown, integers with a yen format, never text)."""

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from settlements.books import FIGURES, Books, Figures

# Counts, then amounts in yen: an integer shown with thousands separators and 円.
COUNT_FORMAT = "#,##0"
YEN_FORMAT = '#,##0"円";-#,##0"円"'
COUNTS = {"supporters", "orders"}


def filename(books: Books, extension: str) -> str:
    scope = f"-round{books.round.number}" if books.round else ""
    at = timezone.localtime(books.now)
    return f"books-{books.project.slug}{scope}-{at:%Y%m%d-%H%M}.{extension}"


def _scope(books: Books) -> str:
    return books.round.label if books.round else _("全期")


def _header(first: str) -> list[str]:
    return [first, *(str(label) for _name, label in FIGURES)]


def write_csv(books: Books, stream) -> None:
    """Every breakdown in one table: its kind, the row's name, then the figures in yen."""
    # A byte-order mark: the office opens this in Excel, which then reads UTF-8 Japanese.
    stream.write("\ufeff")
    writer = csv.writer(stream)
    writer.writerow([_("区分"), *_header(_("名称"))])
    writer.writerow([_("合計"), f"{books.project.name} {_scope(books)}", *books.total.values()])
    for _name, label, rows in books.breakdowns():
        for row in rows:
            writer.writerow([str(label), row.label, *row.figures.values()])


def _sheet_rows(ws, first: str, rows: list[tuple[str, Figures]], *, total: Figures) -> None:
    ws.append(_header(first))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for label, figures in rows:
        ws.append([str(label), *figures.values()])
    ws.append([_("合計"), *total.values()])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for column, (name, _label) in enumerate(FIGURES, start=2):
        number_format = COUNT_FORMAT if name in COUNTS else YEN_FORMAT
        for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = number_format
    ws.column_dimensions["A"].width = 28
    for letter in "BCDEFGHIJK":
        ws.column_dimensions[letter].width = 16
    ws.freeze_panes = "B2"


def workbook_bytes(books: Books) -> bytes:
    wb = Workbook()
    summary = wb.active
    summary.title = _("概要")
    at = timezone.localtime(books.now)
    summary.append([_("プロジェクト"), books.project.name])
    summary.append([pgettext("books scope", "対象"), _scope(books)])
    summary.append([_("集計日時"), f"{at:%Y-%m-%d %H:%M}"])
    problems = [
        f"{row.label}: {problem}" for row in books.by_round for problem in row.figures.imbalances()
    ]
    summary.append([_("照合"), "\n".join(problems) or _("全期で一致(1円単位)")])
    summary.append([])
    for name, label in FIGURES:
        summary.append([str(label), getattr(books.total, name)])
        summary.cell(summary.max_row, 2).number_format = (
            COUNT_FORMAT if name in COUNTS else YEN_FORMAT
        )
    summary.column_dimensions["A"].width = 24
    summary.column_dimensions["B"].width = 40
    for _name, label, rows in books.breakdowns():
        ws = wb.create_sheet(str(label))
        _sheet_rows(ws, _("名称"), [(r.label, r.figures) for r in rows], total=books.total)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
