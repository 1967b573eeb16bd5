"""Import historical, already registered technology contracts from CSV or XLSX.

The file format and its defences are the catalog importer's (`catalog.importer.read_rows`):
UTF-8 with or without BOM, or GB18030; a header row; at most 50 MB and 200,000 rows.
Cells longer than the column allows and text cells that would run as a spreadsheet formula
(starting with = + - @) are rejected. Every row is validated first; rejected rows are
reported with their line number and reason, and a file with any rejected row imports
nothing unless `skip_invalid` is set. The rows are written in one transaction.

Columns (English or Chinese headers; * required):
  contract_no 合同编号 · title* 合同名称 · type* 合同类型 · subtype 子类 ·
  seller* 卖方 (credit code or name) · seller_region 卖方地区 · buyer* 买方 ·
  buyer_region 买方地区 · amount_yuan* 合同金额 · tech_amount_yuan 技术交易额 ·
  payment_method 支付方式 · field* 领域 · signed_on* 签订日期 · registered_on 登记日期 ·
  registration_no 登记号
A party found on the platform (by credit code or exact name) is linked and its region used
unless the file gives one; an unknown party needs its region. Statistics count output by
the seller's region and absorption by the buyer's, so both regions are required in effect.

Who may import: a regional administrator, for contracts whose seller is in its region;
an operator, for any region; the command line (trusted) for any region.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import creditcode
from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.catalog.importer import MAX_CELL, MAX_ROWS, FileRejected, Rejection, read_rows
from innocommons.core import audit
from innocommons.core.errors import PermissionDenied
from innocommons.core.models import Region
from innocommons.insights import rollups
from innocommons.market.models import (
    SUBTYPES,
    ContractField,
    ContractType,
    PaymentMethod,
    TechContract,
)
from innocommons.market.services.contracts import (
    EARLIEST_SIGNING,
    MAX_FEN,
    new_ref,
    reserve_registration_numbers,
)

COLUMNS = {
    "contract_no": 40,
    "title": 300,
    "type": 40,
    "subtype": 40,
    "seller": 200,
    "seller_region": 40,
    "buyer": 200,
    "buyer_region": 40,
    "amount_yuan": 30,
    "tech_amount_yuan": 30,
    "payment_method": 40,
    "field": 40,
    "signed_on": 30,
    "registered_on": 30,
    "registration_no": 40,
}
REQUIRED = ("title", "type", "seller", "buyer", "amount_yuan", "field", "signed_on")
ALIASES = {
    "合同编号": "contract_no",
    "合同名称": "title",
    "合同类型": "type",
    "子类": "subtype",
    "合同子类": "subtype",
    "卖方": "seller",
    "卖方地区": "seller_region",
    "买方": "buyer",
    "买方地区": "buyer_region",
    "合同金额": "amount_yuan",
    "合同成交额": "amount_yuan",
    "技术交易额": "tech_amount_yuan",
    "支付方式": "payment_method",
    "领域": "field",
    "技术领域": "field",
    "签订日期": "signed_on",
    "登记日期": "registered_on",
    "登记号": "registration_no",
    "登记编号": "registration_no",
}
# A text cell starting like this would run as a formula when the data is exported again.
FORMULA = re.compile(r"^[=+\-@\t\r]")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S")
CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")

# Chinese names accepted for the coded columns.
TYPE_WORDS = {
    "技术开发": ContractType.DEVELOPMENT,
    "技术转让": ContractType.TRANSFER,
    "技术许可": ContractType.LICENCE,
    "技术咨询": ContractType.CONSULTING,
    "技术服务": ContractType.SERVICE,
}
SUBTYPE_WORDS = {
    "委托开发": "commissioned",
    "合作开发": "cooperative",
    "专利权转让": "patent_right",
    "专利申请权转让": "patent_application",
    "技术秘密转让": "technical_secret",
    "专利实施许可": "patent_licence",
    "技术秘密许可": "secret_licence",
    "技术咨询": "consulting",
    "技术服务": "service",
    "技术培训": "training",
    "技术中介": "brokerage",
}
PAYMENT_WORDS = {
    "一次总算、一次总付": PaymentMethod.LUMP_SUM,
    "一次总付": PaymentMethod.LUMP_SUM,
    "一次总算、分期支付": PaymentMethod.INSTALMENTS,
    "分期支付": PaymentMethod.INSTALMENTS,
    "提成支付": PaymentMethod.ROYALTIES,
    "提成支付附加预付入门费": PaymentMethod.ROYALTIES_ENTRY_FEE,
}
FIELD_WORDS = {
    "电子信息": ContractField.ELECTRONICS,
    "航空航天": ContractField.AEROSPACE,
    "先进制造": ContractField.MANUFACTURING,
    "生物、医药和医疗器械": ContractField.BIOMEDICINE,
    "新材料及其应用": ContractField.MATERIALS,
    "新能源与高效节能": ContractField.ENERGY,
    "环境保护与资源综合利用": ContractField.ENVIRONMENT,
    "核应用": ContractField.NUCLEAR,
    "农业": ContractField.AGRICULTURE,
    "现代交通": ContractField.TRANSPORT,
    "城市建设与社会发展": ContractField.URBAN,
}


@dataclass
class ContractImportReport:
    total_rows: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    file_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.rejected


class RowError(ValueError):
    pass


def _code(value: str, choices: list[str], words: Mapping[str, str], column: str) -> str:
    if not value:
        return ""
    if value.lower() in choices:
        return value.lower()
    if value in words:
        return str(words[value])
    raise RowError(_("%(c)s: unknown value “%(v)s”") % {"c": column, "v": value[:40]})


def _fen(value: str, column: str) -> int:
    text = value.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError(_("%(c)s: not an amount in yuan") % {"c": column}) from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise RowError(_("%(c)s: not an amount in yuan") % {"c": column})
    fen = int(amount * 100)
    if fen > MAX_FEN:
        raise RowError(_("%(c)s: the amount is too large") % {"c": column})
    return fen


def _date(value: str, column: str) -> date:
    value = value.strip()
    match = CN_DATE.match(value)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
    except ValueError:
        pass
    raise RowError(_("%(c)s: not a date (use YYYY-MM-DD)") % {"c": column})


class _Regions:
    def __init__(self) -> None:
        self.by_key: dict[str, Region] = {}
        for region in Region.objects.all():
            self.by_key[region.code] = region
            self.by_key.setdefault(region.name_zh, region)
            if region.name_en:
                self.by_key.setdefault(region.name_en.lower(), region)

    def get(self, value: str, column: str) -> Region | None:
        if not value:
            return None
        region = self.by_key.get(value) or self.by_key.get(value.lower())
        if region is None:
            raise RowError(_("%(c)s: unknown region “%(v)s”") % {"c": column, "v": value[:40]})
        return region


class _Parties:
    """Find parties on the platform by credit code or exact name (one query up front)."""

    def __init__(self) -> None:
        self.by_code: dict[str, tuple[int, str, str]] = {}
        self.by_name: dict[str, tuple[int, str, str]] = {}
        for oid, code, zh, en, region in Organisation.objects.values_list(
            "id", "credit_code", "name_zh", "name_en", "region_id"
        ):
            row = (oid, zh, region)
            if code:
                self.by_code[code] = row
            self.by_name.setdefault(zh, row)
            if en:
                self.by_name.setdefault(en, row)

    def get(self, value: str, column: str) -> tuple[int | None, str, str | None]:
        """(organisation id or None, name, region code or None)."""
        code = creditcode.normalise(value)
        if creditcode.check(code).well_formed:
            if code in self.by_code:
                return self.by_code[code]
            raise RowError(
                _("%(c)s: no organisation with credit code %(v)s; give its name instead")
                % {"c": column, "v": code}
            )
        return self.by_name.get(value, (None, value, None))


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    key: tuple[Any, ...]


def _columns(header: list[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    unknown = []
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff")
        target = ALIASES.get(key, key.lower())
        if not key:
            continue
        if target in COLUMNS:
            mapping[i] = target
        else:
            unknown.append(name)
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        raise FileRejected(
            _("Missing required column(s): %(c)s. Found: %(h)s")
            % {"c": ", ".join(missing), "h": ", ".join(h[:30] for h in header[:30])}
        )
    if unknown:
        raise FileRejected(
            _("Unknown column(s): %(c)s") % {"c": ", ".join(u[:30] for u in unknown[:20])}
        )
    return mapping


def _may_import(actor: Any, trusted: bool) -> set[str] | None:
    """Region codes whose sellers the actor may import (None: every region)."""
    if trusted or perms.is_operator(actor):
        return None
    regions = perms.admin_regions(actor)
    if not regions:
        raise PermissionDenied(
            _("Only regional administrators and operators import registered contracts.")
        )
    from innocommons.market.selectors.contracts import regions_below

    return regions_below(regions)


def import_contracts(
    path: Path,
    *,
    actor: Any = None,
    trusted: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ContractImportReport:
    """Validate and import `path`; return the report (never raises for a bad file).
    `trusted` is for the command line, which acts for the whole platform."""
    allowed = _may_import(actor, trusted)
    report = ContractImportReport()
    try:
        header, rows = read_rows(path)
        mapping = _columns(header)
        valid = _validate(rows, mapping, report, allowed, progress)
    except FileRejected as exc:
        report.file_error = str(exc.message)
        return report
    if report.rejected and not skip_invalid:
        return report
    if report.total_rows == 0:
        report.file_error = _("The file has a header but no data rows.")
        return report
    _write(valid, report, actor=actor)
    return report


def _cells(
    line: int, cells: list[str], mapping: dict[int, str], report: ContractImportReport
) -> dict[str, str] | None:
    data: dict[str, str] = {}
    for i, cell in enumerate(cells):
        if i not in mapping:
            if cell.strip():
                report.rejected.append(Rejection(line, _("more cells than columns")))
                return None
            continue
        column = mapping[i]
        if len(cell) > MAX_CELL or len(cell.strip()) > COLUMNS[column]:
            report.rejected.append(
                Rejection(
                    line,
                    _("%(c)s: longer than %(n)d characters") % {"c": column, "n": COLUMNS[column]},
                )
            )
            return None
        value = cell.strip()
        if (FORMULA.match(cell) or FORMULA.match(value)) and not column.endswith("_yuan"):
            report.rejected.append(
                Rejection(line, _("%(c)s: looks like a spreadsheet formula") % {"c": column})
            )
            return None
        data[column] = value
    return data


def _row(
    data: dict[str, str],
    regions: _Regions,
    parties: _Parties,
    allowed: set[str] | None,
    today: date,
) -> dict[str, Any]:
    """One row's contract fields, or RowError with the first problem."""
    for column in REQUIRED:
        if not data.get(column):
            raise RowError(_("%(c)s is required") % {"c": column})
    contract_type = _code(data["type"], ContractType.values, TYPE_WORDS, "type")
    subcodes = [c for c, _label in SUBTYPES[contract_type]]
    subtype = _code(data.get("subtype", ""), subcodes, SUBTYPE_WORDS, "subtype") or subcodes[0]
    if subtype not in subcodes:
        raise RowError(
            _("subtype: %(s)s is not a sub-type of %(t)s") % {"s": subtype, "t": contract_type}
        )
    field_code = _code(data["field"], ContractField.values, FIELD_WORDS, "field")
    payment = (
        _code(data.get("payment_method", ""), PaymentMethod.values, PAYMENT_WORDS, "payment_method")
        or PaymentMethod.LUMP_SUM
    )
    amount = _fen(data["amount_yuan"], "amount_yuan")
    if amount == 0:
        raise RowError(_("amount_yuan: must be more than zero"))
    tech = (
        _fen(data["tech_amount_yuan"], "tech_amount_yuan")
        if data.get("tech_amount_yuan")
        else amount
    )
    if tech > amount:
        raise RowError(_("tech_amount_yuan: exceeds the contract amount"))
    signed = _date(data["signed_on"], "signed_on")
    registered = (
        _date(data["registered_on"], "registered_on") if data.get("registered_on") else signed
    )
    if not EARLIEST_SIGNING <= signed <= today:
        raise RowError(_("signed_on: in the future or before 1980"))
    if not signed <= registered <= today:
        raise RowError(_("registered_on: before the signing date or in the future"))

    seller_id, seller_name, seller_region_code = parties.get(data["seller"], "seller")
    seller_region = regions.get(data.get("seller_region", ""), "seller_region")
    if seller_region is None and seller_region_code:
        seller_region = regions.by_key[seller_region_code]
    if seller_region is None:
        raise RowError(_("seller_region is required for a seller not on the platform"))
    if seller_region.level == Region.Level.COUNTRY:
        raise RowError(_("seller_region: the seller must be in a region of China"))
    if allowed is not None and seller_region.code not in allowed:
        raise RowError(
            _("seller_region: %(r)s is outside your jurisdiction") % {"r": seller_region.name}
        )
    buyer_id, buyer_name, buyer_region_code = parties.get(data["buyer"], "buyer")
    buyer_region = regions.get(data.get("buyer_region", ""), "buyer_region")
    if buyer_region is None and buyer_region_code:
        buyer_region = regions.by_key[buyer_region_code]
    if buyer_region is None:
        raise RowError(_("buyer_region is required for a buyer not on the platform"))
    if seller_id is not None and seller_id == buyer_id:
        raise RowError(_("buyer: the same organisation as the seller"))
    return {
        "ref": data.get("contract_no") or "",
        "title": data["title"],
        "type": contract_type,
        "subtype": subtype,
        "seller_id": seller_id,
        "seller_name": seller_name,
        "seller_region": seller_region,
        "buyer_id": buyer_id,
        "buyer_name": buyer_name,
        "buyer_region": buyer_region,
        "amount_fen": amount,
        "tech_amount_fen": tech,
        "registered_tech_amount_fen": tech,
        "payment_method": payment,
        "field": field_code,
        "signed_on": signed,
        "registered_on": registered,
        "registration_no": data.get("registration_no") or None,
    }


def _validate(
    rows: Iterator[tuple[int, list[str]]],
    mapping: dict[int, str],
    report: ContractImportReport,
    allowed: set[str] | None,
    progress: Callable[[int], None] | None,
) -> list[_Row]:
    regions = _Regions()
    parties = _Parties()
    today = timezone.localdate()
    valid: list[_Row] = []
    refs: dict[str, int] = {}
    numbers: dict[str, int] = {}
    keys: dict[tuple[Any, ...], int] = {}
    for line, cells in rows:
        if progress:
            progress(1)
        if not any(c.strip() for c in cells):
            continue
        report.total_rows += 1
        if report.total_rows > MAX_ROWS:
            raise FileRejected(_("More than %(n)d rows; split the file.") % {"n": MAX_ROWS})
        data = _cells(line, cells, mapping, report)
        if data is None:
            continue
        try:
            values = _row(data, regions, parties, allowed, today)
        except RowError as exc:
            report.rejected.append(Rejection(line, str(exc)))
            continue
        duplicate = None
        if values["ref"] and values["ref"] in refs:
            duplicate = _("contract_no: duplicate of line %(n)d") % {"n": refs[values["ref"]]}
        number = values["registration_no"]
        if number and number in numbers:
            duplicate = _("registration_no: duplicate of line %(n)d") % {"n": numbers[number]}
        key = (
            values["seller_name"],
            values["buyer_name"],
            values["title"],
            values["signed_on"],
            values["amount_fen"],
        )
        if key in keys:
            duplicate = _("duplicate of line %(n)d (same parties, title, date and amount)") % {
                "n": keys[key]
            }
        if duplicate:
            report.rejected.append(Rejection(line, duplicate))
            continue
        if values["ref"]:
            refs[values["ref"]] = line
        if number:
            numbers[number] = line
        keys[key] = line
        valid.append(_Row(line, values, key))
    valid = _drop_existing(valid, refs, numbers, report)
    report.rejected.sort(key=lambda r: r.line)
    return valid


def _drop_existing(
    rows: list[_Row],
    refs: dict[str, int],
    numbers: dict[str, int],
    report: ContractImportReport,
) -> list[_Row]:
    """Rows already on the platform (same number, or same parties, title, date, amount)."""
    taken_refs = set(TechContract.objects.filter(ref__in=list(refs)).values_list("ref", flat=True))
    taken_numbers = set(
        TechContract.objects.filter(registration_no__in=list(numbers)).values_list(
            "registration_no", flat=True
        )
    )
    existing = {
        (c.seller_name, c.buyer_name, c.title, c.signed_on, c.amount_fen)
        for c in TechContract.objects.filter(
            title__in={r.values["title"] for r in rows},
            signed_on__in={r.values["signed_on"] for r in rows},
        ).only("seller_name", "buyer_name", "title", "signed_on", "amount_fen")
    }
    kept = []
    for row in rows:
        if row.values["ref"] in taken_refs:
            report.rejected.append(Rejection(row.line, _("contract_no: already on the platform")))
        elif row.values["registration_no"] in taken_numbers:
            report.rejected.append(
                Rejection(row.line, _("registration_no: already on the platform"))
            )
        elif row.key in existing:
            report.rejected.append(
                Rejection(
                    row.line, _("already on the platform (same parties, title, date, amount)")
                )
            )
        else:
            kept.append(row)
    return kept


def _write(rows: list[_Row], report: ContractImportReport, *, actor: Any) -> None:
    user = actor if getattr(actor, "is_authenticated", False) else None
    now = timezone.now()
    with transaction.atomic():
        # Rows without a registration number get the next ones of their province and year.
        wanting: dict[tuple[str, int], list[_Row]] = defaultdict(list)
        for row in rows:
            if not row.values["registration_no"]:
                region = row.values["seller_region"]
                wanting[
                    (region.province_id or region.code, row.values["registered_on"].year)
                ].append(row)
        for (province, year), group in sorted(wanting.items()):
            for row, number in zip(
                group, reserve_registration_numbers(province, year, len(group)), strict=True
            ):
                row.values["registration_no"] = number
        contracts = [
            TechContract(
                **{**row.values, "ref": row.values["ref"] or new_ref("IM")},
                status=TechContract.Status.REGISTERED,
                source=TechContract.Source.IMPORT,
                decided_at=now,
                decided_by=user,
                created_by=user,
            )
            for row in rows
        ]
        TechContract.objects.bulk_create(contracts, batch_size=500)
        report.imported = len(contracts)
        rollups.contracts_changed(
            TechContract.objects.filter(ref__in=[c.ref for c in contracts]).values_list(
                "pk", flat=True
            )
        )
        if contracts:
            first = TechContract.objects.filter(ref=contracts[0].ref).first() or contracts[0]
            audit.record(
                actor=actor,
                action="market.contract.import",
                target=first,
                after={
                    "imported": len(contracts),
                    "regions": sorted({c.seller_region_id for c in contracts}),
                },
                note="command line" if user is None else "",
            )
