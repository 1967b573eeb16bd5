"""JSON API: technology demands, their matches with reasons, interest threads and the
notification inbox (mounted under /api/v1/).

Amounts are integer fen. Anyone reads published demands and their matches; the details
of a demand come back as null (`details_hidden`: true) for readers who are not members of
a verified organisation, unless the poster made them public. Enterprises' members create,
change, publish and close their demands; verified organisations' members express interest,
which opens the (demand, organisation) thread; only the two organisations write in a thread,
auditors also read it.
Lists: `page`, `page_size` ≤ 100.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH, current_user
from innocommons.core.errors import DomainError
from innocommons.core.models import Notification
from innocommons.market.matching import matcher
from innocommons.market.matching.scoring import Scored
from innocommons.market.models import Demand, Message, Thread
from innocommons.market.selectors import demands as selectors
from innocommons.market.services import demands as services

router = Router(tags=["demands"])

PAGE = Query(1, ge=1, le=10_000)
PAGE_SIZE = Query(20, ge=1, le=100)


# --- schemas -------------------------------------------------------------------------------


class DemandFields(Schema):
    title_en: str | None = Field(None, max_length=200)
    summary_en: str | None = Field(None, max_length=3000)
    details_zh: str | None = Field(None, max_length=10_000)
    details_en: str | None = Field(None, max_length=10_000)
    keywords: list[str] | str | None = Field(None, max_length=500)
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    min_trl: int | None = Field(None, description="The maturity needed (TRL 1–9), if any")
    region: str | None = Field(None, max_length=12, description="Default: the poster's")
    confidentiality: Literal["verified", "public"] | None = Field(
        None, description="verified: details for verified organisations only"
    )


class DemandIn(DemandFields):
    organisation: int = Field(description="The posting enterprise (yours)")
    title_zh: str = Field(max_length=200)
    summary_zh: str = Field(max_length=3000, description="The problem, public")
    field: str = Field(max_length=20, description="tech_field code, e.g. 0603")
    deadline: date
    publish: bool = False


class DemandPatch(DemandFields):
    title_zh: str | None = Field(None, max_length=200)
    summary_zh: str | None = Field(None, max_length=3000)
    field: str | None = Field(None, max_length=20)
    deadline: date | None = None


class CloseIn(Schema):
    outcome: Literal["solved", "withdrawn"]


class DemandOut(Schema):
    id: int
    title: str
    title_zh: str
    title_en: str
    summary: str
    summary_zh: str
    summary_en: str
    details_hidden: bool = Field(description="True when the reader may not see the details")
    details_zh: str | None
    details_en: str | None
    keywords: list[str]
    field: str
    field_name: str
    budget_min_fen: int | None
    budget_max_fen: int | None
    min_trl: int | None
    deadline: date
    region: str
    region_name: str
    organisation: int
    organisation_name: str
    confidentiality: str
    status: str
    outcome: str
    published_at: datetime | None
    closed_at: datetime | None
    url: str
    actions: list[str] = Field(description="What the requesting user may do now")


class DemandPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[DemandOut]


class ReasonOut(Schema):
    factor: str = Field(description="text | field | maturity | price | region")
    value: float = Field(description="The factor's value, 0–1")
    points: float = Field(description="Its contribution to the score (value × weight)")
    label: str
    terms: list[str]


class TermOut(Schema):
    token: str
    label: str
    weight: float


class ListingMatchOut(Schema):
    id: int
    kind: str
    title: str
    summary: str
    owner: int
    owner_name: str
    region_name: str
    field: str
    price_fen: int | None
    url: str
    score: float
    matched_terms: list[str]
    reasons: list[ReasonOut]


class ProviderListingOut(Schema):
    id: int
    kind: str
    title: str
    score: float
    url: str


class ProviderOut(Schema):
    organisation: int
    name: str
    region_name: str
    score: float
    listings: list[ProviderListingOut]
    reasons: list[ReasonOut] = Field(description="Why its best listing matches")


class MatchesOut(Schema):
    demand: int
    terms: list[TermOut] = Field(description="The demand's key terms and weights")
    items: list[ListingMatchOut]
    providers: list[ProviderOut]


class DemandMatchOut(Schema):
    id: int
    title: str
    summary: str
    organisation_name: str
    field_name: str
    budget_min_fen: int | None
    budget_max_fen: int | None
    deadline: date
    url: str
    score: float
    matched_terms: list[str]
    reasons: list[ReasonOut]


class DemandMatchesOut(Schema):
    resource: int
    items: list[DemandMatchOut]


class InterestIn(Schema):
    organisation: int = Field(description="Your verified organisation")
    message: str = Field(max_length=5000)
    resource: int | None = Field(None, description="One of its published listings, if any")


class MessageIn(Schema):
    body: str = Field(max_length=5000)


class MessageOut(Schema):
    id: int
    organisation: int
    organisation_name: str
    author: str
    body: str
    created_at: datetime


class ThreadOut(Schema):
    id: int
    demand: int
    demand_title: str
    poster: int
    poster_name: str
    provider: int
    provider_name: str
    resource: int | None
    created_at: datetime
    last_message_at: datetime
    url: str
    messages: list[MessageOut] | None = None


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


class NotificationPage(Schema):
    total: int
    unread: int
    page: int
    page_size: int
    items: list[NotificationOut]


class ReadIn(Schema):
    ids: list[int] | None = Field(None, description="Which to mark read; omitted: all")


class ReadOut(Schema):
    marked: int
    unread: int


# --- presenters ----------------------------------------------------------------------------


def _actions(user: Any, d: Demand) -> list[str]:
    out = []
    if selectors.can_edit(user, d):
        out.append("update")
        if d.status == Demand.Status.DRAFT:
            out.append("publish")
        if d.status == Demand.Status.PUBLISHED:
            out.append("close")
    if selectors.interest_organisations(user, d):
        out.append("interest")
    return out


def demand_out(user: Any, d: Demand) -> dict[str, Any]:
    visible = selectors.can_see_details(user, d)
    province = d.region.province or d.region
    return {
        "id": d.pk,
        "title": d.title,
        "title_zh": d.title_zh,
        "title_en": d.title_en,
        "summary": d.summary,
        "summary_zh": d.summary_zh,
        "summary_en": d.summary_en,
        "details_hidden": not visible,
        "details_zh": d.details_zh if visible else None,
        "details_en": d.details_en if visible else None,
        "keywords": d.keyword_list,
        "field": d.field.code,
        "field_name": d.field.name,
        "budget_min_fen": d.budget_min_fen,
        "budget_max_fen": d.budget_max_fen,
        "min_trl": d.min_trl,
        "deadline": d.deadline,
        "region": d.region_id,
        "region_name": d.region.name
        if d.region == province
        else f"{province.name} {d.region.name}",
        "organisation": d.organisation_id,
        "organisation_name": d.organisation.name,
        "confidentiality": d.confidentiality,
        "status": d.status,
        "outcome": d.outcome,
        "published_at": d.published_at,
        "closed_at": d.closed_at,
        "url": f"/market/demands/{d.pk}/",
        "actions": _actions(user, d),
    }


def _reasons(scored: Scored) -> list[dict[str, Any]]:
    return [r.as_dict() for r in scored.reasons]


def listing_match_out(m: matcher.ResourceMatch) -> dict[str, Any]:
    li = m.listing
    return {
        "id": li.id,
        "kind": li.kind,
        "title": li.title,
        "summary": li.summary,
        "owner": li.owner_id,
        "owner_name": li.owner_name,
        "region_name": li.province_name,
        "field": li.field_code,
        "price_fen": li.price_fen,
        "url": li.url,
        "score": m.score,
        "matched_terms": m.scored.matched_terms,
        "reasons": _reasons(m.scored),
    }


def provider_out(p: matcher.ProviderMatch) -> dict[str, Any]:
    return {
        "organisation": p.organisation_id,
        "name": p.name,
        "region_name": p.province_name,
        "score": p.score,
        "listings": [
            {
                "id": m.listing.id,
                "kind": m.listing.kind,
                "title": m.listing.title,
                "score": m.score,
                "url": m.listing.url,
            }
            for m in p.matches[:5]
        ],
        "reasons": _reasons(p.best.scored),
    }


def thread_out(t: Thread, messages: QuerySet[Message] | None = None) -> dict[str, Any]:
    return {
        "id": t.pk,
        "demand": t.demand_id,
        "demand_title": t.demand.title,
        "poster": t.demand.organisation_id,
        "poster_name": t.demand.organisation.name,
        "provider": t.provider_id,
        "provider_name": t.provider.name,
        "resource": t.resource_id,
        "created_at": t.created_at,
        "last_message_at": t.last_message_at,
        "url": f"/market/threads/{t.pk}/",
        "messages": None
        if messages is None
        else [
            {
                "id": m.pk,
                "organisation": m.organisation_id,
                "organisation_name": m.organisation.name,
                "author": str(m.author or ""),
                "body": m.body,
                "created_at": m.created_at,
            }
            for m in messages
        ],
    }


def _page(user: Any, qs: QuerySet[Demand], page: int, page_size: int) -> dict[str, Any]:
    total = qs.count()
    rows = qs[(page - 1) * page_size : page * page_size]
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [demand_out(user, d) for d in rows],
    }


def _changes(payload: DemandFields) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    for key in ("organisation", "publish"):
        data.pop(key, None)
    for key, value in list(data.items()):
        if value is None and key not in ("budget_min_fen", "budget_max_fen", "min_trl"):
            raise DomainError(_("This field cannot be empty."), field=key)
    return data


# --- demands -------------------------------------------------------------------------------


@router.get("/demands", response=DemandPage, summary="Published technology demands")
def list_demands(
    request: HttpRequest,
    q: str = Query("", max_length=100),  # type: ignore[assignment]
    field: str = Query("", max_length=20),  # type: ignore[assignment]
    region: str = Query("", max_length=12),  # type: ignore[assignment]
    state: Literal["open", "closed", "all"] = "open",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> dict[str, Any]:
    user = current_user(request)
    qs = selectors.public_demands(
        q=q, field=field, region=region, state="" if state == "all" else state
    )
    return _page(user, qs, page, page_size)


@router.get("/demands/mine", response=DemandPage, auth=AUTH, summary="My organisations' demands")
def my_demands(
    request: HttpRequest, status: str = "", page: int = PAGE, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    user = acting_user(request)
    return _page(user, selectors.my_demands(user, status=status), page, page_size)


@router.post("/demands", response={201: DemandOut}, auth=AUTH, summary="Post a demand")
def create_demand(request: HttpRequest, payload: DemandIn) -> Any:
    user = acting_user(request)
    data = _changes(payload)
    demand = services.create_demand(
        actor=user,
        data=services.DemandInput(organisation_id=payload.organisation, **data),
        publish=payload.publish,
    )
    return Status(201, demand_out(user, selectors.get_demand(user, demand.pk)))


@router.get("/demands/{demand_id}", response=DemandOut, summary="One demand")
def get_demand(request: HttpRequest, demand_id: int) -> dict[str, Any]:
    user = current_user(request)
    return demand_out(user, selectors.get_demand(user, demand_id))


@router.patch(
    "/demands/{demand_id}", response=DemandOut, auth=AUTH, summary="Change a demand (fields sent)"
)
def update_demand(request: HttpRequest, demand_id: int, payload: DemandPatch) -> dict[str, Any]:
    user = acting_user(request)
    services.update_demand(actor=user, demand_id=demand_id, changes=_changes(payload))
    return demand_out(user, selectors.get_demand(user, demand_id))


@router.post(
    "/demands/{demand_id}/publish",
    response=DemandOut,
    auth=AUTH,
    summary="Publish a draft; matching providers are alerted",
)
def publish_demand(request: HttpRequest, demand_id: int) -> dict[str, Any]:
    user = acting_user(request)
    services.publish_demand(actor=user, demand_id=demand_id)
    return demand_out(user, selectors.get_demand(user, demand_id))


@router.post(
    "/demands/{demand_id}/close",
    response=DemandOut,
    auth=AUTH,
    summary="Close a published demand as solved or withdrawn",
)
def close_demand(request: HttpRequest, demand_id: int, payload: CloseIn) -> dict[str, Any]:
    user = acting_user(request)
    services.close_demand(actor=user, demand_id=demand_id, outcome=payload.outcome)
    return demand_out(user, selectors.get_demand(user, demand_id))


@router.get(
    "/demands/{demand_id}/matches",
    response=MatchesOut,
    summary="Listings and providers for a demand, ranked, each with its reasons",
)
def demand_matches(
    request: HttpRequest,
    demand_id: int,
    kind: Literal["", "achievement", "service", "instrument", "expert"] = "",
    limit: int = Query(20, ge=1, le=50),  # type: ignore[assignment]
) -> dict[str, Any]:
    demand = selectors.get_demand(current_user(request), demand_id)
    found = selectors.demand_matches(demand, kind=kind, limit=limit)
    return {
        "demand": demand.pk,
        "terms": [{"token": t.token, "label": t.label, "weight": t.weight} for t in found.terms],
        "items": [listing_match_out(m) for m in found.listings],
        "providers": [provider_out(p) for p in found.providers],
    }


@router.get(
    "/resources/{resource_id}/demands",
    response=DemandMatchesOut,
    summary="Open demands a listing answers, ranked, each with its reasons",
)
def resource_demands(
    request: HttpRequest,
    resource_id: int,
    limit: int = Query(10, ge=1, le=50),  # type: ignore[assignment]
) -> dict[str, Any]:
    user = current_user(request)
    items = []
    for m in selectors.demands_for_resource(user, resource_id, limit=limit):
        d = m.demand
        items.append(
            {
                "id": d.pk,
                "title": d.title,
                "summary": d.summary,
                "organisation_name": d.organisation.name,
                "field_name": d.field.name,
                "budget_min_fen": d.budget_min_fen,
                "budget_max_fen": d.budget_max_fen,
                "deadline": d.deadline,
                "url": f"/market/demands/{d.pk}/",
                "score": m.score,
                "matched_terms": m.scored.matched_terms,
                "reasons": _reasons(m.scored),
            }
        )
    return {"resource": resource_id, "items": items}


# --- interest and threads --------------------------------------------------------------


@router.post(
    "/demands/{demand_id}/interest",
    response={201: ThreadOut},
    auth=AUTH,
    summary="Express interest: opens (or adds to) your organisation's thread with the poster",
)
def express_interest(request: HttpRequest, demand_id: int, payload: InterestIn) -> Any:
    user = acting_user(request)
    thread = services.express_interest(
        actor=user,
        demand_id=demand_id,
        organisation_id=payload.organisation,
        message=payload.message,
        resource_id=payload.resource,
    )
    thread = selectors.get_thread(user, thread.pk)
    return Status(201, thread_out(thread, selectors.thread_messages(thread)))


@router.get("/threads", response=list[ThreadOut], auth=AUTH, summary="My conversations")
def list_threads(
    request: HttpRequest, page: int = PAGE, page_size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    user = acting_user(request)
    rows = selectors.my_threads(user)[(page - 1) * page_size : page * page_size]
    return [thread_out(t) for t in rows]


@router.get("/threads/{thread_id}", response=ThreadOut, auth=AUTH, summary="One conversation")
def get_thread(request: HttpRequest, thread_id: int) -> dict[str, Any]:
    user = acting_user(request)
    thread = selectors.get_thread(user, thread_id)
    return thread_out(thread, selectors.thread_messages(thread))


@router.post(
    "/threads/{thread_id}/messages",
    response={201: MessageOut},
    auth=AUTH,
    summary="Write in a conversation; the other organisation is notified",
)
def post_message(request: HttpRequest, thread_id: int, payload: MessageIn) -> Any:
    user = acting_user(request)
    m = services.post_message(actor=user, thread_id=thread_id, body=payload.body)
    return Status(
        201,
        {
            "id": m.pk,
            "organisation": m.organisation_id,
            "organisation_name": m.organisation.name,
            "author": str(user),
            "body": m.body,
            "created_at": m.created_at,
        },
    )


# --- inbox -----------------------------------------------------------------------------


def notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": n.created_at,
        "read": n.read_at is not None,
    }


@router.get(
    "/notifications",
    response=NotificationPage,
    auth=AUTH,
    tags=["notifications"],
    summary="My inbox, newest first",
)
def list_notifications(
    request: HttpRequest, unread: bool = False, page: int = PAGE, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    user = acting_user(request)
    qs = selectors.notifications(user, unread_only=unread)
    return {
        "total": qs.count(),
        "unread": selectors.unread_count(user),
        "page": page,
        "page_size": page_size,
        "items": [notification_out(n) for n in qs[(page - 1) * page_size : page * page_size]],
    }


@router.post(
    "/notifications/read",
    response=ReadOut,
    auth=AUTH,
    tags=["notifications"],
    summary="Mark notifications read (the ids sent, or all)",
)
def mark_read(request: HttpRequest, payload: ReadIn) -> dict[str, Any]:
    user = acting_user(request)
    marked = services.mark_notifications_read(actor=user, ids=payload.ids)
    return {"marked": marked, "unread": selectors.unread_count(user)}
