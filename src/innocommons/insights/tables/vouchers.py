"""Tables and charts of innovation voucher use."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from innocommons.insights import formatting, regions
from innocommons.insights.query import StatsQuery
from innocommons.insights.selectors import vouchers as sel
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
from innocommons.vouchers.models import Application, Claim


def _en() -> bool:
    return (get_language() or "").startswith("en")


def programmes_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    figures = sel.programme_figures(q.period, q.region)
    unit = unit_for(f.budget_fen for f in figures)
    money = [
        ("budget", _("Budget"), "budget_fen"),
        ("committed", _("Committed in vouchers"), "committed_fen"),
        ("redeemed", _("Redeemed"), "redeemed_fen"),
        ("claimed", _("Claimed"), "claimed_fen"),
        ("settled", _("Settled"), "settled_fen"),
        ("expired", _("Expired"), "expired_fen"),
    ]
    names = [f.programme.name for f in figures]
    return Table(
        key="programmes",
        title=_("Voucher programmes"),
        columns=[
            Column("programme", _("Programme")),
            Column("region", _("Issuing region")),
            *[Column(k, label, "amount", unit) for k, label, _a in money],
            Column("vouchers", _("Vouchers issued"), "int"),
            Column("redemptions", _("Redemptions"), "int"),
        ],
        rows=[
            [
                f.programme.name,
                idx.name(f.programme.region_id),
                *[getattr(f, attr) for _k, _l, attr in money],
                f.vouchers,
                f.redemptions,
            ]
            for f in figures
        ],
        total=[
            _("Total"),
            "",
            *[sum(getattr(f, attr) for f in figures) for _k, _l, attr in money],
            sum(f.vouchers for f in figures),
            sum(f.redemptions for f in figures),
        ],
        chart=series_chart(
            "bar",
            names,
            [
                (label, [chart_value(getattr(f, attr), unit) for f in figures])
                for k, label, attr in money
                if k in ("committed", "redeemed", "settled", "expired")
            ],
            unit=formatting.unit_label(unit),
        ),
        note=_(
            "Budget: appropriated up to the end of the period. The other amounts: what "
            "happened in the period."
        ),
    )


def voucher_regions_table(q: StatsQuery, scope: str = "") -> Table:
    """The programme figures summed per issuing province-level region."""
    idx = regions.index()
    attrs = [
        "budget_fen",
        "committed_fen",
        "redeemed_fen",
        "claimed_fen",
        "settled_fen",
        "expired_fen",
    ]
    by_region: dict[str, list[int]] = {}
    for f in sel.programme_figures(q.period, q.region):
        acc = by_region.setdefault(idx.province(f.programme.region_id), [0] * (len(attrs) + 1))
        for i, attr in enumerate(attrs):
            acc[i] += getattr(f, attr)
        acc[-1] += 1
    codes = sorted(by_region, key=idx.sort_key)
    unit = unit_for(v[0] for v in by_region.values())
    labels = [
        _("Budget"),
        _("Committed in vouchers"),
        _("Redeemed"),
        _("Claimed"),
        _("Settled"),
        _("Expired"),
    ]
    return Table(
        key="voucher-regions",
        title=_("Voucher programmes by issuing region"),
        columns=[
            Column("region", _("Issuing region")),
            Column("programmes", _("Programmes"), "int"),
            *[
                Column(a.removesuffix("_fen"), label, "amount", unit)
                for a, label in zip(attrs, labels, strict=True)
            ],
        ],
        rows=[[idx.name(c), by_region[c][-1], *by_region[c][:-1]] for c in codes],
        chart=series_chart(
            "bar",
            [idx.name(c) for c in codes],
            [
                (labels[i], [chart_value(by_region[c][i], unit) for c in codes])
                for i in (1, 2, 4, 5)
            ],
            unit=formatting.unit_label(unit),
        ),
    )


def voucher_flows_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    level = q.level if q.level != "city" else "province"
    data = sel.cross_region(q.period, level, q.region)
    unit = unit_for(f.amount_fen for f in data.flows)
    return Table(
        key="voucher-flows",
        title=_("Vouchers across regions: providers and the firms they served"),
        columns=[
            Column("provider", _("Provider's region")),
            Column("client", _("Firm's region")),
            Column("redemptions", _("Redemptions"), "int"),
            Column("amount", _("Amount redeemed"), "amount", unit),
            Column("share", _("Share of the amount"), "percent"),
        ],
        rows=[
            [
                idx.name(f.provider),
                idx.name(f.client),
                f.redemptions,
                f.amount_fen,
                formatting.share(f.amount_fen, data.total_fen),
            ]
            for f in data.flows
        ],
        total=[_("Total"), "", data.total_redemptions, data.total_fen, None],
        chart=sankey(
            [(f"p:{c}", idx.name(c)) for c in sorted({f.provider for f in data.flows})]
            + [(f"c:{c}", idx.name(c)) for c in sorted({f.client for f in data.flows})],
            [
                (f"p:{f.provider}", f"c:{f.client}", chart_value(f.amount_fen, unit))
                for f in data.flows
            ],
            unit,
            left=_("Providers"),
            right=_("Firms using vouchers"),
        ),
        note=_(
            "Across province-level borders: %(share)s of the amount redeemed "
            "(%(n)s of %(total)s redemptions)."
        )
        % {
            "share": formatting.percent(data.cross_fen, data.total_fen),
            "n": f"{data.cross_redemptions:,}",
            "total": f"{data.total_redemptions:,}",
        },
        extra={"cross": data},
    )


def categories_table(q: StatsQuery, scope: str = "") -> Table:
    cats = sel.top_categories(q.period, q.region)
    total = sum(c.amount_fen for c in cats)
    unit = unit_for(c.amount_fen for c in cats)
    en = _en()
    return Table(
        key="categories",
        title=_("Top service categories paid with vouchers"),
        columns=[
            Column("category", _("Category")),
            Column("redemptions", _("Redemptions"), "int"),
            Column("amount", _("Amount redeemed"), "amount", unit),
            Column("share", _("Share of the amount"), "percent"),
        ],
        rows=[
            [
                c.name_en if en else c.name_zh,
                c.redemptions,
                c.amount_fen,
                formatting.share(c.amount_fen, total),
            ]
            for c in cats
        ],
        chart=pie(
            [(c.name_en if en else c.name_zh, chart_value(c.amount_fen, unit)) for c in cats],
            formatting.unit_label(unit),
        ),
    )


def timing_table(q: StatsQuery, scope: str = "") -> Table:
    idx = regions.index()
    rows = sel.timing(q.period, q.region)
    labels = [idx.name(r.region) if r.region else _("All regions") for r in rows]
    return Table(
        key="timing",
        title=_("Days from application to approval and from claim to payment"),
        columns=[
            Column("region", _("Issuing region")),
            Column("approvals", _("Applications approved"), "int"),
            Column("approval_median", _("Median to approval"), "days"),
            Column("approval_p90", _("90th percentile to approval"), "days"),
            Column("payments", _("Claims paid"), "int"),
            Column("payment_median", _("Median from claim to payment"), "days"),
            Column("payment_p90", _("90th percentile to payment"), "days"),
        ],
        rows=[
            [
                label,
                r.approval.cases,
                r.approval.median_days,
                r.approval.p90_days,
                r.payment.cases,
                r.payment.median_days,
                r.payment.p90_days,
            ]
            for label, r in zip(labels, rows, strict=True)
        ],
        chart=series_chart(
            "bar",
            labels,
            [
                (_("Median days to approval"), [r.approval.median_days for r in rows]),
                (_("Median days from claim to payment"), [r.payment.median_days for r in rows]),
            ],
            unit=_("days"),
        ),
    )


def books_table(q: StatsQuery, scope: str) -> Table:
    idx = regions.index()
    ids = list(sel.programmes_in(scope).values_list("pk", flat=True))
    data = sel.books(ids, q.period)
    unit = unit_for(
        v for b in data for v in [t for _n, t in b.applications.values()] + [b.approved_fen]
    )
    statuses = Application.Status
    claims = Claim.Status

    def n(d: dict[str, tuple[int, int]], key: str) -> int:
        return d.get(key, (0, 0))[0]

    def fen(d: dict[str, tuple[int, int]], key: str) -> int:
        return d.get(key, (0, 0))[1]

    return Table(
        key="books",
        title=_("Applications and claims"),
        columns=[
            Column("programme", _("Programme")),
            Column("region", _("Issuing region")),
            Column("received", _("Applications received"), "int"),
            Column("approved", _("Approved"), "int"),
            Column("rejected", _("Rejected"), "int"),
            Column("withdrawn", _("Withdrawn"), "int"),
            Column("requested", _("Amount applied for"), "amount", unit),
            Column("approved_amount", _("Amount approved"), "amount", unit),
            Column("waiting", _("Waiting for a decision now"), "int"),
            Column("oldest", _("Longest wait"), "days"),
            Column("claims", _("Claims lodged"), "int"),
            Column("claims_rejected", _("Claims rejected"), "int"),
            Column("claims_paid", _("Claims paid"), "int"),
            Column("claimed", _("Amount claimed"), "amount", unit),
        ],
        rows=[
            [
                b.programme.name,
                idx.name(b.programme.region_id),
                sum(v[0] for v in b.applications.values()),
                n(b.applications, statuses.APPROVED),
                n(b.applications, statuses.REJECTED),
                n(b.applications, statuses.WITHDRAWN),
                sum(v[1] for v in b.applications.values()),
                b.approved_fen,
                b.waiting,
                b.oldest_waiting_days,
                sum(v[0] for v in b.claims.values()),
                n(b.claims, claims.REJECTED),
                n(b.claims, claims.PAID),
                sum(fen(b.claims, s) for s in b.claims if s != claims.REJECTED),
            ]
            for b in data
        ],
        private=True,
        note=_("Private: the issuing region's administrators, auditors and operators only."),
    )


def provider_claims_table(q: StatsQuery, scope: str) -> Table:
    idx = regions.index()
    ids = list(sel.programmes_in(scope).values_list("pk", flat=True))
    rows = sel.provider_claims(ids, q.period)
    unit = unit_for(r.claimed_fen for r in rows)
    return Table(
        key="provider-claims",
        title=_("Claims by provider"),
        columns=[
            Column("programme", _("Programme")),
            Column("provider", _("Provider")),
            Column("region", _("Provider's region")),
            Column("claims", _("Claims"), "int"),
            Column("claimed", _("Amount claimed"), "amount", unit),
            Column("paid", _("Paid"), "amount", unit),
            Column("waiting", _("Awaiting review or payment"), "amount", unit),
        ],
        rows=[
            [
                r.programme.name,
                r.provider,
                idx.name(r.provider_region),
                r.claims,
                r.claimed_fen,
                r.paid_fen,
                r.waiting_fen,
            ]
            for r in rows
        ],
        private=True,
        note=_("Private: the issuing region's administrators, auditors and operators only."),
    )


SPECS = [
    Spec("programmes", "vouchers", programmes_table),
    Spec("voucher-regions", "vouchers", voucher_regions_table),
    Spec("voucher-flows", "vouchers", voucher_flows_table),
    Spec("categories", "vouchers", categories_table),
    Spec("timing", "vouchers", timing_table),
    Spec("books", "private", books_table, private=True),
    Spec("provider-claims", "private", provider_claims_table, private=True),
]
