"""Imports: good files in every encoding and format, and broken files rejected cleanly."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import Workbook

from innocommons.accounts.models import Organisation
from innocommons.catalog.importer import import_file
from innocommons.catalog.models import Resource
from innocommons.catalog.search import indexer
from innocommons.catalog.search.query import SearchParams, search
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "title,summary,title_en,keywords,field,region,owner,maturity,transfer_modes,price_yuan\n"
ROWS = (
    "柔性钙钛矿太阳能电池,效率超过25%的柔性组件,Flexible perovskite solar cell,钙钛矿；光伏、柔性,06,330100,杭州光能科技有限公司,TRL 6,转让;许可,1500000\n"
    "高通量单细胞测序方法,微流控单细胞建库,High-throughput single-cell sequencing,单细胞;测序,02,上海市,91350100M000100Y43,5,licence,\n"
)


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_utf8_csv_imports_publishes_for_verified_owners_only(tmp_path) -> None:
    factories.org(name="杭州光能科技有限公司", region="330100")
    path = write(tmp_path, "a.csv", (HEADER + ROWS).encode("utf-8"))
    report = import_file("achievement", path)
    assert report.ok, report.rejected
    assert report.imported == 2 and report.published == 1 and report.created_organisations == 1
    r = Resource.objects.get(title_zh="柔性钙钛矿太阳能电池")
    assert r.keywords == "钙钛矿;光伏;柔性"
    assert r.achievement.trl == 6 and r.achievement.transfer_modes == "transfer,licence"
    assert r.price_fen == 150_000_000 and r.status == "published"
    # The unknown owner became an unverified organisation; its listing waits as a draft.
    org = Organisation.objects.get(credit_code="91350100M000100Y43")
    assert org.status == "pending" and org.region_id == "310000"
    assert Resource.objects.get(owner=org).status == "draft"
    indexer.apply_outbox()
    assert search(SearchParams(q="钙钛矿")).total == 1
    assert search(SearchParams(q="单细胞")).total == 0


def test_refs_booleans_and_owner_names(tmp_path) -> None:
    content = (
        "title,region,owner,owner_name,ref,cma,cnas\n"
        "材料检测,320500,91320500MA1BUFLT4X,苏州材料检测有限公司,ext-1,是,否\n"
        "化学分析,320500,91320500MA1BUFLT4X,,ext-1,yes,no\n"
        "环境检测,320500,某检测公司,,ext-2,也许,\n"
        "计量校准,320500,91320500MA1BUFLT4,,ext-3,,\n"
    )
    with translation.override("en"):
        report = import_file(
            "service", write(tmp_path, "s.csv", content.encode()), skip_invalid=True
        )
    reasons = {r.line: r.reason for r in report.rejected}
    assert "ref" in reasons[3] and "line 2" in reasons[3]
    assert "cma" in reasons[4]
    assert "credit code" in reasons[5]
    r = Resource.objects.get(ref="ext-1")
    assert r.service.cma is True and r.service.cnas is False
    assert r.owner.name_zh == "苏州材料检测有限公司" and r.owner.credit_code_flagged
    again = import_file("service", write(tmp_path, "t.csv", content.encode()), skip_invalid=True)
    assert again.imported == 0


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_bom_and_gb18030_files_import(tmp_path, encoding) -> None:
    path = write(tmp_path, "a.csv", (HEADER + ROWS).encode(encoding))
    assert import_file("achievement", path).imported == 2


def test_xlsx_imports(tmp_path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["title", "region", "owner", "manufacturer", "fee_per_hour_yuan"])
    ws.append(["透射电子显微镜", "340100", "合肥测试中心", "JEOL", 1200])
    path = tmp_path / "i.xlsx"
    wb.save(path)
    report = import_file("instrument", path)
    assert report.imported == 1
    assert Resource.objects.get().instrument.fee_per_hour_fen == 120_000


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_written(tmp_path) -> None:
    bad = (
        HEADER
        + ROWS
        + ",没有标题,,,,330100,某公司,,,\n"  # line 4: no title
        + "错误地区,x,,,,999999,某公司,,,\n"  # line 5: bad region
        + "柔性钙钛矿太阳能电池,dup,,,,330100,杭州光能科技有限公司,,,\n"  # line 6: duplicate of 2
        + "价格错误,x,,,,330100,某公司,,,abc\n"
    )  # line 7: bad price
    path = write(tmp_path, "bad.csv", bad.encode("utf-8"))
    with translation.override("en"):
        report = import_file("achievement", path)
    assert [r.line for r in report.rejected] == [4, 5, 6, 7]
    assert "title" in report.rejected[0].reason
    assert "region" in report.rejected[1].reason
    assert "line 2" in report.rejected[2].reason
    assert "price" in report.rejected[3].reason
    assert report.imported == 0
    assert not Resource.objects.exists() and not Organisation.objects.exists()


def test_skip_invalid_imports_the_good_rows(tmp_path) -> None:
    path = write(tmp_path, "bad.csv", (HEADER + ROWS + ",缺标题,,,,330100,x,,,\n").encode())
    report = import_file("achievement", path, skip_invalid=True)
    assert report.imported == 2 and len(report.rejected) == 1


def test_reimport_of_the_same_file_is_rejected_as_duplicates(tmp_path) -> None:
    path = write(tmp_path, "a.csv", (HEADER + ROWS).encode())
    assert import_file("achievement", path).imported == 2
    again = import_file("achievement", path)
    assert again.imported == 0 and len(again.rejected) == 2


def _junk_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("junk.txt", "not a workbook")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("latin1.csv", "title\nCaf\xe9 \xff\xfe".encode("latin-1") + b"\x81\x30", "UTF-8"),
        ("nocol.csv", "summary,region\n简介,310000\n".encode(), "title"),
        ("junk.xlsx", _junk_zip(), "XLSX"),
        ("trunc.xlsx", b"PK\x03\x04garbage", "XLSX"),
        ("header.csv", HEADER.encode(), "no data rows"),
        ("binary.csv", b"title\n\x00\x00\x00", "NUL"),
        ("unknown.csv", b"title,colour\nx,red\n", "colour"),
    ],
)
def test_broken_files_are_rejected_whole(tmp_path, name, content, message) -> None:
    with translation.override("en"):
        report = import_file("achievement", write(tmp_path, name, content))
    assert message.lower() in report.file_error.lower(), report.file_error
    assert not Resource.objects.exists()


def test_command_reports_rows_and_fails_without_skip_invalid(tmp_path, capsys) -> None:
    path = write(tmp_path, "bad.csv", (HEADER + ROWS + ",缺标题,,,,330100,x,,,\n").encode())
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "achievements", str(path), verbosity=0)
    assert f"{path}:4:" in capsys.readouterr().err
    call_command("import", "achievements", str(path), "--skip-invalid", verbosity=0)
    assert Resource.objects.count() == 2
