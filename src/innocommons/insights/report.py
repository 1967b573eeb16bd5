"""The annual report: key figures in sentences, then the charts and tables of every
section, generated from the platform's own records for one calendar year.

Sentences are gettext templates with named placeholders, so the Chinese text can put the
figures in its own order; amounts are put into words in 万元 / 亿元.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from innocommons.insights import periods, regions
from innocommons.insights.formatting import amount_with_unit, change, number, percent
from innocommons.insights.query import StatsQuery
from innocommons.insights.selectors import flows, sharing, vouchers
from innocommons.insights.selectors.flows import CommunitySummary
from innocommons.insights.tables import SPECS, Table
from innocommons.insights.tables import sections as section_titles
from innocommons.market.models import ContractField, ContractType


@dataclass
class KeyFigures:
    year: int
    community: CommunitySummary
    previous_community: CommunitySummary
    sentences: list[tuple[str, str]] = field(default_factory=list)


def _n(value: int) -> str:
    return f"{value:,}"


def _flow_sentences(year: int, q: StatsQuery, out: list[tuple[str, str]]) -> KeyFigures:
    idx = regions.index()
    now = flows.summary(q).community
    before = flows.summary(q.with_(period=periods.year(year - 1))).community
    figures = KeyFigures(year, now, before, out)
    if not now.total.contracts:
        out.append(
            (
                "registered",
                _("No technology contracts were registered on the platform in %(year)s.")
                % {"year": year},
            )
        )
        return figures
    out.append(
        (
            "registered",
            ngettext(
                "In %(year)s, %(contracts)s technology contract was registered on the "
                "platform, with a contract amount of %(amount)s and a technology-transaction "
                "amount of %(tech)s.",
                "In %(year)s, %(contracts)s technology contracts were registered on the "
                "platform, with a contract amount of %(amount)s and a technology-transaction "
                "amount of %(tech)s.",
                now.total.contracts,
            )
            % {
                "year": year,
                "contracts": _n(now.total.contracts),
                "amount": amount_with_unit(now.total.amount_fen),
                "tech": amount_with_unit(now.total.tech_amount_fen),
            },
        )
    )
    if now.output.contracts:
        out.append(
            (
                "between",
                ngettext(
                    "In %(year)s, the four regions exported %(contracts)s technology contract "
                    "worth %(amount)s to one another, %(share)s of their total output of "
                    "%(output)s.",
                    "In %(year)s, the four regions exported %(contracts)s technology contracts "
                    "worth %(amount)s to one another, %(share)s of their total output of "
                    "%(output)s.",
                    now.between.contracts,
                )
                % {
                    "year": year,
                    "contracts": _n(now.between.contracts),
                    "amount": amount_with_unit(now.between.amount_fen),
                    "share": percent(now.between.amount_fen, now.output.amount_fen),
                    "output": amount_with_unit(now.output.amount_fen),
                },
            )
        )
    if before.between.amount_fen:
        out.append(
            (
                "between_change",
                _(
                    "The amount traded between the four regions changed by %(change)s "
                    "compared with %(previous)s."
                )
                % {
                    "change": change(now.between.amount_fen, before.between.amount_fen),
                    "previous": year - 1,
                },
            )
        )
    provinces = [
        r for r in flows.summary(q.with_(level="province")).regions if idx.in_community(r.code)
    ]
    if provinces:
        seller = max(provinces, key=lambda r: r.output.amount_fen)
        buyer = max(provinces, key=lambda r: r.absorption.amount_fen)
        out.append(
            (
                "leaders",
                ngettext(
                    "%(seller)s exported the most technology (%(amount)s in %(contracts)s "
                    "contract); %(buyer)s absorbed the most (%(absorbed)s).",
                    "%(seller)s exported the most technology (%(amount)s in %(contracts)s "
                    "contracts); %(buyer)s absorbed the most (%(absorbed)s).",
                    seller.output.contracts,
                )
                % {
                    "seller": idx.name(seller.code),
                    "amount": amount_with_unit(seller.output.amount_fen),
                    "contracts": _n(seller.output.contracts),
                    "buyer": idx.name(buyer.code),
                    "absorbed": amount_with_unit(buyer.absorption.amount_fen),
                },
            )
        )
    out.append(
        (
            "outside",
            _(
                "The four regions sold technology worth %(to_rest)s to the rest of China and "
                "%(abroad)s abroad, and absorbed %(from_rest)s from the rest of China and "
                "%(from_abroad)s from abroad."
            )
            % {
                "to_rest": amount_with_unit(now.to_rest.amount_fen),
                "abroad": amount_with_unit(now.abroad.amount_fen),
                "from_rest": amount_with_unit(now.from_rest.amount_fen),
                "from_abroad": amount_with_unit(now.from_abroad.amount_fen),
            },
        )
    )
    by_field = flows.breakdown(q, "field")
    by_type = flows.breakdown(q, "type")
    total = now.total.amount_fen
    if by_field and by_type and total:
        out.append(
            (
                "mix",
                _(
                    "The largest field was %(field)s (%(field_share)s of the contract amount); "
                    "the largest contract type was %(type)s (%(type_share)s)."
                )
                % {
                    "field": dict(ContractField.choices)[by_field[0][0]],
                    "field_share": percent(by_field[0][1].amount_fen, total),
                    "type": dict(ContractType.choices)[by_type[0][0]],
                    "type_share": percent(by_type[0][1].amount_fen, total),
                },
            )
        )
    return figures


def _voucher_sentences(q: StatsQuery, out: list[tuple[str, str]]) -> None:
    progs = vouchers.programme_figures(q.period)
    active = [p for p in progs if p.vouchers or p.redemptions or p.settled_fen]
    if not active:
        return
    cross = vouchers.cross_region(q.period)
    out.append(
        (
            "vouchers",
            ngettext(
                "%(programmes)s voucher programme issued %(vouchers)s vouchers worth "
                "%(committed)s; firms redeemed %(redeemed)s, %(cross)s of it with providers in "
                "another province-level region, and %(settled)s was paid out to providers.",
                "%(programmes)s voucher programmes issued %(vouchers)s vouchers worth "
                "%(committed)s; firms redeemed %(redeemed)s, %(cross)s of it with providers in "
                "another province-level region, and %(settled)s was paid out to providers.",
                len(active),
            )
            % {
                "programmes": _n(len(active)),
                "vouchers": _n(sum(p.vouchers for p in progs)),
                "committed": amount_with_unit(sum(p.committed_fen for p in progs)),
                "redeemed": amount_with_unit(sum(p.redeemed_fen for p in progs)),
                "cross": percent(cross.cross_fen, cross.total_fen),
                "settled": amount_with_unit(sum(p.settled_fen for p in progs)),
            },
        )
    )
    overall = vouchers.timing(q.period)[-1]
    if overall.approval.cases and overall.payment.cases:
        out.append(
            (
                "timing",
                _(
                    "The median application was approved in %(approval)s days, and the median "
                    "claim was paid %(payment)s days after it was lodged."
                )
                % {
                    "approval": number(overall.approval.median_days or 0, 1),
                    "payment": number(overall.payment.median_days or 0, 1),
                },
            )
        )


def _sharing_sentences(q: StatsQuery, out: list[tuple[str, str]]) -> None:
    listings = sharing.listings(q.period)
    bookings, hours = sharing.booking_totals(q.period)
    if not listings.total and not bookings:
        return
    out.append(
        (
            "sharing",
            ngettext(
                "%(listings)s resource was newly published; instruments were booked "
                "%(bookings)s times, for %(hours)s hours.",
                "%(listings)s resources were newly published; instruments were booked "
                "%(bookings)s times, for %(hours)s hours.",
                listings.total,
            )
            % {
                "listings": _n(listings.total),
                "bookings": _n(bookings),
                "hours": number(hours, 1),
            },
        )
    )


def key_figures(year: int) -> KeyFigures:
    """The report's sentences, in the active language."""
    q = StatsQuery(period=periods.year(year))
    out: list[tuple[str, str]] = []
    figures = _flow_sentences(year, q, out)
    _voucher_sentences(q, out)
    _sharing_sentences(q, out)
    return figures


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table]


# The report's sections and their tables, in print order; the levels of detail suit a
# printed page (the Sankey at bloc level, the regions table at province level).
PLAN: list[tuple[str, list[tuple[str, dict[str, str]]]]] = [
    ("flows", [("community", {}), ("flows", {}), ("regions", {"level": "province"}),
               ("types", {}), ("fields", {}), ("trend", {}), ("years", {})]),
    ("vouchers", [("programmes", {}), ("voucher-flows", {}), ("categories", {}),
                  ("timing", {})]),
    ("sharing", [("listings", {}), ("listing-regions", {}), ("instruments", {}),
                 ("providers", {})]),
]  # fmt: skip


@dataclass
class AnnualReport:
    year: int
    figures: KeyFigures
    sections: list[Section]


def annual(year: int) -> AnnualReport:
    """Everything the annual report prints for `year`, in the active language."""
    q = StatsQuery(period=periods.year(year))
    titles = dict(section_titles())
    market: list[tuple[str, dict[str, str]]] = [
        (s.key, {}) for s in SPECS.values() if s.section == "market"
    ]
    plan = [*PLAN, ("market", market)]
    sections = []
    for key, items in plan:
        built = [SPECS[k].build(q.with_(**changes), "") for k, changes in items]
        if built:
            sections.append(Section(key, titles[key], built))
    return AnnualReport(year=year, figures=key_figures(year), sections=sections)


def context(year: int, *, standalone: bool = False) -> dict[str, Any]:
    return {
        "report": annual(year),
        "year": year,
        "previous_year": year - 1,
        "next_year": year + 1,
        "generated_on": formats.date_format(timezone.localdate(), "DATE_FORMAT"),
        "standalone": standalone,
    }


def _static(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise FileNotFoundError(path)
    return Path(str(found)).read_text(encoding="utf-8")


def _inline_js(text: str) -> str:
    # Nothing inside a <script> element may close it.
    return text.replace("</script", "<\\/script")


def document(year: int, *, echarts_src: str = "") -> str:
    """The report as one self-contained HTML file in the active language: styles, data and
    chart code inlined, or ECharts loaded from `echarts_src` (e.g. a relative path)."""
    ctx = context(year, standalone=True)
    ctx.update(
        {
            "inline_css": _static("web/site.css") + "\n" + _static("insights/insights.css"),
            "charts_js": _inline_js(_static("insights/charts.js")),
            "echarts_src": echarts_src,
            "echarts_js": ""
            if echarts_src
            else _inline_js(_static("vendor/echarts/echarts.min.js")),
        }
    )
    return render_to_string("insights/annual_document.html", ctx)
