"""Import of historical registered contracts: good files in every encoding and format,
every broken row reported with its line number, nothing written on rejection."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import Workbook

from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.market.importer import import_contracts
from innocommons.market.models import TechContract
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = (
    "contract_no,title,type,subtype,seller,seller_region,buyer,buyer_region,"
    "amount_yuan,tech_amount_yuan,payment_method,field,signed_on,registered_on,registration_no\n"
)


def rows(world) -> str:
    return (
        # line 2: both parties on the platform (by credit code and by name)
        f"HT-001,毫米波雷达芯片联合开发,development,cooperative,{world.provider.credit_code},,"
        f'{world.enterprise.name_zh},,"1,200,000",1000000,instalments,electronics,2023-03-01,2023-03-20,\n'
        # line 3: Chinese words for the coded columns, an off-platform buyer in a city
        "HT-002,锂电池正极材料专利转让,技术转让,专利权转让,南京测试大学,,"
        "宁波某新能源公司,330200,800000.50,,一次总付,新材料及其应用,2022/11/5,,\n"
        # line 4: an abroad buyer, a historical registration number
        "HT-003,工业视觉检测软件许可,licence,secret_licence,苏州某软件公司,320500,"
        "Fraunhofer IPA,DE,300000,300000,royalties,manufacturing,2024年1月8日,2024-02-01,3200002024123456\n"
    )


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_good_csv_imports_registered_contracts_with_regions(world, tmp_path) -> None:
    report = import_contracts(
        write(tmp_path, "c.csv", (HEADER + rows(world)).encode()), actor=world.admin_js
    )
    assert report.ok, report.rejected
    assert report.imported == 3 and report.total_rows == 3
    one, two, three = (TechContract.objects.get(ref=f"HT-00{i}") for i in (1, 2, 3))
    assert one.status == "registered" and one.source == "import"
    assert (one.seller, one.buyer) == (world.provider, world.enterprise)
    assert (one.seller_region_id, one.buyer_region_id) == ("320100", "310117")
    assert one.amount_fen == 120_000_000 and one.registered_tech_amount_fen == 100_000_000
    assert one.registration_no == "3200002023000001" and one.registered_on == date(2023, 3, 20)
    assert (two.type, two.subtype, two.payment_method, two.field) == (
        "transfer",
        "patent_right",
        "lump_sum",
        "materials",
    )
    assert two.buyer is None and two.buyer_region_id == "330200"
    assert two.tech_amount_fen == two.amount_fen == 80_000_050
    assert two.registered_on == date(2022, 11, 5)  # defaults to the signing date
    assert two.registration_no == "3200002022000001"
    assert three.seller is None and three.seller_region_id == "320500"
    assert three.buyer_region_id == "DE" and three.registration_no == "3200002024123456"
    entry = AuditEntry.objects.get(action="market.contract.import")
    assert entry.actor == world.admin_js and entry.after["imported"] == 3


def test_broken_rows_are_each_reported_with_line_numbers_and_nothing_is_written(
    world, tmp_path
) -> None:
    bad = (
        HEADER
        + rows(world)
        + "X-5,类型错误,research,,南京测试大学,,某公司,320500,100,,,electronics,2023-01-01,,\n"  # 5
        + "X-6,子类错误,development,patent_right,南京测试大学,,某公司,320500,100,,,electronics,2023-01-01,,\n"  # 6
        + "X-7,金额倒挂,consulting,,南京测试大学,,某公司,320500,100,200,,electronics,2023-01-01,,\n"  # 7
        + "X-8,地区错误,consulting,,南京测试大学,,某公司,999999,100,,,electronics,2023-01-01,,\n"  # 8
        + "X-9,卖方无地区,consulting,,无名公司,,某公司,320500,100,,,electronics,2023-01-01,,\n"  # 9
        + 'X-10,=HYPERLINK("http://x"),consulting,,南京测试大学,,某公司,320500,100,,,electronics,2023-01-01,,\n'  # 10
        + "HT-001,重复编号,consulting,,南京测试大学,,某公司,320500,100,,,electronics,2023-01-01,,\n"  # 11
        + "X-12,未来日期,consulting,,南京测试大学,,某公司,320500,100,,,electronics,2999-01-01,,\n"  # 12
        + "X-13,辖区之外,consulting,,杭州某公司,330100,某公司,320500,100,,,electronics,2023-01-01,,\n"  # 13
        + "X-14,多余单元格,consulting,,南京测试大学,,某公司,320500,100,,,electronics,2023-01-01,,,extra\n"  # 14
        + f"X-15,{'长' * 301},consulting,,南京测试大学,,某公司,320500,100,,,electronics,2023-01-01,,\n"  # 15
        + "X-16,金额不是数字,consulting,,南京测试大学,,某公司,320500,abc,,,electronics,2023-01-01,,\n"  # 16
        + "X-17,缺字段,consulting,,南京测试大学,,某公司,320500,100,,,,2023-01-01,,\n"  # 17
    )
    with translation.override("en"):
        report = import_contracts(write(tmp_path, "bad.csv", bad.encode()), actor=world.admin_js)
    reasons = {r.line: r.reason for r in report.rejected}
    assert sorted(reasons) == list(range(5, 18))
    assert "type" in reasons[5]
    assert "subtype" in reasons[6]
    assert "tech_amount_yuan" in reasons[7]
    assert "buyer_region" in reasons[8]
    assert "seller_region" in reasons[9]
    assert "formula" in reasons[10]
    assert "line 2" in reasons[11]
    assert "signed_on" in reasons[12]
    assert "jurisdiction" in reasons[13]
    assert "more cells" in reasons[14]
    assert "title" in reasons[15] and "300" in reasons[15]
    assert "amount_yuan" in reasons[16]
    assert "field" in reasons[17]
    assert report.imported == 0
    assert not TechContract.objects.exists()
    assert not AuditEntry.objects.filter(action="market.contract.import").exists()
    # With skip_invalid the three good rows go in.
    again = import_contracts(
        write(tmp_path, "bad2.csv", bad.encode()), actor=world.admin_js, skip_invalid=True
    )
    assert again.imported == 3 and TechContract.objects.count() == 3


def test_gb18030_and_bom_files(world, tmp_path) -> None:
    content = HEADER + rows(world)
    assert (
        import_contracts(
            write(tmp_path, "gb.csv", content.encode("gb18030")), actor=world.operator
        ).imported
        == 3
    )
    TechContract.objects.all().delete()
    assert (
        import_contracts(
            write(tmp_path, "bom.csv", content.encode("utf-8-sig")), actor=world.operator
        ).imported
        == 3
    )


def test_chinese_headers_in_xlsx(world, tmp_path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "合同名称",
            "合同类型",
            "卖方",
            "卖方地区",
            "买方",
            "买方地区",
            "合同金额",
            "技术交易额",
            "领域",
            "签订日期",
        ]
    )
    ws.append(
        [
            "智慧农业物联网技术服务",
            "技术服务",
            "合肥某研究院",
            "340100",
            "杭州青禾农业",
            "330100",
            250000,
            200000,
            "农业",
            date(2023, 6, 1),
        ]
    )
    ws.append(
        [
            "储能热管理技术咨询",
            "consulting",
            "合肥某研究院",
            "340100",
            "上海某储能公司",
            "310000",
            50000.5,
            None,
            "energy",
            "2024-02-29",
        ]
    )
    path = tmp_path / "c.xlsx"
    wb.save(path)
    report = import_contracts(path, trusted=True)
    assert report.ok, report.rejected
    first = TechContract.objects.get(title="智慧农业物联网技术服务")
    assert (first.type, first.subtype, first.field) == ("service", "service", "agriculture")
    assert first.signed_on == date(2023, 6, 1) and first.registration_no == "3400002023000001"
    second = TechContract.objects.get(title="储能热管理技术咨询")
    assert second.amount_fen == 5_000_050 and second.buyer_region_id == "310000"


def test_reimport_is_rejected_as_duplicates(world, tmp_path) -> None:
    path = write(tmp_path, "c.csv", (HEADER + rows(world)).encode())
    assert import_contracts(path, actor=world.operator).imported == 3
    again = import_contracts(path, actor=world.operator)
    assert again.imported == 0 and [r.line for r in again.rejected] == [2, 3, 4]


def test_who_may_import(world, tmp_path) -> None:
    path = write(tmp_path, "c.csv", (HEADER + rows(world)).encode())
    for user in (world.enterprise_member, world.provider_member, world.auditor, world.outsider):
        with pytest.raises(DomainError) as exc:
            import_contracts(path, actor=user)
        assert exc.value.status == 403
    # Zhejiang's administrator cannot import Jiangsu sellers' contracts.
    report = import_contracts(path, actor=world.admin_zj)
    assert [r.line for r in report.rejected] == [2, 3, 4] and report.imported == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"title,type\nx,development\n", "Missing required"),
        (HEADER.encode(), "no data rows"),
        ((HEADER.strip() + ",colour\n").encode(), "colour"),
    ],
)
def test_broken_files_are_rejected_whole(world, tmp_path, content, message) -> None:
    with translation.override("en"):
        report = import_contracts(write(tmp_path, "f.csv", content), trusted=True)
    assert message.lower() in report.file_error.lower(), report.file_error


def test_command_imports_contracts(world, tmp_path, capsys) -> None:
    bad = HEADER + rows(world) + ",,consulting,,x,320500,y,320500,1,,,electronics,2023-01-01,,\n"
    path = write(tmp_path, "c.csv", bad.encode())
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "contracts", str(path), verbosity=0)
    assert f"{path}:5:" in capsys.readouterr().err
    call_command("import", "contracts", str(path), "--skip-invalid", verbosity=0)
    assert TechContract.objects.count() == 3
    factories.org(name="另一家企业")  # the other kinds still dispatch to the catalog importer
    listing = write(tmp_path, "a.csv", "title,region,owner\n测试成果,310000,另一家企业\n".encode())
    call_command("import", "achievements", str(listing), verbosity=0)
