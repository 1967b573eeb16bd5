"""Tables and charts of the technology market: demands, challenges and auctions."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from innocommons.insights import formatting, regions
from innocommons.insights.query import StatsQuery
from innocommons.insights.selectors import market as sel
from innocommons.insights.tables.base import (
    Column,
    Spec,
    Table,
    chart_value,
    pie,
    series_chart,
    unit_for,
)
from innocommons.market.models import Challenge


def _pct(value: float | None) -> Decimal | None:
    return Decimal(str(round(value, 4))) if value is not None else None


def demands_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    rows = sel.demands(q.period, q.region)
    names = [idx.name(f.region) for f in rows]
    total = sel.DemandFigures("")
    for f in rows:
        for attr in ("posted", "matched", "answered", "solved", "expired", "withdrawn", "open"):
            setattr(total, attr, getattr(total, attr) + getattr(f, attr))
    return Table(
        key="demands",
        title=_("Technology demands: posted, matched, solved"),
        columns=[
            Column("region", _("Region")),
            Column("posted", _("Posted"), "int"),
            Column("matched", _("Matched with providers"), "int"),
            Column("answered", _("Answered by a provider"), "int"),
            Column("solved", _("Solved"), "int"),
            Column("open", _("Still open"), "int"),
            Column("expired", _("Expired or withdrawn"), "int"),
            Column("solved_share", _("Solved"), "percent"),
        ],
        rows=[
            [
                name,
                f.posted,
                f.matched,
                f.answered,
                f.solved,
                f.open,
                f.expired + f.withdrawn,
                formatting.share(f.solved, f.posted),
            ]
            for name, f in zip(names, rows, strict=True)
        ],
        total=[
            _("Total"),
            total.posted,
            total.matched,
            total.answered,
            total.solved,
            total.open,
            total.expired + total.withdrawn,
            formatting.share(total.solved, total.posted),
        ],
        chart=series_chart(
            "bar",
            names,
            [
                (_("Posted"), [f.posted for f in rows]),
                (_("Matched with providers"), [f.matched for f in rows]),
                (_("Solved"), [f.solved for f in rows]),
            ],
            unit=_("demands"),
        ),
        note=_("Demands published in the period, and what has become of them so far."),
    )


def challenges_table(q: StatsQuery, scope: str = "") -> Table:
    rows = sel.challenges(q.period, q.region)
    labels = dict(Challenge.Status.choices)
    unit = unit_for(r.reward_fen for r in rows)
    return Table(
        key="challenges",
        title=_("Open challenges (揭榜挂帅) by outcome"),
        columns=[
            Column("outcome", _("Outcome")),
            Column("challenges", _("Challenges"), "int"),
            Column("reward", _("Rewards"), "amount", unit),
            Column("proposals", _("Proposals"), "int"),
        ],
        rows=[[str(labels[r.status]), r.challenges, r.reward_fen, r.proposals] for r in rows],
        total=[
            _("Total"),
            sum(r.challenges for r in rows),
            sum(r.reward_fen for r in rows),
            sum(r.proposals for r in rows),
        ],
        chart=pie(
            [(str(labels[r.status]), float(r.challenges)) for r in rows],
            _("challenges"),
        ),
        note=_("Challenges posted in the period, by where they stand now."),
    )


def auctions_table(q: StatsQuery, scope: str = "") -> Table:
    a = sel.auctions(q.period, q.region)
    unit = unit_for([a.hammer_fen])
    return Table(
        key="auctions",
        title=_("Technology auctions"),
        columns=[
            Column("closed", _("Lots closed"), "int"),
            Column("sold", _("Sold"), "int"),
            Column("unsold", _("Unsold"), "int"),
            Column("defaulted", _("Buyer defaulted"), "int"),
            Column("sold_rate", _("Sold rate"), "percent"),
            Column("hammer", _("Total of hammer prices"), "amount", unit),
            Column("start", _("Their starting prices"), "amount", unit),
            Column("premium", _("Premium over the starting price"), "percent"),
            Column("mean_premium", _("Average premium per lot"), "percent"),
        ],
        rows=[
            [
                a.closed,
                a.sold,
                a.unsold,
                a.defaulted,
                _pct(a.sold_rate),
                a.hammer_fen,
                a.start_fen,
                _pct(a.premium),
                _pct(a.mean_premium),
            ]
        ]
        if a.closed
        else [],
        chart=series_chart(
            "bar",
            [_("Starting prices"), _("Hammer prices")],
            [(_("Lots sold"), [chart_value(a.start_fen, unit), chart_value(a.hammer_fen, unit)])],
            unit=formatting.unit_label(unit),
        )
        if a.sold
        else None,
        note=_("Lots whose bidding closed in the period."),
        extra={"auctions": a},
    )


SPECS = [
    Spec("demands", "market", demands_table),
    Spec("challenges", "market", challenges_table),
    Spec("auctions", "market", auctions_table),
]
