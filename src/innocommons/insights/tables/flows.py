"""Tables and charts of technology flows between regions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from innocommons.insights import formatting, regions
from innocommons.insights.query import StatsQuery
from innocommons.insights.selectors import flows as sel
from innocommons.insights.selectors.flows import Measure
from innocommons.insights.tables.base import (
    Column,
    Spec,
    Table,
    chart_value,
    pie,
    sankey,
    series_chart,
    unit_for,
)
from innocommons.market.models import ContractField, ContractType


def _measure_columns(unit: str) -> list[Column]:
    return [
        Column("contracts", _("Contracts"), "int"),
        Column("amount", _("Contract amount"), "amount", unit),
        Column("tech_amount", _("Technology-transaction amount"), "amount", unit),
    ]


def _m(m: Measure) -> list[Any]:
    return [m.contracts, m.amount_fen, m.tech_amount_fen]


def _level_note(q: StatsQuery) -> str:
    idx = regions.index()
    if q.level == "bloc":
        return _("The four regions each, the rest of China and abroad.")
    if q.level == "province":
        return _("Province-level regions; foreign partners by country.")
    if q.focus:
        return _("Cities of %(province)s; other regions at province level.") % {
            "province": idx.name(q.focus)
        }
    return _("Cities (districts of municipalities).")


def flows_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    matrix = sel.flows(q)
    unit = unit_for(link.measure.amount_fen for link in matrix.links)
    return Table(
        key="flows",
        title=_("Technology flows between regions"),
        columns=[
            Column("seller", _("Output region (seller)")),
            Column("buyer", _("Absorbing region (buyer)")),
            *_measure_columns(unit),
        ],
        rows=[[idx.name(x.seller), idx.name(x.buyer), *_m(x.measure)] for x in matrix.links],
        total=[_("Total"), "", *_m(matrix.total)],
        chart=sankey(
            [(f"o:{c}", idx.name(c)) for c in matrix.nodes]
            + [(f"a:{c}", idx.name(c)) for c in matrix.nodes],
            [
                (f"o:{x.seller}", f"a:{x.buyer}", chart_value(x.measure.amount_fen, unit))
                for x in matrix.links
            ],
            unit,
            left=_("Output (seller's region)"),
            right=_("Absorption (buyer's region)"),
        ),
        note=_level_note(q),
    )


def regions_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    summ = sel.summary(q)
    rows = summ.regions
    unit = unit_for(v for r in rows for v in (r.output.amount_fen, r.absorption.amount_fen))
    return Table(
        key="regions",
        title=_("Output and absorption by region"),
        columns=[
            Column("region", _("Region")),
            Column("output_contracts", _("Output: contracts"), "int"),
            Column("output_amount", _("Output: contract amount"), "amount", unit),
            Column("output_tech", _("Output: technology-transaction amount"), "amount", unit),
            Column("absorption_contracts", _("Absorption: contracts"), "int"),
            Column("absorption_amount", _("Absorption: contract amount"), "amount", unit),
            Column("net_amount", _("Net output"), "amount", unit),
            Column("community_share", _("Sold to the other community regions"), "percent"),
        ],
        rows=[
            [
                idx.name(r.code),
                r.output.contracts,
                r.output.amount_fen,
                r.output.tech_amount_fen,
                r.absorption.contracts,
                r.absorption.amount_fen,
                r.net.amount_fen,
                formatting.share(r.to_community.amount_fen, r.output.amount_fen)
                if idx.in_community(r.code) and r.code not in (regions.REST, regions.ABROAD)
                else None,
            ]
            for r in rows
        ],
        chart=series_chart(
            "bar",
            [idx.name(r.code) for r in rows],
            [
                (_("Output"), [chart_value(r.output.amount_fen, unit) for r in rows]),
                (_("Absorption"), [chart_value(r.absorption.amount_fen, unit) for r in rows]),
            ],
            unit=formatting.unit_label(unit),
        ),
        note=_level_note(q),
    )


def community_rows(c: sel.CommunitySummary) -> list[tuple[str, str, Measure]]:
    return [
        ("between", _("Between the four regions (across their borders)"), c.between),
        ("within", _("Within one of the four regions"), c.within_province),
        ("to_rest", _("From the four regions to the rest of China"), c.to_rest),
        ("abroad", _("From the four regions abroad"), c.abroad),
        ("output", _("Output of the four regions"), c.output),
        ("from_rest", _("Absorbed from the rest of China"), c.from_rest),
        ("from_abroad", _("Absorbed from abroad"), c.from_abroad),
    ]


def community_table(q: StatsQuery, scope: str = "") -> Table:
    c = sel.summary(q.with_(level="bloc", focus="")).community
    items = community_rows(c)
    unit = unit_for(m.amount_fen for _k, _l, m in items)
    return Table(
        key="community",
        title=_("The four regions together"),
        columns=[
            Column("flow", _("Flow")),
            *_measure_columns(unit),
            Column("share", _("Share of the four regions' output"), "percent"),
        ],
        rows=[
            [
                label,
                *_m(m),
                formatting.share(m.amount_fen, c.output.amount_fen) if i < 5 else None,
            ]
            for i, (_k, label, m) in enumerate(items)
        ],
        chart=pie(
            [(label, chart_value(m.amount_fen, unit)) for _k, label, m in items[:4]],
            formatting.unit_label(unit),
        ),
        extra={"community": c},
    )


def _side_title(q: StatsQuery, what: str) -> str:
    idx = regions.index()
    side = _("Output") if q.side == "output" else _("Absorption")
    if q.region:
        return _("%(side)s of %(region)s by %(what)s") % {
            "side": side,
            "region": idx.name(q.region),
            "what": what,
        }
    return _("%(side)s by %(what)s") % {"side": side, "what": what}


def _breakdown_table(q: StatsQuery, by: str) -> Table:
    labels = dict(ContractType.choices if by == "type" else ContractField.choices)
    rows = sel.breakdown(q, by)
    total = Measure()
    for _code, m in rows:
        total.add(m.contracts, m.amount_fen, m.tech_amount_fen)
    unit = unit_for(m.amount_fen for _c, m in rows)
    what = _("contract type") if by == "type" else _("field")
    chart_data = [(str(labels[c]), chart_value(m.amount_fen, unit)) for c, m in rows]
    return Table(
        key="types" if by == "type" else "fields",
        title=_side_title(q, what),
        columns=[
            Column(by, _("Contract type") if by == "type" else _("Field")),
            *_measure_columns(unit),
            Column("share", _("Share of the amount"), "percent"),
        ],
        rows=[
            [str(labels[c]), *_m(m), formatting.share(m.amount_fen, total.amount_fen)]
            for c, m in rows
        ],
        total=[_("Total"), *_m(total), Decimal(100) if total.amount_fen else None],
        chart=pie(chart_data, formatting.unit_label(unit))
        if by == "type"
        else series_chart(
            "bar",
            [n for n, _v in reversed(chart_data)],
            [(_("Contract amount"), [v for _n, v in reversed(chart_data)])],
            unit=formatting.unit_label(unit),
            horizontal=True,
        ),
    )


def types_table(q: StatsQuery, scope: str = "") -> Table:
    return _breakdown_table(q, "type")


def fields_table(q: StatsQuery, scope: str = "") -> Table:
    return _breakdown_table(q, "field")


def trend_table(q: StatsQuery, scope: str = "") -> Table:
    points = sel.trend(q)
    unit = unit_for(v for p in points for v in (p.current.amount_fen, p.previous.amount_fen))
    months = [f"{p.month:%Y-%m}" for p in points]
    return Table(
        key="trend",
        title=_side_title(q, _("month")),
        columns=[
            Column("month", _("Month")),
            Column("contracts", _("Contracts"), "int"),
            Column("amount", _("Contract amount"), "amount", unit),
            Column("previous_contracts", _("Contracts a year earlier"), "int"),
            Column("previous_amount", _("Contract amount a year earlier"), "amount", unit),
            Column("change", _("Change in amount, year on year"), "percent"),
        ],
        rows=[
            [
                month,
                p.current.contracts,
                p.current.amount_fen,
                p.previous.contracts,
                p.previous.amount_fen,
                formatting.share(
                    p.current.amount_fen - p.previous.amount_fen, p.previous.amount_fen
                ),
            ]
            for month, p in zip(months, points, strict=True)
        ],
        chart=series_chart(
            "line",
            months,
            [
                (q.period.label, [chart_value(p.current.amount_fen, unit) for p in points]),
                (
                    q.period.shifted_years(-1).label,
                    [chart_value(p.previous.amount_fen, unit) for p in points],
                ),
            ],
            unit=formatting.unit_label(unit),
        ),
    )


def years_table(q: StatsQuery, scope: str = "", span: int = 5) -> Table:
    """The last `span` years up to the period's year (the multi-year view)."""
    last = q.period.end.year
    rows = sel.years(q, last - span + 1, last)
    unit = unit_for(m.amount_fen for _y, m in rows)
    changes = [None] + [
        formatting.share(m.amount_fen - prev.amount_fen, prev.amount_fen)
        for (_y, m), (_p, prev) in zip(rows[1:], rows[:-1], strict=True)
    ]
    return Table(
        key="years",
        title=_side_title(q, _("year")),
        columns=[
            Column("year", _("Year")),
            *_measure_columns(unit),
            Column("change", _("Change in amount, year on year"), "percent"),
        ],
        rows=[[str(y), *_m(m), ch] for (y, m), ch in zip(rows, changes, strict=True)],
        chart=series_chart(
            "bar",
            [str(y) for y, _m in rows],
            [
                (_("Contract amount"), [chart_value(m.amount_fen, unit) for _y, m in rows]),
                (
                    _("Technology-transaction amount"),
                    [chart_value(m.tech_amount_fen, unit) for _y, m in rows],
                ),
            ],
            unit=formatting.unit_label(unit),
        ),
    )


def top_sellers_table(q: StatsQuery, scope: str) -> Table:
    idx = regions.index()
    region = scope
    parties = sel.top_sellers(q, region)
    unit = unit_for(p.measure.amount_fen for p in parties)
    return Table(
        key="top-sellers",
        title=_("Largest sellers of %(region)s") % {"region": idx.name(region)}
        if region
        else _("Largest sellers"),
        columns=[
            Column("seller", _("Seller")),
            Column("region", _("Region")),
            *_measure_columns(unit),
        ],
        rows=[[p.name, idx.name(p.region), *_m(p.measure)] for p in parties],
        private=True,
        note=_("Private: the region's administrators, auditors and operators only."),
    )


SPECS = [
    Spec("community", "flows", community_table),
    Spec("flows", "flows", flows_table),
    Spec("regions", "flows", regions_table),
    Spec("types", "flows", types_table),
    Spec("fields", "flows", fields_table),
    Spec("trend", "flows", trend_table),
    Spec("years", "flows", years_table),
    Spec("top-sellers", "private", top_sellers_table, private=True),
]
