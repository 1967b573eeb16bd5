"""Open-data API: every statistic of the pages under `/api/v1/stats/…`, with the same
filters. Public figures are open to everyone (anonymous clients rate-limited, responses
with ETag and Cache-Control); private ones need a token or session of an administrator
of the region, an auditor or an operator."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Query, Router

from innocommons.core.apiutils import AUTH
from innocommons.core.errors import DomainError
from innocommons.insights import exports, formatting, permissions, regions, report, tables
from innocommons.insights.http import conditional, dump, open_data
from innocommons.insights.periods import Period
from innocommons.insights.query import StatsQuery, from_params
from innocommons.insights.schemas import (
    AuctionsOut,
    BooksOut,
    BreakdownOut,
    CategoriesOut,
    ChallengesOut,
    CrossRegionOut,
    DemandsOut,
    FlowsOut,
    InstrumentsOut,
    ListingsOut,
    ProgrammesOut,
    ProvidersOut,
    RegionsOut,
    ReportOut,
    SellersOut,
    StatsParams,
    TableOut,
    TimingsOut,
    TrendOut,
    YearsOut,
)
from innocommons.insights.selectors import flows, market, sharing, vouchers
from innocommons.market.models import ContractField, ContractType

router = Router(tags=["statistics"])

ERRORS = {304: None, 400: dict[str, Any], 429: dict[str, Any]}


def _q(params: StatsParams) -> StatsQuery:
    return from_params(params.model_dump())


def _period(p: Period) -> dict[str, Any]:
    return {"code": p.code, "kind": p.kind, "start": p.start, "end": p.end}


def _named(code: str) -> dict[str, str]:
    zh, en = regions.index().names(code)
    return {"code": code, "name_zh": zh, "name_en": en}


def _labels(choices: Any, code: str) -> dict[str, str]:
    label = dict(choices)[code]
    with translation.override("zh-hans"):
        zh = str(label)
    with translation.override("en"):
        en = str(label)
    return {"code": code, "name_zh": zh, "name_en": en}


def _limit(limit: int) -> int:
    if not 1 <= limit <= 100:
        raise DomainError(_("Ask for 1 to 100 rows."), field="limit")
    return limit


def _pct(part: int, whole: int) -> float | None:
    value = formatting.share(part, whole)
    return round(float(value), 4) if value is not None else None


def _community(c: flows.CommunitySummary) -> dict[str, Any]:
    return {
        "output": c.output.as_dict(),
        "between": c.between.as_dict(),
        "within_province": c.within_province.as_dict(),
        "to_rest": c.to_rest.as_dict(),
        "abroad": c.abroad.as_dict(),
        "from_rest": c.from_rest.as_dict(),
        "from_abroad": c.from_abroad.as_dict(),
        "total": c.total.as_dict(),
        "between_share_pct": _pct(c.between.amount_fen, c.output.amount_fen),
    }


# --- technology flows -----------------------------------------------------------------------


@router.get(
    "/stats/flows",
    response={200: FlowsOut, **ERRORS},
    summary="Technology flows: the matrix of output (seller) × absorption (buyer) regions",
)
@open_data(FlowsOut)
def flow_matrix(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    m = flows.flows(q)
    return {
        "period": _period(q.period),
        "level": q.level,
        "focus": q.focus,
        "nodes": [_named(c) for c in m.nodes],
        "links": [
            {
                "seller": x.seller,
                "buyer": x.buyer,
                "contracts": x.measure.contracts,
                "amount_fen": x.measure.amount_fen,
                "tech_amount_fen": x.measure.tech_amount_fen,
            }
            for x in m.links
        ],
        "total": m.total.as_dict(),
    }


@router.get(
    "/stats/flows/regions",
    response={200: RegionsOut, **ERRORS},
    summary="Per region: output, absorption, net, share sold inside the community",
)
@open_data(RegionsOut)
def flow_regions(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    s = flows.summary(q)
    idx = regions.index()
    return {
        "period": _period(q.period),
        "level": q.level,
        "focus": q.focus,
        "regions": [
            {
                "region": _named(r.code),
                "output": r.output.as_dict(),
                "absorption": r.absorption.as_dict(),
                "net": r.net.as_dict(),
                "internal": r.internal.as_dict(),
                "to_community": r.to_community.as_dict(),
                "community_share_pct": _pct(r.to_community.amount_fen, r.output.amount_fen)
                if idx.in_community(r.code)
                else None,
            }
            for r in s.regions
        ],
        "community": _community(s.community),
    }


@router.get(
    "/stats/flows/breakdown",
    response={200: BreakdownOut, **ERRORS},
    summary="Output or absorption by contract type or statistics field",
)
@open_data(BreakdownOut)
def flow_breakdown(
    request: HttpRequest, params: Query[StatsParams], by: Literal["type", "field"] = "type"
) -> dict[str, Any]:
    q = _q(params)
    choices = ContractType.choices if by == "type" else ContractField.choices
    return {
        "period": _period(q.period),
        "by": by,
        "side": q.side,
        "region": q.region,
        "rows": [{**_labels(choices, code), **m.as_dict()} for code, m in flows.breakdown(q, by)],
    }


@router.get(
    "/stats/flows/trend",
    response={200: TrendOut, **ERRORS},
    summary="Month by month, beside the same months a year earlier",
)
@open_data(TrendOut)
def flow_trend(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "side": q.side,
        "region": q.region,
        "months": [
            {
                "month": f"{p.month:%Y-%m}",
                "current": p.current.as_dict(),
                "previous": p.previous.as_dict(),
            }
            for p in flows.trend(q)
        ],
    }


@router.get(
    "/stats/flows/years",
    response={200: YearsOut, **ERRORS},
    summary="Year totals over several years",
)
@open_data(YearsOut)
def flow_years(
    request: HttpRequest,
    params: Query[StatsParams],
    first: int,
    last: int,
) -> dict[str, Any]:
    if not (1980 <= first <= 2200 and 0 <= last - first < 30):
        raise DomainError(_("Ask for at most 30 years, first ≤ last."), field="first")
    q = _q(params)
    return {
        "side": q.side,
        "region": q.region,
        "years": [{"year": y, **m.as_dict()} for y, m in flows.years(q, first, last)],
    }


@router.get(
    "/stats/flows/sellers",
    auth=AUTH,
    response={200: SellersOut, **ERRORS},
    summary="Private: the largest sellers of a region (its administrators)",
)
@open_data(SellersOut, private=True)
def flow_sellers(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    scope = permissions.dashboard_region(request.user, q.region)
    return {
        "period": _period(q.period),
        "region": scope,
        "rows": [
            {"seller": p.name, "region": _named(p.region), **p.measure.as_dict()}
            for p in flows.top_sellers(q, scope, limit=100)
        ],
    }


# --- vouchers --------------------------------------------------------------------------------


@router.get(
    "/stats/vouchers/programmes",
    response={200: ProgrammesOut, **ERRORS},
    summary="Per voucher programme: budget, committed, redeemed, claimed, settled, expired",
)
@open_data(ProgrammesOut)
def voucher_programmes(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [
            {
                "id": f.programme.pk,
                "name_zh": f.programme.name_zh,
                "name_en": f.programme.name_en or f.programme.name_zh,
                "region": _named(f.programme.region_id),
                "budget_fen": f.budget_fen,
                "committed_fen": f.committed_fen,
                "vouchers": f.vouchers,
                "redeemed_fen": f.redeemed_fen,
                "redemptions": f.redemptions,
                "claimed_fen": f.claimed_fen,
                "settled_fen": f.settled_fen,
                "expired_fen": f.expired_fen,
                "revoked_fen": f.revoked_fen,
            }
            for f in vouchers.programme_figures(q.period, q.region)
        ],
    }


@router.get(
    "/stats/vouchers/cross-region",
    response={200: CrossRegionOut, **ERRORS},
    summary="Which regions' providers served which regions' firms with vouchers",
)
@open_data(CrossRegionOut)
def voucher_cross_region(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    level = q.level if q.level != "city" else "province"
    data = vouchers.cross_region(q.period, level, q.region)
    codes = sorted({c for f in data.flows for c in (f.provider, f.client)})
    return {
        "period": _period(q.period),
        "level": level,
        "region": q.region,
        "nodes": [_named(c) for c in codes],
        "flows": [
            {
                "provider": f.provider,
                "client": f.client,
                "redemptions": f.redemptions,
                "amount_fen": f.amount_fen,
            }
            for f in data.flows
        ],
        "total_fen": data.total_fen,
        "total_redemptions": data.total_redemptions,
        "cross_fen": data.cross_fen,
        "cross_redemptions": data.cross_redemptions,
        "cross_share_pct": _pct(data.cross_fen, data.total_fen),
    }


@router.get(
    "/stats/vouchers/categories",
    response={200: CategoriesOut, **ERRORS},
    summary="Top service and instrument categories paid with vouchers",
)
@open_data(CategoriesOut)
def voucher_categories(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [c.__dict__ for c in vouchers.top_categories(q.period, q.region, limit=50)],
    }


@router.get(
    "/stats/vouchers/timing",
    response={200: TimingsOut, **ERRORS},
    summary="Days from application to approval and from claim to payment",
)
@open_data(TimingsOut)
def voucher_timing(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [
            {
                "region": _named(r.region) if r.region else None,
                "approval": r.approval.__dict__,
                "payment": r.payment.__dict__,
            }
            for r in vouchers.timing(q.period, q.region)
        ],
    }


@router.get(
    "/stats/vouchers/books",
    auth=AUTH,
    response={200: BooksOut, **ERRORS},
    summary="Private: applications and claims of a region's programmes (its administrators)",
)
@open_data(BooksOut, private=True)
def voucher_books(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    scope = permissions.dashboard_region(request.user, q.region)
    ids = list(vouchers.programmes_in(scope).values_list("pk", flat=True))

    def counts(d: dict[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
        return {k: {"count": n, "amount_fen": t} for k, (n, t) in d.items()}

    return {
        "period": _period(q.period),
        "region": scope,
        "programmes": [
            {
                "id": b.programme.pk,
                "name_zh": b.programme.name_zh,
                "region": _named(b.programme.region_id),
                "applications": counts(b.applications),
                "approved_fen": b.approved_fen,
                "waiting": b.waiting,
                "oldest_waiting_days": b.oldest_waiting_days,
                "claims": counts(b.claims),
            }
            for b in vouchers.books(ids, q.period)
        ],
        "providers": [
            {
                "programme_id": r.programme.pk,
                "provider": r.provider,
                "region": _named(r.provider_region),
                "claims": r.claims,
                "claimed_fen": r.claimed_fen,
                "paid_fen": r.paid_fen,
                "waiting_fen": r.waiting_fen,
            }
            for r in vouchers.provider_claims(ids, q.period)
        ],
    }


# --- catalog and shared use -------------------------------------------------------------------


@router.get(
    "/stats/catalog/listings",
    response={200: ListingsOut, **ERRORS},
    summary="New published listings by month, kind, field and region",
)
@open_data(ListingsOut)
def catalog_listings(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    data = sharing.listings(q.period, q.region)
    return {
        "period": _period(q.period),
        "region": q.region,
        "total": data.total,
        "by_kind": data.by_kind,
        "months": [{"month": f"{m:%Y-%m}", "kinds": data.by_month[m]} for m in data.months],
        "by_field": [
            {"code": c, "name_zh": zh, "name_en": en, "listings": n}
            for c, zh, en, n in data.by_field
        ],
        "by_region": [{"region": _named(c), "kinds": k} for c, k in data.by_region],
    }


@router.get(
    "/stats/sharing/instruments",
    response={200: InstrumentsOut, **ERRORS},
    summary="Most-used instruments: bookings, hours, utilisation, ratings",
)
@open_data(InstrumentsOut)
def sharing_instruments(
    request: HttpRequest, params: Query[StatsParams], limit: int = 10
) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [
            {
                "id": r.resource_id,
                "title_zh": r.title_zh,
                "title_en": r.title_en,
                "provider": r.owner,
                "region": _named(r.region),
                "bookings": r.bookings,
                "hours": float(r.hours),
                "open_hours": float(r.open_hours),
                "utilisation_pct": float(r.utilisation) if r.utilisation is not None else None,
                "rating": r.rating,
                "ratings": r.ratings,
            }
            for r in sharing.instruments(q.period, q.region, _limit(limit))
        ],
    }


@router.get(
    "/stats/sharing/providers",
    response={200: ProvidersOut, **ERRORS},
    summary="Providers by completed orders, with service hours and ratings",
)
@open_data(ProvidersOut)
def sharing_providers(
    request: HttpRequest, params: Query[StatsParams], limit: int = 10
) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [
            {
                "id": r.organisation_id,
                "name_zh": r.name_zh,
                "name_en": r.name_en,
                "region": _named(r.region),
                "orders": r.orders,
                "service_hours": float(r.service_hours),
                "booked_hours": float(r.booked_hours),
                "rating": r.rating,
                "ratings": r.ratings,
            }
            for r in sharing.providers(q.period, q.region, _limit(limit))
        ],
    }


# --- technology market -----------------------------------------------------------------------


@router.get(
    "/stats/market/demands",
    response={200: DemandsOut, **ERRORS},
    summary="Technology demands posted vs matched vs solved, per region",
)
@open_data(DemandsOut)
def market_demands(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [
            {**f.__dict__, "region": _named(f.region)} for f in market.demands(q.period, q.region)
        ],
    }


@router.get(
    "/stats/market/challenges",
    response={200: ChallengesOut, **ERRORS},
    summary="Open challenges (揭榜挂帅) by outcome, with rewards and proposals",
)
@open_data(ChallengesOut)
def market_challenges(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    return {
        "period": _period(q.period),
        "region": q.region,
        "rows": [r.__dict__ for r in market.challenges(q.period, q.region)],
    }


@router.get(
    "/stats/market/auctions",
    response={200: AuctionsOut, **ERRORS},
    summary="Technology auctions: sold rate, total, premium over the starting price",
)
@open_data(AuctionsOut)
def market_auctions(request: HttpRequest, params: Query[StatsParams]) -> dict[str, Any]:
    q = _q(params)
    a = market.auctions(q.period, q.region)

    def r4(value: float | None) -> float | None:
        return round(value, 4) if value is not None else None

    return {
        "period": _period(q.period),
        "region": q.region,
        "closed": a.closed,
        "sold": a.sold,
        "unsold": a.unsold,
        "defaulted": a.defaulted,
        "sold_rate_pct": r4(a.sold_rate),
        "hammer_fen": a.hammer_fen,
        "start_fen": a.start_fen,
        "premium_pct": r4(a.premium),
        "mean_premium_pct": r4(a.mean_premium),
    }


# --- any table, as the pages show it ----------------------------------------------------------


def _table_dict(table: tables.Table, q: StatsQuery) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return str(v) if not isinstance(v, (int, float, str, type(None))) else v

    return {
        "key": table.key,
        "title": table.title,
        "period": _period(q.period),
        "columns": [
            {"key": c.key, "header": c.header, "kind": c.kind, "unit": c.unit}
            for c in table.columns
        ],
        "rows": [[plain(v) for v in row] for row in table.rows],
        "total": [plain(v) for v in table.total] if table.total else None,
        "note": table.note,
    }


@router.get(
    "/stats/tables/{key}",
    response={200: TableOut, **ERRORS},
    summary="Any table of the statistics pages (amounts in fen); format=csv|xlsx downloads it",
)
@open_data(TableOut)
def table(
    request: HttpRequest,
    key: str,
    params: Query[StatsParams],
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    q = _q(params)
    spec = tables.SPECS.get(key)
    if spec is not None and spec.private and not request.user.is_authenticated:
        raise DomainError(_("Sign-in or a valid API token is required."), status=401)
    built = tables.build(key, q, request.user)
    if format != "json":
        return exports.response(built, format, subtitle=q.period.label)
    if built.private:
        # Private tables are served here too, but never into a shared cache.
        return conditional(request, dump(_table_dict(built, q)), private=True)
    return _table_dict(built, q)


# --- the annual report's key figures ----------------------------------------------------------


@router.get(
    "/stats/report/{year}",
    response={200: ReportOut, **ERRORS},
    summary="Key figures of the annual report, as sentences, in Chinese or English",
)
@open_data(ReportOut)
def annual_report(
    request: HttpRequest, year: int, language: Literal["zh-hans", "en"] = "zh-hans"
) -> dict[str, Any]:
    if not 1980 <= year <= 2200:
        raise DomainError(_("The year is out of range."), field="year")
    with translation.override(language):
        figures = report.key_figures(year)
        return {
            "year": year,
            "language": language,
            "sentences": [{"key": k, "text": t} for k, t in figures.sentences],
            "community": _community(figures.community),
            "previous_community": _community(figures.previous_community),
        }
