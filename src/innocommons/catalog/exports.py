"""Export of search results as CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from innocommons.catalog.models import Kind
from innocommons.catalog.search.query import SearchParams, search
from innocommons.core.money import fen_to_yuan

MAX_EXPORT_ROWS = 5000
PAGE = 100


def _headers() -> list[str]:
    return [
        _("ID"),
        _("Type"),
        _("Title"),
        _("English title"),
        _("Organisation"),
        _("Region"),
        _("Technology field"),
        _("Price (yuan)"),
        _("Keywords"),
        _("Link"),
    ]


def export_rows(params: SearchParams) -> list[list[str]]:
    """Rows of every hit (up to MAX_EXPORT_ROWS), in the search's order."""
    kinds = dict(Kind.choices)
    rows: list[list[str]] = []
    params.page_size = PAGE
    params.page = 1
    while len(rows) < MAX_EXPORT_ROWS:
        result = search(params, with_facets=False)
        for hit in result.hits:
            r = hit.resource
            rows.append(
                [
                    str(r.pk),
                    str(kinds.get(r.kind, r.kind)),
                    r.title_zh,
                    r.title_en,
                    r.owner.name,
                    r.region.name,
                    r.field.name if r.field else "",
                    str(fen_to_yuan(r.price_fen)) if r.price_fen is not None else _("On request"),
                    "；".join(r.keyword_list),
                    f"/resources/{r.pk}/",
                ]
            )
        if params.page >= result.pages or not result.hits:
            break
        params.page += 1
    return rows[:MAX_EXPORT_ROWS]


def _safe_cell(value: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def export_response(params: SearchParams, fmt: str) -> HttpResponse:
    rows = [[_safe_cell(c) for c in row] for row in export_rows(params)]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title="search")
        ws.append(_headers())
        for row in rows:
            ws.append(row)
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(
            buf.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="innocommons-search-{stamp}.xlsx"'
        return response
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(_headers())
    writer.writerows(rows)
    response = HttpResponse("\ufeff" + text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="innocommons-search-{stamp}.csv"'
    return response
