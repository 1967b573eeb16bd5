"""The settlement batch workbook for the finance office: it opens with openpyxl, has one row
per claim with the right numbers and evidence, a total row, headers in the active language,
and text that cannot run as a formula."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from innocommons.vouchers import services
from innocommons.vouchers.exports import batch_workbook, headers
from innocommons.vouchers.models import SettlementBatch
from tests import factories as f
from tests.vouchers import factories as vf

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(world) -> SettlementBatch:
    """Two providers (Jiangsu, Zhejiang), three redemptions, one claim each, approved and
    paid in one batch. Amounts with odd fen to catch rounding."""
    admin = vf.regional_admin("310000")
    prog = vf.programme(admin, coverage_bp=5000)
    zj = f.org(name='=HYPERLINK("http://evil")杭州检测', type="service_provider", region="330100")
    zj_member = vf.member_of(zj)
    voucher = vf.voucher(prog, world.enterprise, 200_000_00, admin)
    fees = [
        (world.provider, 10_000_01, "INV-JS-1"),
        (world.provider, 3_333_33, "INV-JS-2"),
        (zj, 7_777_77, None),
    ]
    for provider, fee, invoice in fees:
        order = vf.completed_order(world.enterprise, provider, fee_fen=fee)
        if invoice:
            order.invoice_no = invoice
            order.save(update_fields=["invoice_no"])
        services.redeem_voucher(
            actor=world.enterprise_member, voucher=voucher.pk, order_id=order.pk
        )
    for provider, member in ((world.provider, world.provider_member), (zj, zj_member)):
        claim = services.submit_claim(actor=member, provider_id=provider.pk, programme_id=prog.pk)
        services.approve_claim(actor=admin, claim_id=claim.pk)
    b = services.create_batch(actor=admin, programme_id=prog.pk, day=timezone.localdate())
    return services.pay_batch(actor=admin, batch_id=b.pk, payment_reference="BANK-2026-Q4")


def _rows(content: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(content))
    return list(wb.active.iter_rows(values_only=True))


def test_one_row_per_claim_with_the_right_numbers(world, batch) -> None:
    with translation.override("en"):
        rows = _rows(batch_workbook(batch))
    assert rows[0] == tuple(
        [
            "Provider",
            "Unified social credit code",
            "Provider region",
            "Claim ID",
            "Amount (yuan)",
            "Redemptions",
            "Order numbers",
            "Invoice numbers",
            "Settlement period",
            "Payment reference",
        ]
    )
    body, total = rows[1:-1], rows[-1]
    assert len(body) == 2
    by_region = {row[2]: row for row in body}
    js = by_region["Nanjing"]
    # 50% of 10,000.01 → 5,000.00 (fen rounded down); 50% of 3,333.33 → 1,666.66.
    assert Decimal(str(js[4])) == Decimal("6666.66")
    assert js[0] == world.provider.name_zh and js[1] == world.provider.credit_code
    assert js[5] == 2 and js[7] == "INV-JS-1; INV-JS-2" and js[6].count(";") == 1
    assert js[9] == "BANK-2026-Q4"
    assert js[8] == f"{batch.period_start.isoformat()} – {batch.period_end.isoformat()}"
    zj = by_region["Hangzhou"]
    assert Decimal(str(zj[4])) == Decimal("3888.88") and zj[5] == 1 and not zj[7]
    assert total[0] == "Total" and Decimal(str(total[4])) == Decimal("10555.54") and total[5] == 3
    assert Decimal(str(total[4])) * 100 == batch.total_fen


def test_amounts_are_numbers_with_a_yuan_format(batch) -> None:
    ws = load_workbook(io.BytesIO(batch_workbook(batch))).active
    for row in range(2, ws.max_row + 1):
        cell = ws.cell(row=row, column=5)
        assert isinstance(cell.value, int | float) and cell.number_format == "#,##0.00"


def test_text_cannot_run_as_a_formula(batch) -> None:
    rows = _rows(batch_workbook(batch))
    names = [row[0] for row in rows[1:-1]]
    assert any(name.startswith("'=HYPERLINK") for name in names)
    assert not any(isinstance(v, str) and v.startswith("=") for row in rows for v in row)


def test_headers_follow_the_active_language(batch) -> None:
    with translation.override("en"):
        english = headers()
    with translation.override("zh-hans"):
        chinese = _rows(batch_workbook(batch))[0]
    assert english[1] == "Unified social credit code"
    assert chinese[1] == "统一社会信用代码" and len(chinese) == len(english)


def test_download_from_the_web_and_the_api(client, batch) -> None:
    admin = batch.created_by
    client.force_login(admin)
    for url in (
        f"/vouchers/manage/batches/{batch.pk}/export.xlsx",
        f"/api/v1/settlement-batches/{batch.pk}/export.xlsx",
    ):
        resp = client.get(url)
        assert resp.status_code == 200
        assert f"B{batch.pk}.xlsx" in resp["Content-Disposition"]
        assert len(_rows(resp.content)) == 4
