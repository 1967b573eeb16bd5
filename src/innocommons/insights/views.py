"""Statistics pages: the public page, the administrators' dashboard, table downloads and
the annual report. Filters re-render the figures through htmx (the same view returns the
full page or the partial that changed)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.vary import vary_on_headers

from innocommons.core.errors import DomainError
from innocommons.insights import exports, periods, permissions, regions, report, tables
from innocommons.insights.query import StatsQuery, from_params
from innocommons.market.models import ContractField, ContractType

FORMATS = ("csv", "xlsx")


def _partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    # A history restore needs the whole page, not the fragment.
    return bool(htmx) and not htmx.history_restore_request


def _query(request: HttpRequest) -> tuple[StatsQuery, str]:
    """The filters of the request, or this year's defaults with the error to show."""
    try:
        return from_params(request.GET), ""
    except DomainError as exc:
        return StatsQuery(period=periods.current_year()), str(exc.message)


def _period_suggestions() -> list[str]:
    this = timezone.localdate().year
    out = [str(y) for y in range(this, this - 6, -1)]
    out += [f"{y}-Q{q}" for y in (this, this - 1) for q in (1, 2, 3, 4)]
    out += [f"{this}-{m:02d}" for m in range(1, 13)]
    return out


def _filter_context(q: StatsQuery, error: str) -> dict[str, Any]:
    idx = regions.index()
    provinces = [
        (code, idx.name(code))
        for code in sorted(
            (c for c, r in idx.by_code.items() if r.level == "province"),
            key=lambda c: (not idx.in_community(c), idx.sort_key(c)),
        )
    ]
    return {
        "q": q,
        "error": error,
        "querystring": _qs(q),
        "period_suggestions": _period_suggestions(),
        "levels": [
            ("bloc", _("The four regions, the rest of China, abroad")),
            ("province", _("Province-level regions")),
            ("city", _("Cities")),
        ],
        "provinces": provinces,
        "types": ContractType.choices,
        "fields": ContractField.choices,
        "sides": [("output", _("Output (by seller)")), ("absorption", _("Absorption (by buyer)"))],
    }


def _qs(q: StatsQuery) -> str:
    return urlencode(q.params())


@vary_on_headers("HX-Request")
def stats(request: HttpRequest) -> HttpResponse:
    """The public statistics page: published aggregates only."""
    q, error = _query(request)
    context = {
        **_filter_context(q, error),
        "sections": [
            (key, title, tables.section_tables(key, q)) for key, title in tables.sections()
        ],
        "can_dashboard": permissions.may_open_dashboard(request.user),
    }
    template = "insights/partials/stats_body.html" if _partial(request) else "insights/stats.html"
    return render(request, template, context)


@login_required
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    """Administrators: their region's private figures beside its public ones."""
    q, error = _query(request)
    try:
        scope = permissions.dashboard_region(request.user, q.region)
    except DomainError:
        raise Http404 from None
    idx = regions.index()
    scoped = q.with_(region=scope)
    private = [
        tables.SPECS[k].build(scoped, scope) for k in ("books", "provider-claims", "top-sellers")
    ]
    public = [
        tables.SPECS[k].build(scoped, "")
        for k in ("programmes", "timing", "categories", "types", "trend")
    ]
    scopes = permissions.private_scopes(request.user)
    choices = [(c, idx.name(c) if c else _("The whole community")) for c in scopes]
    if "" in scopes:
        choices += [(c, idx.name(c)) for c in idx.community_provinces()]
    context = {
        **_filter_context(scoped, error),
        "scope": scope,
        "scope_name": idx.name(scope) if scope else _("The whole community"),
        "scope_choices": choices,
        "private_tables": private,
        "public_tables": public,
    }
    template = (
        "insights/partials/dashboard_body.html" if _partial(request) else "insights/dashboard.html"
    )
    return render(request, template, context)


def export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    """Download a table as CSV or XLSX with the page's filters. Private tables only for
    those who may read them (404 otherwise, so nothing is revealed)."""
    if fmt not in FORMATS or key not in tables.SPECS:
        raise Http404
    try:
        q = from_params(request.GET)
        table = tables.build(key, q, request.user)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise Http404 from None
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain")
    return exports.response(table, fmt, subtitle=q.period.label)


def annual_latest(request: HttpRequest) -> HttpResponse:
    return redirect("insights:annual", year=timezone.localdate().year - 1)


def annual(request: HttpRequest, year: int) -> HttpResponse:
    """The annual report as a print-ready page."""
    if not periods.FIRST_YEAR <= year <= 2200:
        raise Http404
    return render(request, "insights/annual.html", report.context(year))
