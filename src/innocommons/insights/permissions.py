"""Who sees which statistics (CONVENTIONS habit 7: checked in one place).

Everyone sees the published aggregates: flows between regions, programme totals,
categories, processing times, catalog and shared-use figures. Private figures — a
programme's applications and claims, the names of the providers it paid, a region's
sellers — belong to the administrators of that region (or a region above it), auditors
and platform operators. Each private dataset declares the region it belongs to and asks
`may_see_private`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.core.errors import NotFound, PermissionDenied
from innocommons.insights import regions


def sees_everything(user: Any) -> bool:
    return perms.is_operator(user) or perms.is_auditor(user)


def private_scopes(user: Any) -> list[str]:
    """Region codes whose private figures the user may read ("" = every region)."""
    if sees_everything(user):
        return [""]
    return [r.code for r in perms.admin_regions(user)]


def may_open_dashboard(user: Any) -> bool:
    return bool(private_scopes(user))


def may_see_private(user: Any, region: str) -> bool:
    """Private figures of `region` (which "" means: the whole community)."""
    idx = regions.index()
    for scope in private_scopes(user):
        if scope == "" or (region and idx.within(region, scope)):
            return True
    return False


def dashboard_region(user: Any, requested: str) -> str:
    """The region a dashboard shows: the requested one if the user may read its private
    figures, else the user's own jurisdiction. Raises for users with no dashboard."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in as an administrator to see private figures."))
    scopes = private_scopes(user)
    if not scopes:
        raise PermissionDenied(
            _("Only administrators, auditors and operators see private figures.")
        )
    if requested:
        if requested not in regions.index().by_code:
            raise NotFound(_("No such region."), field="region")
        if not may_see_private(user, requested):
            # Not 403: a regional administrator learns nothing about other regions' books.
            raise NotFound(_("No private figures of this region for you."), field="region")
        return requested
    return scopes[0]
