"""Tables and charts of the catalog and of shared use."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from innocommons.catalog.models import Kind
from innocommons.insights import regions
from innocommons.insights.query import StatsQuery
from innocommons.insights.selectors import sharing as sel
from innocommons.insights.tables.base import Column, Spec, Table, series_chart


def _en() -> bool:
    return (get_language() or "").startswith("en")


def listings_table(q: StatsQuery, scope: str = "") -> Table:
    data = sel.listings(q.period, q.region)
    kinds = list(Kind.choices)
    months = [f"{m:%Y-%m}" for m in data.months]
    return Table(
        key="listings",
        title=_("New listings by month and kind"),
        columns=[
            Column("month", _("Month")),
            *[Column(k, str(label), "int") for k, label in kinds],
            Column("total", _("Total"), "int"),
        ],
        rows=[
            [
                label,
                *[data.by_month[m].get(k, 0) for k, _l in kinds],
                sum(data.by_month[m].values()),
            ]
            for label, m in zip(months, data.months, strict=True)
        ],
        total=[_("Total"), *[data.by_kind.get(k, 0) for k, _l in kinds], data.total],
        chart=series_chart(
            "bar",
            months,
            [(str(label), [data.by_month[m].get(k, 0) for m in data.months]) for k, label in kinds],
            unit=_("listings"),
            stack=True,
        ),
        extra={"listings": data},
    )


def listing_fields_table(q: StatsQuery, scope: str = "") -> Table:
    data = sel.listings(q.period, q.region)
    en = _en()
    rows: list[list[Any]] = [
        [name_en if en else name_zh, n] for _code, name_zh, name_en, n in data.by_field
    ]
    return Table(
        key="listing-fields",
        title=_("New listings by technology field"),
        columns=[Column("field", _("Technology field")), Column("listings", _("Listings"), "int")],
        rows=rows,
        chart=series_chart(
            "bar",
            [r[0] for r in reversed(rows)],
            [(_("Listings"), [r[1] for r in reversed(rows)])],
            unit=_("listings"),
            horizontal=True,
        ),
    )


def listing_regions_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    data = sel.listings(q.period, q.region)
    kinds = list(Kind.choices)
    return Table(
        key="listing-regions",
        title=_("New listings by region and kind"),
        columns=[
            Column("region", _("Region")),
            *[Column(k, str(label), "int") for k, label in kinds],
            Column("total", _("Total"), "int"),
        ],
        rows=[
            [idx.name(code), *[counts.get(k, 0) for k, _l in kinds], sum(counts.values())]
            for code, counts in data.by_region
        ],
        chart=series_chart(
            "bar",
            [idx.name(code) for code, _c in data.by_region],
            [
                (str(label), [counts.get(k, 0) for _code, counts in data.by_region])
                for k, label in kinds
            ],
            unit=_("listings"),
            stack=True,
        ),
    )


def instruments_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    rows = sel.instruments(q.period, q.region)
    en = _en()
    names = [r.title_en if en else r.title_zh for r in rows]
    return Table(
        key="instruments",
        title=_("Most-used instruments"),
        columns=[
            Column("instrument", _("Instrument")),
            Column("provider", _("Provider")),
            Column("region", _("Region")),
            Column("bookings", _("Bookings"), "int"),
            Column("hours", _("Hours booked"), "decimal"),
            Column("open_hours", _("Opening hours"), "decimal"),
            Column("utilisation", _("Utilisation"), "percent"),
            Column("rating", _("Average rating"), "decimal"),
            Column("ratings", _("Ratings"), "int"),
        ],
        rows=[
            [
                name,
                r.owner,
                idx.name(r.region),
                r.bookings,
                r.hours,
                r.open_hours,
                r.utilisation,
                r.rating,
                r.ratings,
            ]
            for name, r in zip(names, rows, strict=True)
        ],
        chart=series_chart(
            "bar",
            list(reversed(names)),
            [(_("Utilisation (%)"), [float(r.utilisation or 0) for r in reversed(rows)])],
            unit="%",
            horizontal=True,
        ),
        note=_("Confirmed bookings that start in the period; opening hours from each calendar."),
    )


def providers_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    rows = sel.providers(q.period, q.region)
    en = _en()
    names = [r.name_en if en else r.name_zh for r in rows]
    return Table(
        key="providers",
        title=_("Providers by completed orders"),
        columns=[
            Column("provider", _("Provider")),
            Column("region", _("Region")),
            Column("orders", _("Orders completed"), "int"),
            Column("service_hours", _("Service hours"), "decimal"),
            Column("booked_hours", _("Instrument hours booked"), "decimal"),
            Column("rating", _("Average rating"), "decimal"),
            Column("ratings", _("Ratings"), "int"),
        ],
        rows=[
            [
                name,
                idx.name(r.region),
                r.orders,
                r.service_hours,
                r.booked_hours,
                r.rating,
                r.ratings,
            ]
            for name, r in zip(names, rows, strict=True)
        ],
        chart=series_chart(
            "bar",
            list(reversed(names)),
            [(_("Orders completed"), [r.orders for r in reversed(rows)])],
            unit=_("orders"),
            horizontal=True,
        ),
    )


SPECS = [
    Spec("listings", "sharing", listings_table),
    Spec("listing-fields", "sharing", listing_fields_table),
    Spec("listing-regions", "sharing", listing_regions_table),
    Spec("instruments", "sharing", instruments_table),
    Spec("providers", "sharing", providers_table),
]
