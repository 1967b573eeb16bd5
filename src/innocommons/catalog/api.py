"""API: search, export of results, and resources (read, create, update, change status)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from innocommons.accounts.permissions import acting_user
from innocommons.catalog import selectors, services
from innocommons.catalog.exports import export_response
from innocommons.catalog.presenters import resource_dict
from innocommons.catalog.search.query import SearchParams, hit_rows, search
from innocommons.core.apiutils import AUTH, current_user

router = Router(tags=["catalog"])


class SearchQuery(Schema):
    q: str = Field("", max_length=10_000)
    kind: str = Field("", max_length=40)
    field: str = Field("", max_length=40)
    region: str = Field("", max_length=40)
    org_type: str = Field("", max_length=40)
    sort: Literal["relevance", "newest"] = "relevance"
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class SearchItem(Schema):
    id: int
    kind: str
    title: str
    summary: str
    snippet: str
    region: str
    region_name: str
    owner: int
    owner_name: str
    field: str | None
    price_fen: int | None
    url: str
    score: float | None = Field(description="BM25 relevance; null when sorted by date")
    published_at: datetime | None


class SearchOut(Schema):
    total: int
    page: int
    page_size: int
    items: list[SearchItem]
    facets: dict[str, dict[str, int]]


def _params(query: SearchQuery) -> SearchParams:
    return SearchParams(
        q=query.q,
        kind=query.kind,
        field=query.field,
        region=query.region,
        org_type=query.org_type,
        sort=query.sort,
        page=query.page,
        page_size=query.page_size,
    )


@router.get("/search", response=SearchOut, summary="Full-text search over the catalog")
def search_catalog(request: HttpRequest, query: Query[SearchQuery]) -> dict[str, Any]:
    result = search(_params(query), hydrate=False)
    return {
        "total": result.total,
        "page": result.params.page,
        "page_size": result.params.page_size,
        "items": hit_rows(result),
        "facets": result.facets,
    }


@router.get("/search/export", summary="Export search results as CSV or XLSX (up to 5,000 rows)")
def export_search(
    request: HttpRequest, query: Query[SearchQuery], format: Literal["csv", "xlsx"] = "csv"
) -> HttpResponse:
    return export_response(_params(query), format)


class ResourceOut(Schema):
    id: int
    kind: str
    title: str
    title_zh: str
    title_en: str
    summary: str
    summary_zh: str
    summary_en: str
    keywords: list[str]
    field: str | None
    field_name: str | None
    region: str
    region_name: str
    owner: int
    owner_name: str
    price_fen: int | None
    price_yuan: str | None
    status: str
    url: str
    published_at: datetime | None
    updated_at: datetime
    detail: dict[str, Any]


class ResourceFields(Schema):
    """Every field a listing can have; kind-specific ones are ignored for other kinds."""

    title_zh: str | None = Field(None, max_length=200)
    title_en: str | None = Field(None, max_length=200)
    summary_zh: str | None = Field(None, max_length=5000)
    summary_en: str | None = Field(None, max_length=5000)
    keywords: list[str] | str | None = Field(None, max_length=2000)
    field: str | None = Field(None, max_length=40)
    region: str | None = Field(None, max_length=12)
    price_yuan: Decimal | None = None
    # instrument
    category: str | None = Field(None, max_length=40)
    manufacturer: str | None = Field(None, max_length=200)
    model_name: str | None = Field(None, max_length=120)
    origin_country: str | None = Field(None, max_length=60)
    original_value_yuan: Decimal | None = None
    location: str | None = Field(None, max_length=300)
    fee_per_hour_yuan: Decimal | None = None
    fee_per_sample_yuan: Decimal | None = None
    opening_hours: str | None = Field(None, max_length=200)
    sharing_mode: str | None = Field(None, max_length=20)
    min_booking_minutes: int | None = None
    max_booking_minutes: int | None = None
    lead_time_hours: int | None = None
    needs_approval: bool | None = None
    # service
    price_unit: str | None = Field(None, max_length=40)
    turnaround_days: int | None = None
    cma: bool | None = None
    cnas: bool | None = None
    # achievement
    trl: int | None = None
    stage: str | None = Field(None, max_length=40)
    patents: str | None = Field(None, max_length=500)
    transfer_modes: list[str] | str | None = Field(None, max_length=200)
    problem: str | None = Field(None, max_length=3000)
    advantages: str | None = Field(None, max_length=3000)
    # expert
    person_title: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)


class ResourceCreate(ResourceFields):
    kind: Literal["instrument", "service", "achievement", "expert"]
    owner: int
    title_zh: str = Field(max_length=200)  # type: ignore[assignment]
    publish: bool = False


class StatusIn(Schema):
    status: Literal["draft", "published", "archived"]


class ResourcePage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ResourceOut]


def _data(payload: ResourceFields) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    for key in ("kind", "owner", "publish"):
        data.pop(key, None)
    return data


@router.get("/resources/{resource_id}", response=ResourceOut, summary="One listing")
def get_resource(request: HttpRequest, resource_id: int) -> Any:
    return resource_dict(selectors.get_resource(current_user(request), resource_id))


@router.post("/resources", response={201: ResourceOut}, auth=AUTH, summary="Create a listing")
def create_resource(request: HttpRequest, payload: ResourceCreate) -> Any:
    resource = services.create_resource(
        actor=acting_user(request),
        owner_id=payload.owner,
        kind=payload.kind,
        data=_data(payload),
        publish=payload.publish,
    )
    return Status(201, resource_dict(selectors.get_resource(request.user, resource.pk)))


@router.patch(
    "/resources/{resource_id}",
    response=ResourceOut,
    auth=AUTH,
    summary="Change a listing (only the fields sent)",
)
def update_resource(request: HttpRequest, resource_id: int, payload: ResourceFields) -> Any:
    services.update_resource(
        actor=acting_user(request),
        resource_id=resource_id,
        data=_data(payload),
    )
    return resource_dict(selectors.get_resource(request.user, resource_id))


@router.post(
    "/resources/{resource_id}/status",
    response=ResourceOut,
    auth=AUTH,
    summary="Publish, archive or return a listing to draft",
)
def set_status(request: HttpRequest, resource_id: int, payload: StatusIn) -> Any:
    services.set_resource_status(
        actor=acting_user(request),
        resource_id=resource_id,
        status=payload.status,
    )
    return resource_dict(selectors.get_resource(request.user, resource_id))


@router.get(
    "/organisations/{org_id}/resources",
    response=ResourcePage,
    summary="An organisation's listings (drafts too, for its members)",
)
def organisation_resources(
    request: HttpRequest,
    org_id: int,
    status: str = "",
    kind: str = "",
    page: int = Query(1, ge=1, le=10_000),  # type: ignore[assignment]
    page_size: int = Query(20, ge=1, le=100),  # type: ignore[assignment]
) -> ResourcePage:
    user = current_user(request)
    qs = selectors.organisation_resources(user, org_id, status=status or None, kind=kind or None)
    page_size = max(1, min(page_size, 100))
    page = max(1, page)
    total = qs.count()
    rows = qs[(page - 1) * page_size : page * page_size]
    return ResourcePage(
        total=total,
        page=page,
        page_size=page_size,
        items=[ResourceOut(**resource_dict(r)) for r in rows],
    )
