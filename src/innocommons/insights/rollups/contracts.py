"""The technology-contract rollups.

A registered contract counts on its registration day in one daily cell (day, seller
region, buyer region, type, field). The hook recomputes that cell from the raw contracts
and moves the coarser province-level cells by the daily cell's change:

- `ContractMonth`  month × seller province × buyer province × type × field
- `ContractYear`   year × seller province × buyer province
- `ContractMix`    year × side × province × type × field (output: seller's, absorption:
                   buyer's province)
- `ContractTrend`  month × side × province
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Max, Min, Model, QuerySet, Sum, Value
from django.db.models.functions import ExtractYear, TruncMonth

from innocommons.insights.models import (
    ContractDay,
    ContractMix,
    ContractMonth,
    ContractTrend,
    ContractYear,
    CountedContract,
    Side,
)
from innocommons.insights.periods import month_start
from innocommons.insights.rollups import base
from innocommons.market.models import TechContract

# (day, seller region, buyer region, type, field)
DayKey = tuple[date, str, str, str, str]


def counting_contracts() -> QuerySet[TechContract]:
    """The contracts the statistics count: registered ones (never drafts, submitted or
    refused), on their registration day."""
    return TechContract.objects.filter(status=TechContract.Status.REGISTERED)


def _key_of(row: Mapping[str, Any]) -> DayKey | None:
    if row["status"] != TechContract.Status.REGISTERED or row["registered_on"] is None:
        return None
    return (
        row["registered_on"],
        row["seller_region_id"],
        row["buyer_region_id"],
        row["type"],
        row["field"],
    )


def _coarser(key: DayKey, prov: dict[str, str]) -> list[tuple[type[Any], dict[str, Any]]]:
    """The coarser cells a daily cell is part of."""
    day, seller, buyer, type_, field_ = key
    sp, bp = prov[seller], prov[buyer]
    month = month_start(day)
    return [
        (
            ContractMonth,
            {
                "month": month,
                "seller_province_id": sp,
                "buyer_province_id": bp,
                "type": type_,
                "field": field_,
            },
        ),
        (ContractYear, {"year": day.year, "seller_province_id": sp, "buyer_province_id": bp}),
        *[
            (
                ContractMix,
                {
                    "year": day.year,
                    "side": side,
                    "province_id": province,
                    "type": type_,
                    "field": field_,
                },
            )
            for side, province in ((Side.OUTPUT, sp), (Side.ABSORPTION, bp))
        ],
        *[
            (ContractTrend, {"month": month, "side": side, "province_id": province})
            for side, province in ((Side.OUTPUT, sp), (Side.ABSORPTION, bp))
        ],
    ]


def contracts_changed(contracts: Iterable[TechContract | int]) -> None:
    """Recount contracts after any change; their cells are locked together, in order."""
    ids = sorted({c if isinstance(c, int) else c.pk for c in contracts if c is not None} - {None})
    if not ids:
        return
    with transaction.atomic():
        now = {
            row["pk"]: _key_of(row)
            for row in TechContract.objects.filter(pk__in=ids).values(
                "pk",
                "status",
                "registered_on",
                "seller_region_id",
                "buyer_region_id",
                "type",
                "field",
            )
        }
        before: dict[int, DayKey] = {
            m.contract_id: (m.day, m.seller_region, m.buyer_region, m.type, m.field)
            for m in CountedContract.objects.filter(contract_id__in=ids)
        }
        keys = {k for k in [*now.values(), *before.values()] if k is not None}
        if not keys:
            return
        base.lock(f"cd:{k}" for k in keys)
        for pk in ids:
            new, old = now.get(pk), before.get(pk)
            if new == old:
                continue
            if new is None:
                CountedContract.objects.filter(contract_id=pk).delete()
            else:
                day, seller, buyer, type_, field_ = new
                CountedContract.objects.update_or_create(
                    contract_id=pk,
                    defaults={
                        "day": day,
                        "seller_region": seller,
                        "buyer_region": buyer,
                        "type": type_,
                        "field": field_,
                    },
                )
        prov = base.provinces({code for k in keys for code in (k[1], k[2])})
        for key in sorted(keys):
            delta = _recount_day(key, prov)
            for model, cell in _coarser(key, prov):
                base.add_to_cell(model, cell, delta)


def _day_filter(key: DayKey) -> dict[str, Any]:
    day, seller, buyer, type_, field_ = key
    return {
        "day": day,
        "seller_region_id": seller,
        "buyer_region_id": buyer,
        "type": type_,
        "field": field_,
    }


def _recount_day(key: DayKey, prov: dict[str, str]) -> tuple[int, int, int]:
    """Recompute a daily cell from the raw contracts; return its change."""
    day, seller, buyer, type_, field_ = key
    cell = _day_filter(key)
    old = ContractDay.objects.filter(**cell).values_list(*base.MEASURES).first() or (0, 0, 0)
    agg = (
        counting_contracts()
        .filter(
            registered_on=day,
            seller_region_id=seller,
            buyer_region_id=buyer,
            type=type_,
            field=field_,
        )
        .aggregate(n=Count("pk"), amount=Sum("amount_fen"), tech=Sum("registered_tech_amount_fen"))
    )
    new = (int(agg["n"]), int(agg["amount"] or 0), int(agg["tech"] or 0))
    base.save_cell(
        ContractDay,
        cell,
        {
            "seller_province_id": prov[seller],
            "buyer_province_id": prov[buyer],
            "contracts": new[0],
            "amount_fen": new[1],
            "tech_amount_fen": new[2],
        },
        new[0],
    )
    return (new[0] - old[0], new[1] - old[1], new[2] - old[2])


# --- fresh aggregations, rebuild and check ----------------------------------------------------

RAW_MEASURES = {"n": Count("pk"), "a": Sum("amount_fen"), "t": Sum("registered_tech_amount_fen")}
DAY_MEASURES = {"n": Sum("contracts"), "a": Sum("amount_fen"), "t": Sum("tech_amount_fen")}
SELLER_P = "seller_region__province_id"
BUYER_P = "buyer_region__province_id"


@dataclass(frozen=True)
class Coarser:
    """How one rollup table is rebuilt from the daily cells and checked against the raw
    contracts. `rows` yields (label, stored rows, fresh rows from the raw contracts, the
    length of the key) — one per side for the tables that have sides."""

    model: type[Any]
    columns: list[str]

    def from_days(self, days: QuerySet[ContractDay]) -> list[QuerySet[Any]]:
        raise NotImplementedError

    def rows(self) -> list[tuple[str, QuerySet[Any], QuerySet[Any], int]]:
        raise NotImplementedError


def _grouped(qs: QuerySet[Any], keys: list[str], measures: dict[str, Any]) -> QuerySet[Any]:
    return qs.values(*keys).annotate(**measures).values_list(*keys, *measures).order_by()


class _Month(Coarser):
    def from_days(self, days: QuerySet[ContractDay]) -> list[QuerySet[Any]]:
        keys = ["m", "seller_province_id", "buyer_province_id", "type", "field"]
        return [_grouped(days.annotate(m=TruncMonth("day")), keys, DAY_MEASURES)]

    def rows(self) -> list[tuple[str, QuerySet[Any], QuerySet[Any], int]]:
        raw = counting_contracts().annotate(m=TruncMonth("registered_on"))
        fresh = _grouped(raw, ["m", SELLER_P, BUYER_P, "type", "field"], RAW_MEASURES)
        return [
            ("contract month", self.model.objects.values_list(*self.columns).order_by(), fresh, 5)
        ]


class _Year(Coarser):
    def from_days(self, days: QuerySet[ContractDay]) -> list[QuerySet[Any]]:
        keys = ["y", "seller_province_id", "buyer_province_id"]
        return [_grouped(days.annotate(y=ExtractYear("day")), keys, DAY_MEASURES)]

    def rows(self) -> list[tuple[str, QuerySet[Any], QuerySet[Any], int]]:
        raw = counting_contracts().annotate(y=ExtractYear("registered_on"))
        fresh = _grouped(raw, ["y", SELLER_P, BUYER_P], RAW_MEASURES)
        return [
            ("contract year", self.model.objects.values_list(*self.columns).order_by(), fresh, 3)
        ]


def _sides() -> list[tuple[str, str, str]]:
    """(side, its province column in the daily cells, in the raw contracts)."""
    return [
        (Side.OUTPUT, "seller_province_id", SELLER_P),
        (Side.ABSORPTION, "buyer_province_id", BUYER_P),
    ]


class _Mix(Coarser):
    def from_days(self, days: QuerySet[ContractDay]) -> list[QuerySet[Any]]:
        out = []
        for side, column, _raw in _sides():
            qs = days.annotate(y=ExtractYear("day"), s=Value(str(side)), p=F(column))
            out.append(_grouped(qs, ["y", "s", "p", "type", "field"], DAY_MEASURES))
        return out

    def rows(self) -> list[tuple[str, QuerySet[Any], QuerySet[Any], int]]:
        out = []
        for side, _column, raw_column in _sides():
            stored = (
                self.model.objects.filter(side=side)
                .values_list("year", "province_id", "type", "field", *base.MEASURES)
                .order_by()
            )
            raw = counting_contracts().annotate(y=ExtractYear("registered_on"))
            fresh = _grouped(raw, ["y", raw_column, "type", "field"], RAW_MEASURES)
            out.append((f"contract mix ({side})", stored, fresh, 4))
        return out


class _Trend(Coarser):
    def from_days(self, days: QuerySet[ContractDay]) -> list[QuerySet[Any]]:
        out = []
        for side, column, _raw in _sides():
            qs = days.annotate(m=TruncMonth("day"), s=Value(str(side)), p=F(column))
            out.append(_grouped(qs, ["m", "s", "p"], DAY_MEASURES))
        return out

    def rows(self) -> list[tuple[str, QuerySet[Any], QuerySet[Any], int]]:
        out = []
        for side, _column, raw_column in _sides():
            stored = (
                self.model.objects.filter(side=side)
                .values_list("month", "province_id", *base.MEASURES)
                .order_by()
            )
            raw = counting_contracts().annotate(m=TruncMonth("registered_on"))
            fresh = _grouped(raw, ["m", raw_column], RAW_MEASURES)
            out.append((f"contract trend ({side})", stored, fresh, 2))
        return out


COARSER = [
    _Month(
        ContractMonth,
        ["month", "seller_province_id", "buyer_province_id", "type", "field", *base.MEASURES],
    ),
    _Year(ContractYear, ["year", "seller_province_id", "buyer_province_id", *base.MEASURES]),
    _Mix(ContractMix, ["year", "side", "province_id", "type", "field", *base.MEASURES]),
    _Trend(ContractTrend, ["month", "side", "province_id", *base.MEASURES]),
]

DAY_COLUMNS = [
    "day",
    "seller_region_id",
    "buyer_region_id",
    "seller_province_id",
    "buyer_province_id",
    "type",
    "field",
    *base.MEASURES,
]
COUNTED_COLUMNS = ["contract_id", "day", "seller_region", "buyer_region", "type", "field"]


def fresh_days(contracts: QuerySet[TechContract] | None = None) -> QuerySet[Any]:
    qs = counting_contracts() if contracts is None else contracts
    keys = ["registered_on", "seller_region_id", "buyer_region_id", SELLER_P, BUYER_P]
    return _grouped(qs, [*keys, "type", "field"], RAW_MEASURES)


def fresh_counted(contracts: QuerySet[TechContract] | None = None) -> QuerySet[Any]:
    qs = counting_contracts() if contracts is None else contracts
    return qs.values_list(
        "pk", "registered_on", "seller_region_id", "buyer_region_id", "type", "field"
    ).order_by()


TABLES: tuple[type[Model], ...] = (CountedContract, ContractDay, *(t.model for t in COARSER))


def rebuild_years() -> list[tuple[date, date]]:
    span = counting_contracts().aggregate(lo=Min("registered_on"), hi=Max("registered_on"))
    if span["lo"] is None:
        return []
    return [(date(y, 1, 1), date(y, 12, 31)) for y in range(span["lo"].year, span["hi"].year + 1)]


def rebuild(progress: base.Progress = None) -> dict[str, int]:
    """Every contract table from the raw contracts (call inside a transaction holding the
    tables exclusively). `progress(n)` after each year of registrations."""
    counts = {"contracts": 0, "days": 0}
    for model in TABLES:
        model._default_manager.all().delete()
    for lo, hi in rebuild_years():
        year = counting_contracts().filter(registered_on__gte=lo, registered_on__lte=hi)
        n = base.insert_select(CountedContract, COUNTED_COLUMNS, fresh_counted(year))
        counts["contracts"] += n
        counts["days"] += base.insert_select(ContractDay, DAY_COLUMNS, fresh_days(year))
        if progress:
            progress(n)
    days = ContractDay.objects.all()
    for table in COARSER:
        counts[table.model.__name__] = sum(
            base.insert_select(table.model, table.columns, select)
            for select in table.from_days(days)
        )
    return counts


def check(report: base.CheckReport, limit: int) -> None:
    base.compare(
        report,
        "counted contract",
        CountedContract.objects.values_list(*COUNTED_COLUMNS).order_by(),
        fresh_counted(),
        1,
        limit,
    )
    base.compare(
        report,
        "contract day",
        ContractDay.objects.values_list(*DAY_COLUMNS).order_by(),
        fresh_days(),
        7,
        limit,
    )
    for table in COARSER:
        for label, stored, fresh, key_len in table.rows():
            base.compare(report, label, stored, fresh, key_len, limit)
