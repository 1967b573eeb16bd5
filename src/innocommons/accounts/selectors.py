"""Reads of organisations and people, filtered by what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.accounts.models import Membership, Organisation
from innocommons.core.errors import NotFound
from innocommons.core.models import Region


def _region_codes_below(regions: list[Region]) -> set[str]:
    """Codes of the given regions and everything under them."""
    codes = {r.code for r in regions}
    frontier = set(codes)
    while frontier:
        children = set(Region.objects.filter(parent_id__in=frontier).values_list("code", flat=True))
        frontier = children - codes
        codes |= children
    return codes


def visible_organisations(user: Any) -> QuerySet[Organisation]:
    """Verified organisations for everyone; pending/rejected ones for their members, their
    region's administrators, operators and auditors."""
    qs = Organisation.objects.select_related("region")
    if permissions.is_operator(user) or permissions.is_auditor(user):
        return qs
    cond = Q(status=Organisation.Status.VERIFIED) | Q(pk__in=list(permissions.memberships(user)))
    regions = permissions.admin_regions(user)
    if regions:
        cond |= Q(region_id__in=_region_codes_below(regions))
    return qs.filter(cond)


def get_organisation(user: Any, organisation_id: int) -> Organisation:
    org = visible_organisations(user).filter(pk=organisation_id).first()
    if org is None:
        raise NotFound(_("Organisation not found."))
    return org


def pending_for_admin(user: Any) -> QuerySet[Organisation]:
    """Applications waiting for the user's verification (their regions only)."""
    regions = permissions.admin_regions(user)
    if not regions:
        return Organisation.objects.none()
    return (
        Organisation.objects.select_related("region")
        .filter(status=Organisation.Status.PENDING, region_id__in=_region_codes_below(regions))
        .order_by("created_at")
    )


def user_organisations(user: Any) -> list[Organisation]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        m.organisation
        for m in Membership.objects.filter(user=user).select_related("organisation__region")
    ]
