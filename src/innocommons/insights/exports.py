"""Download a statistics table as CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX.

Numbers stay numbers in the table's units (amounts rounded to two places in 万元 or 亿元,
as the header says); text that a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from innocommons.insights.tables import Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """A text cell starting with = + - @ (or a tab/CR that hides one) is shown as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows(table: Table) -> tuple[list[str], list[list[Any]]]:
    headers = [safe_cell(c.header) for c in table.columns]
    body = [[safe_cell(v) for v in row] for row in table.export_rows()]
    return headers, body


def csv_bytes(table: Table) -> bytes:
    headers, body = rows(table)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in body:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def xlsx_bytes(table: Table, subtitle: str = "") -> bytes:
    headers, body = rows(table)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = table.key[:31]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in body:
        ws.append(row)
    for index, column in enumerate(table.columns, start=1):
        fmt = {
            "int": "#,##0",
            "amount": "#,##0.00",
            "percent": "0.00",
            "decimal": "#,##0.0",
            "days": "0.0",
        }.get(column.kind)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = fmt
        ws.column_dimensions[get_column_letter(index)].width = max(
            10, min(40, len(column.header) + 2)
        )
    ws.freeze_panes = "A2"
    if subtitle:
        info = wb.create_sheet("about")
        info.append([safe_cell(table.title)])
        info.append([safe_cell(subtitle)])
        if table.note:
            info.append([safe_cell(table.note)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def response(table: Table, fmt: str, subtitle: str = "", stem: str = "") -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"innocommons-{table.key}-{stem or stamp}"
    if fmt == "xlsx":
        resp = HttpResponse(xlsx_bytes(table, subtitle), content_type=XLSX)
        resp["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    else:
        resp = HttpResponse(csv_bytes(table), content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    if table.private:
        resp["Cache-Control"] = "private, no-store"
    return resp
