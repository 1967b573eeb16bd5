"""Reads of demands, their matches, conversation threads and the inbox, filtered by what
the user may see.

- a published or closed demand is public (its organisation not suspended or rejected);
  a draft only for the posting organisation's members, operators and auditors;
- a demand's details: for every verified organisation's members (and the poster's, the
  operators and auditors) unless the poster made them public;
- a thread: only for the members of its two organisations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.catalog import selectors as catalog_selectors
from innocommons.catalog.models import HIDDEN_OWNER_STATUSES
from innocommons.core import notify
from innocommons.core.errors import NotFound
from innocommons.core.models import Notification
from innocommons.market.matching import matcher
from innocommons.market.matching.keyterms import KeyTerm
from innocommons.market.models import Demand, DemandAlert, Thread

PUBLIC_STATUSES = (Demand.Status.PUBLISHED, Demand.Status.CLOSED)
MATCH_KINDS = tuple(str(k) for k in matcher.KINDS)


def _base() -> QuerySet[Demand]:
    return Demand.objects.select_related(
        "organisation", "field", "field__parent", "region", "region__province"
    )


def _staff_reader(user: Any) -> bool:
    return perms.is_operator(user) or perms.is_auditor(user)


def can_see(user: Any, demand: Demand) -> bool:
    if perms.is_member(user, demand.organisation_id) or _staff_reader(user):
        return True
    return (
        demand.status in PUBLIC_STATUSES and demand.organisation.status not in HIDDEN_OWNER_STATUSES
    )


def verified_organisations(user: Any) -> list[Organisation]:
    """The user's organisations that are verified (cached on the user for the request)."""
    cached = getattr(user, "_ic_verified_orgs", None)
    if cached is None:
        ids = list(perms.memberships(user))
        cached = list(Organisation.objects.filter(pk__in=ids, status=Organisation.Status.VERIFIED))
        if getattr(user, "is_authenticated", False):
            user._ic_verified_orgs = cached
    return cached


def can_see_details(user: Any, demand: Demand) -> bool:
    """The confidential details: for verified organisations only, unless made public."""
    if demand.confidentiality == Demand.Confidentiality.PUBLIC:
        return True
    if perms.is_member(user, demand.organisation_id) or _staff_reader(user):
        return True
    return bool(verified_organisations(user))


def can_edit(user: Any, demand: Demand) -> bool:
    return perms.is_member(user, demand.organisation_id) and demand.status != Demand.Status.CLOSED


def interest_organisations(user: Any, demand: Demand) -> list[Organisation]:
    """The user's organisations that may express interest in the demand now."""
    if demand.status != Demand.Status.PUBLISHED or demand.deadline < timezone.localdate():
        return []
    return [o for o in verified_organisations(user) if o.pk != demand.organisation_id]


def poster_organisations(user: Any) -> list[Organisation]:
    """The enterprises the user may post demands for."""
    ids = list(perms.memberships(user))
    return list(
        Organisation.objects.filter(pk__in=ids, type=Organisation.Type.ENTERPRISE).exclude(
            status__in=HIDDEN_OWNER_STATUSES
        )
    )


def get_demand(user: Any, demand_id: int) -> Demand:
    demand = _base().filter(pk=demand_id).first()
    if demand is None or not can_see(user, demand):
        raise NotFound(_("Demand not found."))
    return demand


def public_demands(
    *, q: str = "", field: str = "", state: str = "open", region: str = ""
) -> QuerySet[Demand]:
    """Published (state "open") or closed ("closed") demands, or both (""), newest first."""
    qs = (
        _base()
        .filter(status__in=PUBLIC_STATUSES)
        .exclude(organisation__status__in=HIDDEN_OWNER_STATUSES)
    )
    if state == "open":
        qs = qs.filter(status=Demand.Status.PUBLISHED)
    elif state == "closed":
        qs = qs.filter(status=Demand.Status.CLOSED)
    if field:
        qs = qs.filter(Q(field__code=field) | Q(field__parent__code=field))
    if region:
        qs = qs.filter(Q(region_id=region) | Q(region__province_id=region))
    if q.strip():
        words = q.strip()[:100]
        qs = qs.filter(
            Q(title_zh__icontains=words)
            | Q(title_en__icontains=words)
            | Q(summary_zh__icontains=words)
            | Q(summary_en__icontains=words)
            | Q(keywords__icontains=words)
        )
    return qs.order_by("-published_at", "-id")


def my_demands(user: Any, *, status: str = "") -> QuerySet[Demand]:
    qs = (
        _base()
        .filter(organisation_id__in=list(perms.memberships(user)))
        .annotate(thread_count=Count("threads"))
        .order_by("-updated_at", "-id")
    )
    if status in Demand.Status.values:
        qs = qs.filter(status=status)
    return qs


# --- matches -----------------------------------------------------------------------------


@dataclass
class DemandMatches:
    """A demand's key terms, its best listings and their providers, each with reasons."""

    terms: tuple[KeyTerm, ...]
    listings: list[matcher.ResourceMatch]
    providers: list[matcher.ProviderMatch]


def demand_matches(demand: Demand, *, kind: str = "", limit: int = 10) -> DemandMatches:
    """Listings (of one kind, or of every kind) and providers for a demand the caller has
    already read through `get_demand`; everything matched is public."""
    profile = matcher.profile_for(demand)
    kinds = (kind,) if kind in MATCH_KINDS else MATCH_KINDS
    matches = matcher.match_listings(profile, kinds=kinds, limit=matcher.CANDIDATES)
    return DemandMatches(
        terms=profile.terms,
        listings=matches[:limit],
        providers=matcher.providers(matches, limit=limit),
    )


def demands_for_resource(
    user: Any, resource_id: int, *, limit: int = 10
) -> list[matcher.DemandMatch]:
    """Open demands a listing answers (the listing must be visible to the user)."""
    resource = catalog_selectors.get_resource(user, resource_id)
    return [
        m
        for m in matcher.match_demands(resource.pk, limit=limit)
        if m.demand.organisation.status not in HIDDEN_OWNER_STATUSES
    ]


def alerted_listings(user: Any, demand: Demand) -> list[DemandAlert]:
    """The alerts this demand sent to the user's organisations (why they were told)."""
    ids = list(perms.memberships(user))
    if not ids:
        return []
    return list(
        DemandAlert.objects.filter(demand=demand, organisation_id__in=ids).select_related(
            "resource", "organisation"
        )
    )


def kind_labels() -> list[tuple[str, str]]:
    return [(k.value, str(k.label)) for k in matcher.KINDS]


# --- threads -------------------------------------------------------------------------------


def _threads() -> QuerySet[Thread]:
    return Thread.objects.select_related(
        "demand", "demand__organisation", "provider", "resource"
    ).annotate(message_count=Count("messages"))


def my_threads(user: Any) -> QuerySet[Thread]:
    ids = list(perms.memberships(user))
    return (
        _threads()
        .filter(Q(provider_id__in=ids) | Q(demand__organisation_id__in=ids))
        .order_by("-last_message_at", "-id")
    )


def threads_of_demand(user: Any, demand: Demand) -> QuerySet[Thread]:
    """The poster's members (and auditors) see every thread of its demand; a provider its
    own."""
    qs = _threads().filter(demand=demand).order_by("-last_message_at", "-id")
    if perms.is_member(user, demand.organisation_id) or perms.is_auditor(user):
        return qs
    return qs.filter(provider_id__in=list(perms.memberships(user)))


def can_read_thread(user: Any, thread: Thread) -> bool:
    """The members of its two organisations, and the community's auditors (DESIGN §2:
    they read everything; they never write)."""
    return (
        perms.is_member(user, thread.provider_id)
        or perms.is_member(user, thread.demand.organisation_id)
        or perms.is_auditor(user)
    )


def get_thread(user: Any, thread_id: int) -> Thread:
    """A thread for the members of its two organisations and auditors; to anyone else it
    does not exist."""
    thread = (
        Thread.objects.select_related("demand", "demand__organisation", "provider", "resource")
        .filter(pk=thread_id)
        .first()
    )
    if thread is None or not can_read_thread(user, thread):
        raise NotFound(_("Conversation not found."))
    return thread


def thread_messages(thread: Thread) -> QuerySet[Any]:
    return thread.messages.select_related("author", "organisation").order_by("created_at", "id")


# --- inbox -------------------------------------------------------------------------------


def notifications(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).order_by("-created_at", "-id")
    return qs.filter(read_at__isnull=True) if unread_only else qs


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return notify.unread(user).count()
