"""Reads of the catalog, filtered by what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Kind, Resource, Status
from innocommons.catalog.services import DETAIL_MODELS
from innocommons.core.errors import NotFound

DETAIL_RELATIONS = tuple(DETAIL_MODELS)


def _base() -> QuerySet[Resource]:
    return Resource.objects.select_related(
        "owner", "owner__region", "region", "field", *DETAIL_RELATIONS
    )


def can_see(user: Any, resource: Resource) -> bool:
    if resource.status == Status.PUBLISHED and resource.owner.status not in HIDDEN_OWNER_STATUSES:
        return True
    return (
        permissions.is_member(user, resource.owner_id)
        or permissions.is_operator(user)
        or permissions.is_auditor(user)
    )


def get_resource(user: Any, resource_id: int) -> Resource:
    """A resource the user may see; drafts and archived ones only for their owners/staff."""
    resource = _base().filter(pk=resource_id).first()
    if resource is None or not can_see(user, resource):
        raise NotFound(_("Resource not found or not published."))
    return resource


def organisation_resources(
    user: Any, organisation_id: int, *, status: str | None = None, kind: str | None = None
) -> QuerySet[Resource]:
    """An organisation's listings: all states for its members, published ones for others."""
    qs = _base().filter(owner_id=organisation_id).order_by("-updated_at", "-id")
    if not (
        permissions.is_member(user, organisation_id)
        or permissions.is_operator(user)
        or permissions.is_auditor(user)
    ):
        qs = qs.filter(status=Status.PUBLISHED).exclude(owner__status__in=HIDDEN_OWNER_STATUSES)
    if status in Status.values:
        qs = qs.filter(status=status)
    if kind in Kind.values:
        qs = qs.filter(kind=kind)
    return qs


def public() -> QuerySet[Resource]:
    return _base().filter(status=Status.PUBLISHED).exclude(owner__status__in=HIDDEN_OWNER_STATUSES)


def newest(limit: int = 8) -> list[Resource]:
    return list(public().order_by("-published_at", "-id")[:limit])


def counts_by_kind() -> dict[str, int]:
    rows = (
        Resource.objects.filter(status=Status.PUBLISHED)
        .exclude(owner__status__in=HIDDEN_OWNER_STATUSES)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {k: 0 for k in Kind.values}
    counts.update({r["kind"]: r["n"] for r in rows})
    return counts
