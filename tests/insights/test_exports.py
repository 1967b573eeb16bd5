""" "Download this table": CSV and XLSX with the right numbers, formulas neutralised."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from innocommons.insights import exports, formatting
from innocommons.insights.tables import Column, Table

pytestmark = pytest.mark.django_db


def xlsx(client, url: str) -> list[tuple]:
    r = client.get(url)
    assert r.status_code == 200, r.content[:300]
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    return list(wb.worksheets[0].iter_rows(values_only=True))


def test_regions_xlsx_has_the_numbers(client, contracts) -> None:
    rows = xlsx(client, "/stats/export/regions.xlsx?period=2025&level=bloc&lang=en")
    header, body = rows[0], rows[1:]
    assert header[0] in ("Region", "地区")
    # amounts under 100 million yuan are shown in 万元
    assert "10k yuan" in header[2] or "万元" in header[2]
    by_region = {row[0]: row for row in body}
    js = by_region.get("江苏省") or by_region["Jiangsu"]
    assert js[1] == 3  # output contracts
    assert Decimal(str(js[2])) == Decimal("1800.00")
    assert Decimal(str(js[6])) == Decimal("1500.00")  # net output
    assert Decimal(str(js[7])) == Decimal("83.33")  # % sold to the other community regions
    sh = by_region.get("上海市") or by_region["Shanghai"]
    assert Decimal(str(sh[6])) == Decimal("-800.00")  # a negative number stays a number


def test_flows_csv_has_the_numbers_and_total(client, contracts) -> None:
    r = client.get("/stats/export/flows.csv", {"period": "2025", "level": "province"})
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith('attachment; filename="innocommons-flows-')
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 1 + 7 + 1  # header, 7 links, total
    assert rows[-1][2:] == ["7", "3100.00", "2700.00"]
    pairs = {(r[0], r[1]): r[2:] for r in rows[1:-1]}
    assert pairs[("江苏省", "上海市")] == ["1", "1000.00", "800.00"]


def test_every_public_table_exports_in_both_formats(client, contracts, voucher_world) -> None:
    from innocommons.insights.tables import SPECS

    for key, spec in SPECS.items():
        if spec.private:
            continue
        for fmt in ("csv", "xlsx"):
            r = client.get(f"/stats/export/{key}.{fmt}", {"period": "2025"})
            assert r.status_code == 200, (key, fmt)
        load_workbook(io.BytesIO(client.get(f"/stats/export/{key}.xlsx").content))


def test_yi_unit_for_large_amounts(client) -> None:
    from tests.insights import factories as cf

    cf.contract("320100", "310115", amount_fen=186_345 * cf.WAN * 100)  # 186.345 亿… ×100
    rows = xlsx(client, "/stats/export/flows.xlsx?period=2025")
    assert "100 million yuan" in rows[0][3] or "亿元" in rows[0][3]
    assert Decimal(str(rows[1][3])) == formatting.rounded(186_345 * cf.WAN * 100, "yi")


def test_formulas_are_neutralised() -> None:
    table = Table(
        key="t",
        title='=HYPERLINK("http://evil")',
        columns=[Column("name", "@name"), Column("n", "n", "int")],
        rows=[["=1+2", 5], ["+cmd", -3], ["-2+3", 0], ["@SUM(A1)", 1], ["normal", 2]],
    )
    rows = list(csv.reader(io.StringIO(exports.csv_bytes(table).decode().lstrip("\ufeff"))))
    assert rows[0] == ["'@name", "n"]
    assert [r[0] for r in rows[1:]] == ["'=1+2", "'+cmd", "'-2+3", "'@SUM(A1)", "normal"]
    assert rows[2][1] == "-3"  # numbers are not text
    wb = load_workbook(io.BytesIO(exports.xlsx_bytes(table, subtitle="2025")))
    ws = wb.worksheets[0]
    values = [c.value for c in ws["A"]][1:]
    assert values == ["'=1+2", "'+cmd", "'-2+3", "'@SUM(A1)", "normal"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert ws["B3"].value == -3
    assert wb["about"]["A1"].value == '\'=HYPERLINK("http://evil")'
