"""Technology flows between regions, read from the contract rollups.

Output (输出) counts a contract under the seller's region, absorption (吸纳) under the
buyer's. Whole months of a period come from the monthly province cells, the days at its
edges (and every city-level question) from the daily cells; nothing here reads the raw
contracts, except the private list of a region's sellers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from innocommons.core.errors import DomainError
from innocommons.insights import regions
from innocommons.insights.models import (
    ContractDay,
    ContractMix,
    ContractMonth,
    ContractTrend,
    ContractYear,
    Side,
)
from innocommons.insights.periods import Period
from innocommons.insights.query import StatsQuery
from innocommons.insights.regions import RegionIndex
from innocommons.market.models import ContractField, ContractType, TechContract


@dataclass(slots=True)
class Measure:
    """Contracts, contract amount and technology-transaction amount (fen)."""

    contracts: int = 0
    amount_fen: int = 0
    tech_amount_fen: int = 0

    def add(self, n: int, amount: int, tech: int) -> None:
        self.contracts += int(n or 0)
        self.amount_fen += int(amount or 0)
        self.tech_amount_fen += int(tech or 0)

    def __sub__(self, other: Measure) -> Measure:
        return Measure(
            self.contracts - other.contracts,
            self.amount_fen - other.amount_fen,
            self.tech_amount_fen - other.tech_amount_fen,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "contracts": self.contracts,
            "amount_fen": self.amount_fen,
            "tech_amount_fen": self.tech_amount_fen,
        }


# --- reading the rollups ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """A rollup table and the questions it answers: the dimensions it can group by and the
    filters it can apply. Side tables hold a row per side (output, absorption) and answer
    questions about one side of one province, or of all."""

    model: type[Any]
    grain: str  # year, month or day
    dims: dict[str, Any]
    filters: frozenset[str]
    side: bool = False

    def answers(self, dims: list[str], filters: set[str]) -> bool:
        if not (set(dims) <= set(self.dims) and filters <= self.filters):
            return False
        return not (self.side and {"seller", "buyer"} <= filters)


_ALL = frozenset({"seller", "buyer", "focus", "type", "field"})
_YEAR_PAIRS = _Source(
    ContractYear,
    "year",
    {"seller": "seller_province_id", "buyer": "buyer_province_id"},
    frozenset({"seller", "buyer", "focus"}),
)
_MIX = _Source(
    ContractMix,
    "year",
    {"type": "type", "field": "field"},
    frozenset({"seller", "buyer", "type", "field"}),
    side=True,
)
_TREND = _Source(
    ContractTrend, "month", {"month": "month"}, frozenset({"seller", "buyer"}), side=True
)
_MONTH = _Source(
    ContractMonth,
    "month",
    {
        "seller": "seller_province_id",
        "buyer": "buyer_province_id",
        "type": "type",
        "field": "field",
        "month": "month",
    },
    _ALL,
)
_DAY_PROVINCES = _Source(
    ContractDay,
    "day",
    {
        "seller": "seller_province_id",
        "buyer": "buyer_province_id",
        "type": "type",
        "field": "field",
        "month": "day",
    },
    _ALL,
)
_DAY_REGIONS = _Source(
    ContractDay,
    "day",
    {
        "seller": "seller_region_id",
        "buyer": "buyer_region_id",
        "type": "type",
        "field": "field",
        "month": "day",
    },
    _ALL,
)

_MEASURES = {"n": Sum("contracts"), "a": Sum("amount_fen"), "t": Sum("tech_amount_fen")}
MEASURE_FIELDS = ("contracts", "amount_fen", "tech_amount_fen")


def _is_province(idx: RegionIndex, code: str) -> bool:
    return not code or idx.province(code) == code


def _rows(
    src: _Source,
    when: Q,
    dims: list[str],
    q: StatsQuery,
    seller: str,
    buyer: str,
    *,
    unique: bool = False,
) -> list[tuple[Any, ...]]:
    """(dims…, contracts, amount, tech amount) rows of one rollup. `unique`: each row
    already is one group (the yearly pairs of one year), so nothing needs summing."""
    idx = regions.index()
    qs = src.model.objects.filter(when)
    if q.type:
        qs = qs.filter(type=q.type)
    if q.field:
        qs = qs.filter(field=q.field)
    if q.focus:
        qs = qs.filter(Q(seller_province_id=q.focus) | Q(buyer_province_id=q.focus))
    if src.side:
        side, province = (Side.ABSORPTION, buyer) if buyer else (Side.OUTPUT, seller)
        qs = qs.filter(side=side)
        if province:
            qs = qs.filter(province_id=province)
    else:
        for name, code in (("seller", seller), ("buyer", buyer)):
            if not code:
                continue
            if _is_province(idx, code):
                qs = qs.filter(**{f"{name}_province_id": code})
            else:
                qs = qs.filter(**{f"{name}_region_id__in": idx.descendants(code)})
    cols: dict[str, Any] = {}
    for d in dims:
        column = src.dims[d]
        cols[f"k_{d}"] = TruncMonth(column) if (d == "month" and src.grain == "day") else F(column)
    if unique:
        grouped = qs.annotate(**cols).values_list(*cols, *MEASURE_FIELDS).order_by()
    else:
        grouped = qs.values(**cols).annotate(**_MEASURES).values_list(*cols, *_MEASURES).order_by()
    # Straight from the cursor: Django's per-row converters would cost more than the
    # query for the thousand-odd province pairs of a year. Months come back as text on
    # SQLite and sums as Decimal on PostgreSQL; both are normalised by the caller.
    sql, params = grouped.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    if "month" in dims:
        at = dims.index("month")
        rows = [(*r[:at], _as_date(r[at]), *r[at + 1 :]) for r in rows]
    return rows


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def sums(
    q: StatsQuery,
    dims: list[str],
    *,
    grain: str = "province",
    seller: str = "",
    buyer: str = "",
) -> list[tuple[Any, ...]]:
    """Sum the contracts of the period by `dims` (seller, buyer, month, type, field):
    rows of (dims…, contracts, amount, tech amount).

    grain "province" groups regions by province-level region; whole years, whole months
    and the days at the edges are each read from the smallest rollup that can answer;
    grain "region" (and any filter below province level) reads the daily cells.
    """
    idx = regions.index()
    filters = {
        name
        for name, value in (
            ("seller", seller),
            ("buyer", buyer),
            ("focus", q.focus),
            ("type", q.type),
            ("field", q.field),
        )
        if value
    }
    parts: list[tuple[_Source, Q, bool]] = []
    if grain != "province" or not (_is_province(idx, seller) and _is_province(idx, buyer)):
        parts.append((_DAY_REGIONS, Q(day__gte=q.period.start, day__lte=q.period.end), False))
    else:
        years, months, edges = q.period.split_years()
        if years:
            src = next(s for s in (_YEAR_PAIRS, _MIX, _TREND, _MONTH) if s.answers(dims, filters))
            if src.grain == "year":
                unique = src is _YEAR_PAIRS and len(years) == 1 and dims == ["seller", "buyer"]
                parts.append((src, Q(year__in=years), unique))
            else:
                first, last = date(years[0], 1, 1), date(years[-1], 12, 1)
                parts.append((src, Q(month__gte=first, month__lte=last), False))
        if months:
            src = next(s for s in (_TREND, _MONTH) if s.answers(dims, filters))
            parts.append((src, Q(month__in=months), False))
        if edges:
            when = Q()
            for lo, hi in edges:
                when |= Q(day__gte=lo, day__lte=hi)
            parts.append((_DAY_PROVINCES, when, False))
    width = len(dims)
    if len(parts) == 1:
        src, when, unique = parts[0]
        rows = _rows(src, when, dims, q, seller, buyer, unique=unique)
        if unique:
            return rows  # plain integer columns, one row per group
        return [(*row[:width], int(row[-3]), int(row[-2] or 0), int(row[-1] or 0)) for row in rows]
    out: dict[tuple[Any, ...], list[int]] = {}
    for src, when, unique in parts:
        for row in _rows(src, when, dims, q, seller, buyer, unique=unique):
            key = row[:width]
            acc = out.get(key)
            if acc is None:
                out[key] = [int(row[-3]), int(row[-2] or 0), int(row[-1] or 0)]
            else:
                acc[0] += int(row[-3])
                acc[1] += int(row[-2] or 0)
                acc[2] += int(row[-1] or 0)
    return [(*k, *v) for k, v in out.items()]


def aggregate(
    q: StatsQuery,
    dims: list[str],
    *,
    grain: str = "province",
    seller: str = "",
    buyer: str = "",
) -> list[tuple[tuple[Any, ...], Measure]]:
    """`sums` as (key, Measure) pairs."""
    width = len(dims)
    return [
        (row[:width], Measure(*row[width:]))
        for row in sums(q, dims, grain=grain, seller=seller, buyer=buyer)
    ]


# --- the flow matrix ----------------------------------------------------------------------------


@dataclass(slots=True)
class Link:
    seller: str
    buyer: str
    measure: Measure


@dataclass
class Flows:
    """The matrix of one period at one level: nodes and the links between them."""

    query: StatsQuery
    nodes: list[str]
    links: list[Link]
    total: Measure
    # (seller, buyer, contracts, amount, tech amount) per province or region pair behind
    # the links, for the summaries
    raw_pairs: list[tuple[str, str, int, int, int]] = field(default_factory=list)


def _pairs(q: StatsQuery) -> list[tuple[str, str, int, int, int]]:
    """(seller, buyer, contracts, amount, tech amount) per province pair (per region pair
    at city level), as plain tuples: a year at province level has thousands of pairs."""
    grain = "region" if q.level == "city" else "province"
    return sums(q, ["seller", "buyer"], grain=grain)  # type: ignore[return-value]


def flows(q: StatsQuery, pairs: list[tuple[str, str, int, int, int]] | None = None) -> Flows:
    """Output × absorption between the nodes of `q.level`."""
    idx = regions.index()
    pairs = _pairs(q) if pairs is None else pairs
    codes = {p[0] for p in pairs} | {p[1] for p in pairs}
    nodes_of = {c: idx.node(c, q.level, q.focus) for c in codes}
    nodes = sorted(set(nodes_of.values()), key=idx.sort_key)
    order = {c: i for i, c in enumerate(nodes)}
    total = [0, 0, 0]
    for _s, _b, n, a, t in pairs:
        total[0] += n
        total[1] += a
        total[2] += t
    if all(c == n for c, n in nodes_of.items()):
        # Province level: every pair already is a link.
        width = len(nodes) + 1
        ordered = sorted(pairs, key=lambda p: order[p[0]] * width + order[p[1]])
        links = [Link(s, b, Measure(n, a, t)) for s, b, n, a, t in ordered]
    else:
        merged: dict[tuple[str, str], list[int]] = {}
        for seller, buyer, n, a, t in pairs:
            key = (nodes_of[seller], nodes_of[buyer])
            acc = merged.get(key)
            if acc is None:
                merged[key] = [n, a, t]
            else:
                acc[0] += n
                acc[1] += a
                acc[2] += t
        links = [
            Link(s, b, Measure(*v))
            for (s, b), v in sorted(
                merged.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])
            )
        ]
    return Flows(query=q, nodes=nodes, links=links, total=Measure(*total), raw_pairs=pairs)


# --- per-region summary ------------------------------------------------------------------------


@dataclass
class RegionSummary:
    code: str
    output: Measure = field(default_factory=Measure)
    absorption: Measure = field(default_factory=Measure)
    internal: Measure = field(default_factory=Measure)  # seller and buyer in this region
    # sold to another province of the community (both sides in the community)
    to_community: Measure = field(default_factory=Measure)

    @property
    def net(self) -> Measure:
        return self.output - self.absorption


@dataclass
class CommunitySummary:
    """The four regions together (DESIGN §6: "186.345 bn yuan between the four regions,
    13.96% of their total")."""

    output: Measure = field(default_factory=Measure)  # sold by the community's sellers
    between: Measure = field(default_factory=Measure)  # to another community province
    within_province: Measure = field(default_factory=Measure)
    to_rest: Measure = field(default_factory=Measure)  # to the rest of China
    abroad: Measure = field(default_factory=Measure)  # to foreign buyers
    from_rest: Measure = field(default_factory=Measure)  # bought from the rest of China
    from_abroad: Measure = field(default_factory=Measure)  # bought from abroad
    total: Measure = field(default_factory=Measure)  # every registered contract


@dataclass
class Summary:
    query: StatsQuery
    regions: list[RegionSummary]
    community: CommunitySummary


def summary(q: StatsQuery, matrix: Flows | None = None) -> Summary:
    """Output, absorption, net and the community share per node, and the community's
    headline figures."""
    idx = regions.index()
    pairs = matrix.raw_pairs if matrix is not None else _pairs(q)
    codes = {p[0] for p in pairs} | {p[1] for p in pairs}
    # Per region code, once: its node, province, and whether it is in the community or
    # in China — the loop below then only adds.
    about = {
        c: (idx.node(c, q.level, q.focus), idx.province(c), idx.in_community(c), idx.is_domestic(c))
        for c in codes
    }
    nodes = sorted({v[0] for v in about.values()}, key=idx.sort_key)
    node_sums: dict[str, list[list[int]]] = {c: [[0, 0, 0] for _ in range(4)] for c in nodes}
    OUT, ABS, INTERNAL, TO_COM = range(4)
    com: dict[str, list[int]] = {
        k: [0, 0, 0]
        for k in (
            "output",
            "between",
            "within_province",
            "to_rest",
            "abroad",
            "from_rest",
            "from_abroad",
            "total",
        )
    }

    def add(acc: list[int], n: int, a: int, t: int) -> None:
        acc[0] += n
        acc[1] += a
        acc[2] += t

    for seller, buyer, n, a, t in pairs:
        s_node, s_prov, s_in, s_dom = about[seller]
        b_node, b_prov, b_in, b_dom = about[buyer]
        add(node_sums[s_node][OUT], n, a, t)
        add(node_sums[b_node][ABS], n, a, t)
        if s_node == b_node:
            add(node_sums[s_node][INTERNAL], n, a, t)
        add(com["total"], n, a, t)
        cross = s_prov != b_prov
        if s_in:
            add(com["output"], n, a, t)
            if b_in:
                if cross:
                    add(com["between"], n, a, t)
                    add(node_sums[s_node][TO_COM], n, a, t)
                else:
                    add(com["within_province"], n, a, t)
            else:
                add(com["to_rest" if b_dom else "abroad"], n, a, t)
        elif b_in:
            add(com["from_rest" if s_dom else "from_abroad"], n, a, t)
    rows = [
        RegionSummary(
            c,
            output=Measure(*v[OUT]),
            absorption=Measure(*v[ABS]),
            internal=Measure(*v[INTERNAL]),
            to_community=Measure(*v[TO_COM]),
        )
        for c, v in node_sums.items()
    ]
    return Summary(
        query=q,
        regions=rows,
        community=CommunitySummary(**{k: Measure(*v) for k, v in com.items()}),
    )


# --- breakdowns and trends ----------------------------------------------------------------------


def _side(q: StatsQuery) -> dict[str, str]:
    return {"seller" if q.side == "output" else "buyer": q.region}


def breakdown(q: StatsQuery, by: str) -> list[tuple[str, Measure]]:
    """By contract type or statistics field, of one region's output or absorption (all
    regions when `q.region` is empty), largest amount first."""
    if by not in ("type", "field"):
        raise DomainError(_("Break down by type or field."), field="by")
    rows = aggregate(q, [by], **_side(q))
    labels = ContractType.values if by == "type" else ContractField.values
    found = {k[0]: m for k, m in rows}
    out = [(code, found.get(code, Measure())) for code in labels]
    return sorted(out, key=lambda kv: (-kv[1].amount_fen, labels.index(kv[0])))


@dataclass
class TrendPoint:
    month: date
    current: Measure
    previous: Measure


def trend(q: StatsQuery) -> list[TrendPoint]:
    """Month by month over the period, beside the same months a year earlier."""
    before = q.with_(period=q.period.shifted_years(-1))
    now = {k[0]: m for k, m in aggregate(q, ["month"], **_side(q))}
    then = {k[0]: m for k, m in aggregate(before, ["month"], **_side(before))}
    points = []
    for month in q.period.months():
        prev_month = _year_earlier(month)
        points.append(TrendPoint(month, now.get(month, Measure()), then.get(prev_month, Measure())))
    return points


def _year_earlier(month: date) -> date:
    return month.replace(year=month.year - 1)


def years(q: StatsQuery, first: int, last: int) -> list[tuple[int, Measure]]:
    """Year totals from `first` to `last` (the annual report's multi-year view)."""
    span = q.with_(period=Period(date(first, 1, 1), date(last, 12, 31), "range"))
    by_month = aggregate(span, ["month"], **_side(span))
    totals = {y: Measure() for y in range(first, last + 1)}
    for (month,), m in by_month:
        totals[month.year].add(m.contracts, m.amount_fen, m.tech_amount_fen)
    return sorted(totals.items())


# --- private: a region's sellers -----------------------------------------------------------------


@dataclass
class Party:
    name: str
    region: str
    measure: Measure


def top_sellers(q: StatsQuery, region: str, limit: int = 20) -> list[Party]:
    """The organisations of a region (all when empty) that sold the most technology in the
    period, from the raw contracts (private: the region's administrators only)."""
    idx = regions.index()
    contracts = TechContract.objects.filter(
        status=TechContract.Status.REGISTERED,
        registered_on__gte=q.period.start,
        registered_on__lte=q.period.end,
    )
    if region:
        contracts = contracts.filter(seller_region_id__in=idx.descendants(region))
    rows = (
        contracts.values("seller_name", "seller_region_id")
        .annotate(n=Count("pk"), a=Sum("amount_fen"), t=Sum("registered_tech_amount_fen"))
        .order_by("-a", "seller_name")[:limit]
    )
    return [
        Party(r["seller_name"], r["seller_region_id"], Measure(r["n"], r["a"] or 0, r["t"] or 0))
        for r in rows
    ]
