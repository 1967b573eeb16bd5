"""A settlement batch as an XLSX workbook for the issuing region's finance office.

One row per claim (the provider to pay, its credit code and region, the amount as a number
in yuan, the evidence: redemptions, order numbers, invoice numbers), then a total row.
Headers follow the active language; text cells are neutralised against formula injection.
"""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from innocommons.core.money import fen_to_yuan
from innocommons.vouchers.models import Claim, SettlementBatch
from innocommons.vouchers.selectors import batch_claims

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = "#,##0.00"
AMOUNT_COLUMN = 5  # 1-based: the yuan amount


def headers() -> list[str]:
    return [
        _("Provider"),
        _("Unified social credit code"),
        _("Provider region"),
        _("Claim ID"),
        _("Amount (yuan)"),
        _("Redemptions"),
        _("Order numbers"),
        _("Invoice numbers"),
        _("Settlement period"),
        _("Payment reference"),
    ]


def safe_cell(value: str) -> str:
    """A text cell starting with = + - @ (or a tab/CR) would run as a formula: show it as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def claim_row(claim: Claim, batch: SettlementBatch) -> list[object]:
    redemptions = list(claim.redemptions.all())  # prefetched by batch_claims
    provider = claim.provider
    return [
        safe_cell(provider.name),
        safe_cell(provider.credit_code or ""),
        safe_cell(provider.region.name),
        claim.pk,
        fen_to_yuan(claim.amount_fen),
        len(redemptions),
        safe_cell("; ".join(r.order.ref for r in redemptions)),
        safe_cell("; ".join(r.order.invoice_no for r in redemptions if r.order.invoice_no)),
        f"{batch.period_start.isoformat()} – {batch.period_end.isoformat()}",
        safe_cell(batch.payment_reference),
    ]


def batch_workbook(batch: SettlementBatch) -> bytes:
    claims = batch_claims(batch)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"{batch.period_start:%Y%m%d}-{batch.period_end:%Y%m%d}"
    ws.append(headers())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for claim in claims:
        ws.append(claim_row(claim, batch))
    total = sum(c.amount_fen for c in claims)
    ws.append(
        [
            _("Total"),
            "",
            "",
            "",
            fen_to_yuan(total),
            sum(len(c.redemptions.all()) for c in claims),
            "",
            "",
            "",
            "",
        ]
    )
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2, min_col=AMOUNT_COLUMN, max_col=AMOUNT_COLUMN):
        for cell in row:
            cell.number_format = YUAN_FORMAT
    widths = [32, 22, 14, 10, 16, 12, 36, 30, 26, 24]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def batch_filename(batch: SettlementBatch) -> str:
    return (
        f"innocommons-settlement-P{batch.programme_id}-"
        f"{batch.period_start:%Y%m%d}-{batch.period_end:%Y%m%d}-B{batch.pk}.xlsx"
    )


def batch_export_response(batch: SettlementBatch) -> HttpResponse:
    response = HttpResponse(batch_workbook(batch), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{batch_filename(batch)}"'
    return response
